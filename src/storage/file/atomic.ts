import { existsSync, type BigIntStats } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TextSink } from '../../formats/sink.ts';
import { isTempFile } from './layout.ts';

/**
 * Crash-safe file replacement, as LightRAG's `atomic_write` does it: write a sibling temp
 * file `<file>.tmp.<pid>.<n>.<time_ns>`, fsync it, rename it over the target, fsync the
 * directory. A crash leaves the old file or the new one, never half of one.
 *
 * One `write()` may replace several files. Renames cannot be grouped, so a commit of more
 * than one file first records its renames in a journal (itself written atomically); the
 * journal's arrival is the commit point. After a crash, `recoverCommit` finishes the
 * renames it lists, so the files are all old or all new once ragspace next opens the
 * workspace. A program that reads in between (LightRAG itself) can still see a mix.
 */
export interface Fingerprint {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
}

export interface PreparedFile {
  target: string;
  temp: string;
}

export const JOURNAL_FILE = '.ragspace-commit.json';
const TEMP_REAP_AGE_MS = 3600 * 1000;
const FLUSH_BYTES = 1024 * 1024;
let tempCounter = 0;

function fingerprintFrom(stats: BigIntStats): Fingerprint {
  return { size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs, ino: stats.ino };
}

/** Size, times and inode of a file, or null when it does not exist. */
export async function fingerprintOf(path: string): Promise<Fingerprint | null> {
  try {
    return fingerprintFrom(await stat(path, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export function sameFingerprint(a: Fingerprint | null, b: Fingerprint | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

export function tempPathFor(target: string): string {
  const nanoseconds = BigInt(Date.now()) * 1_000_000n;
  return `${target}.tmp.${process.pid}.${++tempCounter}.${nanoseconds}`;
}

/** Buffers pieces and writes them to an open file in large blocks. */
class FileSink implements TextSink {
  private pieces: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(piece: string | Uint8Array): Promise<void> {
    const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece);
    this.pieces.push(bytes);
    this.buffered += bytes.length;
    if (this.buffered >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const block = Buffer.concat(this.pieces);
    this.pieces = [];
    this.buffered = 0;
    await this.handle.write(block, 0, block.length);
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function modeOf(target: string): Promise<number> {
  try {
    return (await stat(target)).mode & 0o7777;
  } catch {
    return 0o644;
  }
}

/** Writes a durable temp file next to `target`; nothing visible changes yet. */
export async function prepareFile(
  target: string,
  produce: (sink: TextSink) => Promise<void>,
): Promise<PreparedFile> {
  const temp = tempPathFor(target);
  const mode = await modeOf(target);
  const handle = await open(temp, 'wx', mode);
  try {
    const sink = new FileSink(handle);
    await produce(sink);
    await sink.flush();
    // The old file's mode, as LightRAG keeps it (open() applied the umask).
    await handle.chmod(mode);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await removeQuietly(temp);
    throw error;
  }
  return { target, temp };
}

export async function discardPrepared(files: PreparedFile[]): Promise<void> {
  for (const file of files) await removeQuietly(file.temp);
}

export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeJournal(directory: string, files: PreparedFile[]): Promise<string> {
  const path = join(directory, JOURNAL_FILE);
  const renames = files.map((f) => ({ temp: basename(f.temp), target: basename(f.target) }));
  const body = JSON.stringify({ pid: process.pid, renames });
  const prepared = await prepareFile(path, (sink) => sink.write(body));
  await rename(prepared.temp, path);
  await fsyncDirectory(directory);
  return path;
}

/** Moves every prepared file into place; all of them, or (after recovery) all of them. */
export async function commitPrepared(directory: string, files: PreparedFile[]): Promise<void> {
  if (files.length === 0) return;
  const journal = files.length > 1 ? await writeJournal(directory, files) : undefined;
  for (const file of files) await rename(file.temp, file.target);
  await fsyncDirectory(directory);
  if (journal) await removeQuietly(journal);
}

export function hasPendingCommit(directory: string): boolean {
  return existsSync(join(directory, JOURNAL_FILE));
}

interface JournalEntry {
  temp: string;
  target: string;
}

function parseJournal(text: string): JournalEntry[] {
  const parsed = JSON.parse(text) as { renames?: unknown };
  if (!Array.isArray(parsed.renames)) throw new Error('journal without "renames"');
  return parsed.renames.filter(
    (e): e is JournalEntry =>
      typeof e?.temp === 'string' && typeof e?.target === 'string' && !e.temp.includes('/'),
  );
}

/**
 * Finishes a commit that a crash interrupted; returns how many renames it finished, or
 * undefined when there was nothing to finish. Call with the workspace lock held.
 */
export async function recoverCommit(directory: string): Promise<number | undefined> {
  const path = join(directory, JOURNAL_FILE);
  let entries: JournalEntry[];
  try {
    entries = parseJournal(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let finished = 0;
  for (const entry of entries) {
    const temp = join(directory, entry.temp);
    if (!existsSync(temp)) continue;
    await rename(temp, join(directory, entry.target));
    finished++;
  }
  await fsyncDirectory(directory);
  await removeQuietly(path);
  return finished;
}

/** Deletes temp files a crashed writer left, once they are an hour old (as LightRAG). */
export async function reapTempFiles(directory: string, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return 0;
  }
  let reaped = 0;
  for (const name of names.filter(isTempFile)) {
    const path = join(directory, name);
    const stats = await stat(path).catch(() => undefined);
    if (!stats?.isFile() || now - stats.mtimeMs < TEMP_REAP_AGE_MS) continue;
    await removeQuietly(path);
    reaped++;
  }
  return reaped;
}
