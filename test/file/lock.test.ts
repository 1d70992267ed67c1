import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { LOCK_DIRECTORY } from '../../src/storage/file/layout.ts';
import { FileLock } from '../../src/storage/file/lock.ts';
import { tempDir } from '../helpers.ts';

/** The per-workspace writer lock: waiting, giving up, and taking over abandoned locks. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function lockPath(workingDir: string, workspace = 'ws'): string {
  return join(workingDir, LOCK_DIRECTORY, `${workspace}.lock`);
}

function plantLock(workingDir: string, owner: Record<string, unknown>, ageMs = 0): string {
  const path = lockPath(workingDir);
  mkdirSync(join(workingDir, LOCK_DIRECTORY), { recursive: true });
  writeFileSync(path, JSON.stringify({ createdAt: 'then', token: 'planted', ...owner }));
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
  return path;
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

const busy = (error: unknown) => {
  assert.ok(isRagspaceError(error), String(error));
  assert.equal(error.code, 'WORKSPACE_BUSY');
  return true;
};

const addEntity = (name: string) => (w: Parameters<Parameters<FileStorage['write']>[1]>[0]) =>
  w.upsertEntity({ name, properties: {} });

describe('workspace write lock', () => {
  it('takes over a lock whose holder process on this host is dead', async () => {
    const dir = tempDir();
    try {
      plantLock(dir.path, { pid: deadPid(), hostname: hostname() });
      const storage = new FileStorage(dir.path, { logger: silentLogger, lock: { waitMs: 5000 } });
      await storage.write('ws', addEntity('a'));
      assert.deepEqual(await storage.read('ws', (r) => r.entityNames()), ['a']);
      assert.equal(existsSync(lockPath(dir.path)), false, 'released after the write');
    } finally {
      dir.cleanup();
    }
  });

  it('takes over a lock nobody has touched for longer than the stale time', async () => {
    const dir = tempDir();
    try {
      plantLock(dir.path, { pid: 1, hostname: 'another-host' }, 60_000);
      const storage = new FileStorage(dir.path, {
        logger: silentLogger,
        lock: { waitMs: 5000, staleMs: 30_000 },
      });
      await storage.write('ws', addEntity('a'));
      assert.deepEqual(await storage.read('ws', (r) => r.entityNames()), ['a']);
    } finally {
      dir.cleanup();
    }
  });

  it('takes over an empty lock file left by a holder killed while creating it', async () => {
    const dir = tempDir();
    try {
      const path = plantLock(dir.path, {}, 10_000);
      writeFileSync(path, '');
      const old = new Date(Date.now() - 10_000);
      utimesSync(path, old, old);
      const storage = new FileStorage(dir.path, { logger: silentLogger, lock: { waitMs: 5000 } });
      await storage.write('ws', addEntity('a'));
      assert.deepEqual(await storage.read('ws', (r) => r.entityNames()), ['a']);
    } finally {
      dir.cleanup();
    }
  });

  it('gives up with WORKSPACE_BUSY while a live holder keeps the lock', async () => {
    const dir = tempDir();
    try {
      const path = plantLock(dir.path, { pid: process.pid, hostname: hostname() });
      const storage = new FileStorage(dir.path, { logger: silentLogger, lock: { waitMs: 300 } });
      await assert.rejects(storage.write('ws', addEntity('a')), (error) => {
        busy(error);
        assert.match((error as Error).message, new RegExp(`process ${process.pid}`));
        return true;
      });
      assert.equal(existsSync(join(dir.path, 'ws')), false);
      assert.equal(JSON.parse(readFileSync(path, 'utf8')).token, 'planted');
    } finally {
      dir.cleanup();
    }
  });

  it('a holder keeps its lock fresh while it works', async () => {
    const dir = tempDir();
    try {
      const options = { waitMs: 200, staleMs: 400 };
      const held = await new FileLock(lockPath(dir.path), options).acquire('ws');
      await sleep(1200);
      await assert.rejects(new FileLock(lockPath(dir.path), options).acquire('ws'), busy);
      assert.equal(await held.stillHeld(), true);
      await held.release();
      assert.equal(existsSync(lockPath(dir.path)), false);
    } finally {
      dir.cleanup();
    }
  });

  it('a write nested in a write of the same workspace fails instead of hanging', async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorage(dir.path, { logger: silentLogger, lock: { waitMs: 200 } });
      await assert.rejects(
        storage.write('ws', async (w) => {
          await w.upsertEntity({ name: 'outer', properties: {} });
          await storage.write('ws', addEntity('inner'));
        }),
        busy,
      );
      assert.equal(await storage.hasWorkspace('ws'), false);
    } finally {
      dir.cleanup();
    }
  });

  it('a writer whose lock was taken over meanwhile writes nothing', async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorage(dir.path, { logger: silentLogger });
      await storage.write('ws', addEntity('first'));
      await assert.rejects(
        storage.write('ws', async (w) => {
          await w.upsertEntity({ name: 'second', properties: {} });
          plantLock(dir.path, { pid: process.pid, hostname: hostname(), token: 'thief' });
        }),
        busy,
      );
      assert.equal(JSON.parse(readFileSync(lockPath(dir.path), 'utf8')).token, 'thief');
      const fresh = new FileStorage(dir.path, { logger: silentLogger });
      assert.deepEqual(await fresh.read('ws', (r) => r.entityNames()), ['first']);
    } finally {
      dir.cleanup();
    }
  });
});
