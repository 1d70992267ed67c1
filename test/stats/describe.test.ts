import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import type { PostgresStorage } from '../../src/storage/postgres/index.ts';
import { parseWorkspaceQuery } from '../../src/workspace/query.ts';
import { testApp } from '../helpers.ts';
import { call } from '../http/graph-helpers.ts';
import {
  openStats,
  STATS_BACKENDS,
  withClient,
  type OpenedStats,
  type StatsDatabase,
} from './helpers.ts';

/**
 * GET /api/workspaces/{name} on PostgreSQL: the list's row, row counts and the table
 * behind each store, vector dimensions, the entity-type histogram and documents per
 * status, including tables other programs made (another embedding model's vectors).
 */
for (const backend of STATS_BACKENDS) {
  describe(`workspace details on ${backend.label}`, () => {
    let db: StatsDatabase;
    let opened: OpenedStats;
    let storage: PostgresStorage;

    before(async () => {
      db = await backend.create();
      opened = await openStats(db);
      storage = opened.postgres;
      await storage.write('acme', async (w) => {
        for (const [name, type] of [
          ['A', 'person'],
          ['B', 'person'],
          ['C', 'organization'],
        ]) {
          await w.upsertEntity({ name: name!, properties: { entity_type: type! } });
        }
        await w.upsertRelation({ source: 'A', target: 'B', properties: {} });
        await w.upsertEntity({ name: 'D', properties: {} });
        const statuses = ['processed', 'processed', 'failed', 'weird'];
        await w.upsertKv('doc_status', new Map(statuses.map((s, i) => [`d${i}`, { status: s }])));
        await w.upsertKv('text_chunks', new Map([['c', { content: 'x' }]]));
        if (db.vectors) {
          const vector = new Float32Array([1, 0, 0, 0]);
          await w.upsertVectors('entities', [
            { id: 'ent-a', fields: { entity_name: 'A' }, vector, createdAt: 1 },
          ]);
        }
      });
    });
    after(async () => {
      await opened.close();
      await db.drop();
    });

    it('counts per store with its table, types and statuses, agreeing with the list', async () => {
      const detail = await storage.describeWorkspace('acme');
      const [listed] = (await storage.listWorkspaces(parseWorkspaceQuery({ q: 'acme' })))
        .workspaces;
      const { name, entity_count, relation_count, document_count, chunk_count, updated_at } =
        detail;
      assert.deepEqual(
        { name, entity_count, relation_count, document_count, chunk_count, updated_at },
        listed,
      );
      assert.deepEqual([entity_count, relation_count, document_count, chunk_count], [4, 1, 4, 1]);
      assert.equal(detail.stores.graph, 4);
      assert.equal(detail.stores.relations, 1);
      assert.equal(detail.stores.doc_status, 4);
      assert.equal(detail.stores.text_chunks, 1);
      assert.equal(detail.stores.full_docs, 0);
      assert.equal(detail.tables?.graph, 'ragspace_entities');
      assert.equal(detail.tables?.text_chunks, 'lightrag_doc_chunks');
      assert.deepEqual(detail.entity_types, { '': 1, organization: 1, person: 2 });
      assert.deepEqual(detail.document_statuses, { processed: 2, failed: 1, other: 1 });
    });

    if (backend.vectors) {
      it("names vector tables and their dimensions, another model's included", async () => {
        await withClient(db.env, async (client) => {
          await client.query(
            `CREATE TABLE lightrag_vdb_entity_old_model_8d (id VARCHAR(255), workspace VARCHAR(255),
               content_vector VECTOR(8), update_time TIMESTAMP(0), PRIMARY KEY (workspace, id))`,
          );
          await client.query(
            `INSERT INTO lightrag_vdb_entity_old_model_8d (workspace, id) VALUES ('acme', 'old')`,
          );
        });
        const detail = await storage.describeWorkspace('acme');
        assert.equal(detail.stores.vdb_entities, 1);
        assert.equal(detail.tables?.vdb_entities, 'lightrag_vdb_entity_test_embed_4d');
        assert.equal(detail.stores.lightrag_vdb_entity_old_model_8d, 1);
        assert.deepEqual(detail.vector_dimensions, {
          vdb_entities: 4,
          lightrag_vdb_entity_old_model_8d: 8,
        });
      });
    }

    it('describes a workspace only another program wrote, not an unknown one', async () => {
      await withClient(db.env, (client) =>
        client.query(`INSERT INTO lightrag_llm_cache (workspace, id) VALUES ('py', 'x')`),
      );
      const detail = await storage.describeWorkspace('py');
      assert.equal(detail.stores.llm_response_cache, 1);
      assert.equal(detail.entity_count, 0);
      await assert.rejects(storage.describeWorkspace('nobody'), (error) => {
        assert.ok(isRagspaceError(error));
        return error.code === 'WORKSPACE_NOT_FOUND';
      });
    });

    it('answers the same over HTTP', async () => {
      const app = testApp(storage);
      const response = await call(app, 'GET', '/api/workspaces/acme');
      assert.equal(response.status, 200);
      assert.deepEqual(
        response.json,
        JSON.parse(JSON.stringify(await storage.describeWorkspace('acme'))),
      );
      const list = await call(app, 'GET', '/api/workspaces?sort=-entity_count&limit=1');
      assert.deepEqual(list.json, {
        workspaces: [
          (await storage.listWorkspaces(parseWorkspaceQuery({ q: 'acme' }))).workspaces[0],
        ],
        count: 2,
        next_cursor: (list.json as { next_cursor: string }).next_cursor,
      });
    });
  });
}
