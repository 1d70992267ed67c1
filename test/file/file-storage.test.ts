import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import type { WorkspaceReader } from '../../src/storage/types.ts';
import { parseWorkspaceQuery } from '../../src/workspace/query.ts';
import { tempDir, writeTree } from '../helpers.ts';

/** File-backend behaviour beyond the shared storage contract. */
const options = { logger: silentLogger };

function code(expected: string) {
  return (error: unknown) => isRagspaceError(error) && error.code === expected;
}

describe('file storage specifics', () => {
  it('the default workspace is the root of WORKING_DIR', async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorage(dir.path, options);
      await storage.write('default', (w) => w.upsertEntity({ name: 'a', properties: {} }));
      assert.ok(existsSync(join(dir.path, 'graph_chunk_entity_relation.graphml')));
      const page = await storage.listWorkspaces(parseWorkspaceQuery({}));
      assert.deepEqual(
        page.workspaces.map((w) => [w.name, w.entity_count]),
        [['default', 1]],
      );
      assert.equal(await storage.hasWorkspace('default'), true);
    } finally {
      dir.cleanup();
    }
  });

  it('a write that changes nothing still creates the workspace directory', async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorage(dir.path, options);
      await storage.write('empty', async () => undefined);
      assert.deepEqual(readdirSync(join(dir.path, 'empty')), []);
      assert.deepEqual(await storage.read('empty', (r) => r.entityNames()), []);
    } finally {
      dir.cleanup();
    }
  });

  it('a reader kept after its operation cannot be used', async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorage(dir.path, options);
      await storage.write('ws', (w) => w.upsertEntity({ name: 'a', properties: {} }));
      let kept: WorkspaceReader | undefined;
      await storage.read('ws', async (r) => {
        kept = r;
      });
      assert.ok(kept);
      await assert.rejects(kept.entityNames(), /after its operation finished/);
    } finally {
      dir.cleanup();
    }
  });

  it('refuses new self-loops and names LightRAG files cannot hold', async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorage(dir.path, options);
      await assert.rejects(
        storage.write('ws', (w) => w.upsertRelation({ source: 'a', target: 'a', properties: {} })),
        code('BAD_REQUEST'),
      );
      await assert.rejects(
        storage.write('ws', (w) => w.upsertEntity({ name: 'bell\u0007', properties: {} })),
        code('BAD_REQUEST'),
      );
      await assert.rejects(
        storage.write('ws', (w) => w.upsertKv('full_docs', new Map([['id\uDC00', {}]]))),
        code('BAD_REQUEST'),
      );
      assert.equal(await storage.hasWorkspace('ws'), false);
    } finally {
      dir.cleanup();
    }
  });

  it('keeps a self-loop already in a file, and refuses a directed graph file', async () => {
    const dir = tempDir();
    try {
      const graph = (direction: string) =>
        `<graphml><graph edgedefault="${direction}"><node id="a"/>` +
        '<edge source="a" target="a"/></graph></graphml>';
      writeTree(dir.path, {
        'loop/graph_chunk_entity_relation.graphml': graph('undirected'),
        'directed/graph_chunk_entity_relation.graphml': graph('directed'),
      });
      const storage = new FileStorage(dir.path, options);
      await storage.write('loop', (w) => w.upsertEntity({ name: 'b', properties: {} }));
      const relation = await storage.read('loop', (r) => r.getRelation('a', 'a'));
      assert.deepEqual(relation, { source: 'a', target: 'a', properties: {} });
      await assert.rejects(
        storage.read('directed', (r) => r.entityNames()),
        code('FILE_CORRUPT'),
      );
    } finally {
      dir.cleanup();
    }
  });

  it('serves the raw embedding, or the matrix row where a file has no vector field', async () => {
    const dir = tempDir();
    try {
      const legacy = {
        embedding_dim: 2,
        data: [{ __id__: 'old', entity_name: 'Old' }],
        matrix: Buffer.from(new Float32Array([0.6, 0.8]).buffer).toString('base64'),
      };
      writeTree(dir.path, { 'ws/vdb_entities.json': JSON.stringify(legacy) });
      const storage = new FileStorage(dir.path, options);
      const row = { id: 'new', fields: {}, vector: new Float32Array([3, 4]), createdAt: 1 };
      await storage.write('ws', (w) => w.upsertVectors('entities', [row]));
      const fresh = new FileStorage(dir.path, options);
      const rows = await fresh.read('ws', (r) => r.getVectors('entities', ['old', 'new']));
      assert.deepEqual(
        rows.map((v) => [v.id, Array.from(v.vector ?? [])]),
        [
          ['old', [Math.fround(0.6), Math.fround(0.8)]],
          ['new', [3, 4]],
        ],
      );
    } finally {
      dir.cleanup();
    }
  });

  it('reports removed characters through the logger, without the text', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    try {
      const logger = createLogger({}, (line) => lines.push(line));
      const storage = new FileStorage(dir.path, { logger });
      await storage.write('ws', async (w) => {
        await w.upsertKv('full_docs', new Map([['d', { content: 'secret \uD800 text' }]]));
        await w.upsertEntity({ name: 'a', properties: { description: 'secret\u0001' } });
      });
      const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const repaired = events.find((e) => e.event === 'write.text_repaired');
      assert.equal(repaired?.lone_surrogates_removed, 1);
      assert.equal(repaired?.xml_illegal_characters_removed, 1);
      assert.ok(!lines.join('\n').includes('secret'), 'no document text in the log');
      const stored = readFileSync(join(dir.path, 'ws', 'kv_store_full_docs.json'), 'utf8');
      assert.ok(stored.includes('"secret  text"'));
    } finally {
      dir.cleanup();
    }
  });
});
