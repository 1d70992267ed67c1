import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileErrors } from '../../errors.ts';

/**
 * One writer per workspace, across every process sharing WORKING_DIR.
 *
 * In this process, writers queue on an in-memory mutex. Across processes, the holder owns
 * a lock file created with O_EXCL (`WORKING_DIR/.ragspace-locks/<workspace>.lock`) holding
 * its pid, hostname, start time and a random token. While it holds the lock, it touches
 * the file every `staleMs / 4` (a heartbeat). A lock is stale when its holder is a dead
 * process on this host, or when it has not been touched for `staleMs` (a holder on
 * another host, or one that hangs). A waiter takes a stale lock over under a second
 * O_EXCL "takeover" file, so two waiters never both remove it; then it competes for the
 * lock as usual. Waiters retry with growing, jittered delays and give up after `waitMs`
 * with WORKSPACE_BUSY.
 *
 * Limit: files give no atomic compare-and-delete, so a holder frozen for longer than
 * `staleMs` can lose its lock while it still runs; it notices before it renames anything
 * (`stillHeld`) and fails with WORKSPACE_BUSY instead of writing.
 */
export interface LockOptions {
  /** How long a writer waits for the lock before WORKSPACE_BUSY. */
  waitMs: number;
  /** How long an untouched lock file is trusted. */
  staleMs: number;
}

export const DEFAULT_LOCK_OPTIONS: LockOptions = { waitMs: 60_000, staleMs: 120_000 };

interface LockOwner {
  pid: number;
  hostname: string;
  createdAt: string;
  token: string;
}

interface SeenLock {
  owner: LockOwner | undefined;
  mtimeMs: number;
}

const TAKEOVER_STALE_MS = 10_000;
const UNWRITTEN_LOCK_STALE_MS = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** In-process FIFO mutex; a waiter gives up after `timeoutMs`. */
export class AsyncMutex {
  private locked = false;
  private readonly waiters: (() => void)[] = [];

  async acquire(timeoutMs: number, onTimeout: () => Error): Promise<() => void> {
    const release = () => this.release();
    if (!this.locked) {
      this.locked = true;
      return release;
    }
    return new Promise((resolve, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(release);
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(onTimeout());
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as LockOwner;
    return typeof owner.token === 'string' && Number.isInteger(owner.pid) ? owner : undefined;
  } catch {
    return undefined;
  }
}

async function readLock(path: string): Promise<SeenLock | undefined> {
  try {
    const [text, stats] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { owner: parseOwner(text), mtimeMs: stats.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function newOwner(): LockOwner {
  return {
    pid: process.pid,
    hostname: hostname(),
    createdAt: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
  };
}

function describeHolder(seen: SeenLock | undefined): string {
  const owner = seen?.owner;
  if (!owner) return 'another writer';
  return `process ${owner.pid} on ${owner.hostname} (since ${owner.createdAt})`;
}

export class LockHandle {
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly token: string,
    staleMs: number,
  ) {
    this.heartbeat = setInterval(() => void this.touch(), Math.max(50, staleMs / 4));
    this.heartbeat.unref();
  }

  /** True while the lock file is still ours (no one took it over). */
  async stillHeld(): Promise<boolean> {
    const seen = await readLock(this.path).catch(() => undefined);
    return seen?.owner?.token === this.token;
  }

  async release(): Promise<void> {
    clearInterval(this.heartbeat);
    if (await this.stillHeld()) await unlink(this.path).catch(() => undefined);
  }

  private async touch(): Promise<void> {
    if (!(await this.stillHeld())) return;
    const now = new Date();
    await utimes(this.path, now, now).catch(() => undefined);
  }
}

/** The cross-process lock file of one workspace. */
export class FileLock {
  constructor(
    readonly path: string,
    private readonly options: LockOptions,
  ) {}

  async acquire(workspace: string): Promise<LockHandle> {
    await mkdir(dirname(this.path), { recursive: true });
    const started = Date.now();
    let delay = 5;
    for (;;) {
      const handle = await this.tryCreate();
      if (handle) return handle;

      const seen = await readLock(this.path);
      if (seen && this.isStale(seen)) {
        await this.takeOver(seen);
        continue;
      }

      const waited = Date.now() - started;
      if (waited >= this.options.waitMs)
        throw fileErrors.busy(workspace, waited, describeHolder(seen));
      await sleep(Math.min(delay, this.options.waitMs - waited) * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 250);
    }
  }

  private async tryCreate(): Promise<LockHandle | undefined> {
    let file;
    try {
      file = await open(this.path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
      throw error;
    }
    const owner = newOwner();
    try {
      await file.writeFile(JSON.stringify(owner));
      await file.close();
    } catch (error) {
      await file.close().catch(() => undefined);
      await unlink(this.path).catch(() => undefined);
      throw error;
    }
    return new LockHandle(this.path, owner.token, this.options.staleMs);
  }

  private isStale(seen: SeenLock): boolean {
    const age = Date.now() - seen.mtimeMs;
    if (age > this.options.staleMs) return true;
    const owner = seen.owner;
    // A holder writes its owner right after creating the file; an empty one that stays
    // empty belonged to a process killed in between.
    if (owner === undefined) return age > UNWRITTEN_LOCK_STALE_MS;
    return owner.hostname === hostname() && !processAlive(owner.pid);
  }

  /** Removes a stale lock, guarded so that only one waiter does it. */
  private async takeOver(judged: SeenLock): Promise<void> {
    const guard = `${this.path}.takeover`;
    try {
      await (await open(guard, 'wx')).close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const guardStats = await stat(guard).catch(() => undefined);
      const abandoned = guardStats && Date.now() - guardStats.mtimeMs > TAKEOVER_STALE_MS;
      if (abandoned) await unlink(guard).catch(() => undefined);
      await sleep(5);
      return;
    }
    try {
      const again = await readLock(this.path);
      const unchanged = again?.owner?.token === judged.owner?.token;
      if (again && unchanged && this.isStale(again)) await unlink(this.path);
    } finally {
      await unlink(guard).catch(() => undefined);
    }
  }
}
