import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import type { WorkspaceReader } from '../../src/storage/types.ts';
import { tempDir, writeTree } from '../helpers.ts';

/**
 * Damaged files (issue B01, B07) make reads and writes fail with FILE_CORRUPT naming the
 * file, and are never overwritten; stores that are fine keep working.
 */
const GOOD_GRAPH =
  '<?xml version="1.0"?><graphml><graph edgedefault="undirected">' +
  '<node id="a"/></graph></graphml>';

function corrupt(file: string) {
  return (error: unknown) => {
    assert.ok(isRagspaceError(error), String(error));
    assert.equal(error.code, 'FILE_CORRUPT');
    assert.equal(error.details?.file, file);
    assert.equal(error.details?.workspace, 'ws');
    return true;
  };
}

async function expectDamage(
  files: Record<string, string>,
  damaged: string,
  read: (r: WorkspaceReader) => Promise<unknown>,
  write: Parameters<FileStorage['write']>[1],
): Promise<void> {
  const dir = tempDir();
  try {
    writeTree(join(dir.path, 'ws'), files);
    const storage = new FileStorage(dir.path, { logger: silentLogger });
    const path = join(dir.path, 'ws', damaged);
    const original = readFileSync(path);
    await assert.rejects(storage.read('ws', read), corrupt(damaged));
    await assert.rejects(storage.write('ws', write), corrupt(damaged));
    await assert.rejects(
      storage.write('ws', (w) => w.clear()),
      corrupt(damaged),
    );
    assert.deepEqual(readFileSync(path), original, 'the damaged file is untouched');
  } finally {
    dir.cleanup();
  }
}

describe('damaged files', () => {
  it('a torn key-value file', () =>
    expectDamage(
      { 'kv_store_full_docs.json': '{\n  "doc-1": {\n    "content": "cut in the mid' },
      'kv_store_full_docs.json',
      (r) => r.getKv('full_docs', ['doc-1']),
      (w) => w.upsertKv('full_docs', new Map([['doc-2', { content: 'x' }]])),
    ));

  it('a key-value file with data after the object', () =>
    expectDamage(
      { 'kv_store_text_chunks.json': '{"c": {"content": "x"}}\n"}\n' },
      'kv_store_text_chunks.json',
      (r) => r.getKv('text_chunks', ['c']),
      (w) => w.deleteKv('text_chunks', ['c']),
    ));

  it('malformed GraphML', () =>
    expectDamage(
      { 'graph_chunk_entity_relation.graphml': GOOD_GRAPH.replace('</graph>', '') },
      'graph_chunk_entity_relation.graphml',
      (r) => r.entityNames(),
      (w) => w.upsertEntity({ name: 'b', properties: {} }),
    ));

  it('a nano file whose matrix and data disagree', () =>
    expectDamage(
      {
        // Two data rows but one row of two float32 values in the matrix.
        'vdb_entities.json': JSON.stringify({
          embedding_dim: 2,
          data: [{ __id__: 'a' }, { __id__: 'b' }],
          matrix: Buffer.from(new Float32Array([1, 0]).buffer).toString('base64'),
        }),
      },
      'vdb_entities.json',
      (r) => r.getVectors('entities', ['a']),
      (w) => w.deleteVectors('entities', ['a']),
    ));

  it('an empty nano file', () =>
    expectDamage(
      { 'vdb_chunks.json': '' },
      'vdb_chunks.json',
      (r) => r.vectorDimension('chunks'),
      (w) =>
        w.upsertVectors('chunks', [
          { id: 'c', fields: {}, vector: new Float32Array([1, 2]), createdAt: 0 },
        ]),
    ));

  it('other stores keep working, and temp files left by writers are ignored', async () => {
    const dir = tempDir();
    try {
      writeTree(join(dir.path, 'ws'), {
        'kv_store_full_docs.json': '{"doc-1": {"content": "cut',
        'kv_store_text_chunks.json.tmp.4242.1.7': '{"garbage',
        'graph_chunk_entity_relation.graphml': GOOD_GRAPH,
      });
      const storage = new FileStorage(dir.path, { logger: silentLogger });
      await storage.write('ws', async (w) => {
        await w.upsertEntity({ name: 'b', properties: {} });
        await w.upsertKv('text_chunks', new Map([['c', { content: 'x' }]]));
      });
      const result = await storage.read('ws', async (r) => ({
        names: await r.entityNames(),
        chunks: (await r.getKv('text_chunks', ['c'])).size,
      }));
      assert.deepEqual(result, { names: ['a', 'b'], chunks: 1 });
    } finally {
      dir.cleanup();
    }
  });
});
