import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import { openStorage } from '../../src/storage/index.ts';
import { silentLogger } from '../../src/log.ts';
import { parseWorkspaceQuery } from '../../src/workspace/query.ts';
import { tempDir } from '../helpers.ts';
import { ALL_PG, pgTestConfig } from './helpers.ts';

/** RAGSPACE_PGLITE_DIR: PostgreSQL storage with no server, persisted in a directory. */
describe('embedded PGlite', () => {
  it('persists in the directory across restarts and refuses a second opener', async () => {
    const dir = tempDir();
    const config = pgTestConfig(ALL_PG, { RAGSPACE_PGLITE_DIR: join(dir.path, 'pg') });
    try {
      const first = await openStorage(config, silentLogger);
      assert.equal(first.kind, 'postgres');
      await first.write('local', async (w) => {
        await w.upsertEntity({ name: 'Kept', properties: { description: 'across restarts' } });
        await w.upsertVectors('entities', [
          {
            id: 'ent-1',
            fields: { entity_name: 'Kept' },
            vector: Float32Array.from([1, 2, 3, 4]),
            createdAt: 1,
          },
        ]);
      });
      await assert.rejects(openStorage(config, silentLogger), (error) => {
        assert.ok(isRagspaceError(error));
        assert.equal(error.code, 'STORAGE_UNAVAILABLE');
        assert.match(error.message, /in use by process/);
        return true;
      });
      await first.close();
      assert.equal(
        existsSync(join(dir.path, 'pg', 'ragspace.lock')),
        false,
        'the lock is released',
      );

      const second = await openStorage(config, silentLogger);
      try {
        const kept = await second.read('local', async (r) => ({
          entity: await r.getEntity('Kept'),
          vectors: await r.getVectors('entities', ['ent-1']),
        }));
        assert.equal(kept.entity?.properties.description, 'across restarts');
        assert.deepEqual(Array.from(kept.vectors[0]!.vector!), [1, 2, 3, 4]);
        const page = await second.listWorkspaces(parseWorkspaceQuery({}));
        assert.deepEqual(
          page.workspaces.map((w) => [w.name, w.entity_count]),
          [['local', 1]],
        );
      } finally {
        await second.close();
      }
    } finally {
      dir.cleanup();
    }
  });
});

describe('openStorage', () => {
  it('chooses files, PostgreSQL or a mix, store by store', async () => {
    const dir = tempDir();
    // Outside WORKING_DIR, or the file backend would list the database directory.
    const pgDir = tempDir();
    try {
      const files = await openStorage(pgTestConfig({ WORKING_DIR: dir.path }), silentLogger);
      assert.equal(files.kind, 'file');
      await files.close();
      const mixed = await openStorage(
        pgTestConfig({
          WORKING_DIR: dir.path,
          LIGHTRAG_GRAPH_STORAGE: 'PGGraphStorage',
          RAGSPACE_PGLITE_DIR: pgDir.path,
        }),
        silentLogger,
      );
      try {
        assert.equal(mixed.kind, 'mixed');
        await mixed.write('split', async (w) => {
          await w.upsertEntity({ name: 'InPostgres', properties: {} });
          await w.upsertKv('full_docs', new Map([['d', { content: 'in a file' }]]));
        });
        assert.ok(existsSync(join(dir.path, 'split', 'kv_store_full_docs.json')));
        assert.equal(
          existsSync(join(dir.path, 'split', 'graph_chunk_entity_relation.graphml')),
          false,
        );
        const page = await mixed.listWorkspaces(parseWorkspaceQuery({}));
        assert.deepEqual(
          page.workspaces.map((w) => [w.name, w.entity_count, w.document_count]),
          [['split', 1, 1]],
        );
      } finally {
        await mixed.close();
      }
    } finally {
      dir.cleanup();
      pgDir.cleanup();
    }
  });
});
