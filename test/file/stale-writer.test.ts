import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { tempDir } from '../helpers.ts';

/**
 * A writer never puts a stale copy over a newer file (issue B02): changes made by another
 * ragspace process, or by a program ignoring the lock (LightRAG itself), are read first.
 */
const GRAPH = 'graph_chunk_entity_relation.graphml';

/** Replaces the graph as LightRAG would (new file, renamed into place), ignoring the lock. */
function replaceGraphOutside(directory: string, names: string[]): void {
  const nodes = names.map((n) => `<node id="${n}"/>`).join('');
  const text =
    '<?xml version="1.0"?><graphml><graph edgedefault="undirected">' + `${nodes}</graph></graphml>`;
  const temp = join(directory, `${GRAPH}.tmp.1.1.1`);
  writeFileSync(temp, text);
  renameSync(temp, join(directory, GRAPH));
}

const options = { logger: silentLogger };

describe('stale copies', () => {
  it('a process that loaded the workspace earlier sees what another process wrote', async () => {
    const dir = tempDir();
    try {
      const first = new FileStorage(dir.path, options);
      const second = new FileStorage(dir.path, options);
      await first.write('ws', (w) => w.upsertEntity({ name: 'a', properties: {} }));
      assert.deepEqual(await second.read('ws', (r) => r.entityNames()), ['a']);
      await first.write('ws', (w) => w.upsertEntity({ name: 'b', properties: {} }));
      assert.deepEqual(await second.read('ws', (r) => r.entityNames()), ['a', 'b']);
      await second.write('ws', (w) => w.upsertEntity({ name: 'c', properties: {} }));
      assert.deepEqual(await first.read('ws', (r) => r.entityNames()), ['a', 'b', 'c']);
    } finally {
      dir.cleanup();
    }
  });

  it('a file changed outside the lock mid-write is reloaded and the write redone', async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorage(dir.path, options);
      await storage.write('ws', (w) => w.upsertEntity({ name: 'a', properties: {} }));
      let runs = 0;
      await storage.write('ws', async (w) => {
        runs++;
        await w.entityNames();
        if (runs === 1) replaceGraphOutside(join(dir.path, 'ws'), ['a', 'from-lightrag']);
        await w.upsertEntity({ name: 'mine', properties: {} });
      });
      assert.equal(runs, 2);
      const names = await storage.read('ws', (r) => r.entityNames());
      assert.deepEqual(names, ['a', 'from-lightrag', 'mine']);
    } finally {
      dir.cleanup();
    }
  });

  it('a file that keeps changing is never overwritten: FILE_CHANGED', async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorage(dir.path, options);
      const directory = join(dir.path, 'ws');
      await storage.write('ws', (w) => w.upsertEntity({ name: 'a', properties: {} }));
      let runs = 0;
      await assert.rejects(
        storage.write('ws', async (w) => {
          await w.entityNames();
          replaceGraphOutside(directory, ['a', `outside-${++runs}`]);
          await w.upsertEntity({ name: 'mine', properties: {} });
        }),
        (error) => isRagspaceError(error) && error.code === 'FILE_CHANGED',
      );
      assert.match(readFileSync(join(directory, GRAPH), 'utf8'), new RegExp(`outside-${runs}`));
      assert.doesNotMatch(readFileSync(join(directory, GRAPH), 'utf8'), /mine/);
    } finally {
      dir.cleanup();
    }
  });
});
