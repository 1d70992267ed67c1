import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { tempDir } from '../helpers.ts';

/** Loaded workspaces are dropped least recently used first once over the memory budget. */
async function seed(workingDir: string, names: string[]): Promise<void> {
  const storage = new FileStorage(workingDir, { logger: silentLogger });
  for (const ws of names) {
    await storage.write(ws, async (w) => {
      for (let i = 0; i < 50; i++) {
        await w.upsertEntity({ name: `${ws}-${i}`, properties: { description: 'x'.repeat(200) } });
      }
    });
  }
}

describe('workspace memory budget', () => {
  it('evicts the least recently used idle workspace and reloads it on use', async () => {
    const dir = tempDir();
    try {
      await seed(dir.path, ['one', 'two', 'three']);
      const storage = new FileStorage(dir.path, { logger: silentLogger, memoryBudgetBytes: 1 });
      await storage.read('one', (r) => r.entityNames());
      assert.deepEqual(storage.loadedWorkspaces(), [], 'over budget: dropped once idle');

      const roomy = new FileStorage(dir.path, {
        logger: silentLogger,
        memoryBudgetBytes: 64 * 1024 * 1024,
      });
      for (const ws of ['one', 'two', 'three', 'one']) await roomy.read(ws, (r) => r.entityNames());
      assert.deepEqual(roomy.loadedWorkspaces(), ['two', 'three', 'one']);
      assert.equal(roomy.evictions, 0);
    } finally {
      dir.cleanup();
    }
  });

  it('keeps only what fits, oldest out first, and never a workspace in use', async () => {
    const dir = tempDir();
    try {
      await seed(dir.path, ['one', 'two', 'three']);
      const probe = new FileStorage(dir.path, { logger: silentLogger });
      await probe.read('one', (r) => r.entityNames());
      const storage = new FileStorage(dir.path, {
        logger: silentLogger,
        // Room for about two of the three (equal) workspaces.
        memoryBudgetBytes: Math.floor(probe.loadedBytes() * 2.5),
      });
      for (const ws of ['one', 'two', 'three']) await storage.read(ws, (r) => r.entityNames());
      assert.deepEqual(storage.loadedWorkspaces(), ['two', 'three']);
      assert.equal(storage.evictions, 1);

      const seen = await storage.read('one', async (r) => {
        const before = await r.entityNames();
        await storage.read('two', (inner) => inner.entityNames());
        await storage.read('three', (inner) => inner.entityNames());
        assert.ok(storage.loadedWorkspaces().includes('one'), 'in use, so never evicted');
        return { before, after: await r.entityNames() };
      });
      assert.equal(seen.before.length, 50);
      assert.deepEqual(seen.after, seen.before);
      const names = await storage.read('two', (r) => r.entityNames());
      assert.equal(names.length, 50, 'an evicted workspace reads the same after reloading');
    } finally {
      dir.cleanup();
    }
  });
});
