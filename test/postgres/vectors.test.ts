import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { PostgresStorage } from '../../src/storage/postgres/index.ts';
import { toHalf } from '../../src/storage/postgres/vectors.ts';
import type { VectorRecord } from '../../src/storage/types.ts';
import { parseWorkspaceQuery } from '../../src/workspace/query.ts';
import {
  ALL_PG,
  openPostgres,
  pgTestConfig,
  sql,
  startPgliteServer,
  type PgliteServer,
} from './helpers.ts';

/**
 * The vector stores on PGlite with pgvector, through the socket and the production `pg`
 * code. (The shared contract runs vectors in files; see postgres.contract.test.ts.)
 */
const row = (
  id: string,
  values: number[] | null,
  fields: Record<string, unknown> = {},
): VectorRecord => ({
  id,
  fields: {
    entity_name: id,
    content: `${id}\ntext`,
    source_id: 'c1<SEP>c2',
    file_path: 'f.txt',
    ...fields,
  },
  vector: values === null ? null : Float32Array.from(values),
  createdAt: 1_700_000_000,
});

function hasCode(code: string) {
  return (error: unknown) => isRagspaceError(error) && error.code === code;
}

describe('pgvector stores', () => {
  let server: PgliteServer;
  let storage: PostgresStorage;

  before(async () => {
    server = await startPgliteServer();
    storage = await openPostgres(pgTestConfig(server.env, ALL_PG));
  });
  after(async () => {
    await storage.close();
    await server.stop();
  });

  it('round-trips float32 vectors exactly (binary parameters) with LightRAG columns', async () => {
    const values = [0.1, -2.5e-8, 3.4e38, 1 / 3];
    await storage.write('vec', (w) =>
      w.upsertVectors('entities', [row('ent-1', values, { description: 'dropped' })]),
    );
    const [stored] = await storage.read('vec', (r) => r.getVectors('entities', ['ent-1', 'ent-2']));
    assert.deepEqual(Array.from(stored!.vector!), Array.from(Float32Array.from(values)));
    assert.deepEqual(stored!.fields, {
      entity_name: 'ent-1',
      content: 'ent-1\ntext',
      source_id: 'c1<SEP>c2',
      file_path: 'f.txt',
    });
    assert.equal(stored!.createdAt, 1_700_000_000);
    const rows = await sql(
      server.env,
      `SELECT entity_name, chunk_ids, content_vector::text AS v
         FROM lightrag_vdb_entity_test_embed_4d`,
    );
    assert.deepEqual(rows[0]?.chunk_ids, ['c1', 'c2'], 'source_id is split into chunk_ids');
    assert.equal(await storage.read('vec', (r) => r.vectorDimension('entities')), 4);
    assert.equal(await storage.read('vec', (r) => r.vectorDimension('chunks')), undefined);
  });

  it('maps relation and chunk fields as LightRAG does', async () => {
    const relation: VectorRecord = {
      id: 'rel-1',
      fields: { src_id: 'A', tgt_id: 'B', source_id: 'c9', content: 'k\tA\nB\nd', file_path: 'f' },
      vector: Float32Array.from([1, 0, 0, 0]),
      createdAt: 5,
    };
    const chunk: VectorRecord = {
      id: 'doc-1-chunk-000',
      fields: {
        full_doc_id: 'doc-1',
        content: 'chunk text',
        file_path: 'f',
        tokens: 12,
        chunk_order_index: 0,
      },
      vector: null,
      createdAt: 6,
    };
    await storage.write('fields', async (w) => {
      await w.upsertVectors('relationships', [relation]);
      await w.upsertVectors('chunks', [chunk]);
    });
    const rows = await sql(
      server.env,
      `SELECT source_id, target_id, chunk_ids FROM lightrag_vdb_relation_test_embed_4d`,
    );
    assert.deepEqual(rows, [{ source_id: 'A', target_id: 'B', chunk_ids: ['c9'] }]);
    const back = await storage.read('fields', async (r) => ({
      relation: (await r.getVectors('relationships', ['rel-1']))[0],
      chunk: (await r.getVectors('chunks', ['doc-1-chunk-000']))[0],
    }));
    assert.deepEqual(back.relation?.fields, relation.fields);
    assert.deepEqual(back.chunk?.fields, chunk.fields);
    assert.equal(back.chunk?.vector, null);
  });

  it('enforces the table dimension and refuses values pgvector cannot store', async () => {
    await assert.rejects(
      storage.write('dims', (w) => w.upsertVectors('entities', [row('e', [1, 2, 3])])),
      hasCode('EMBEDDING_DIMENSION'),
    );
    await assert.rejects(
      storage.write('dims', (w) => w.upsertVectors('entities', [row('e', [1, NaN, 3, 4])])),
      hasCode('VALUE_REJECTED'),
    );
    assert.equal(await storage.hasWorkspace('dims'), false);
  });

  it('keeps rows without a vector pending; delete and clear remove them', async () => {
    await storage.write('pending', async (w) => {
      await w.upsertVectors('entities', [row('a', [1, 0, 0, 0]), row('b', null)]);
      await w.upsertVectors('entities', [row('a', null)]);
    });
    const pending = await storage.read('pending', (r) => r.pendingVectors('entities'));
    assert.deepEqual(
      pending.map((p) => p.id),
      ['a', 'b'],
    );
    await storage.write('pending', (w) => w.upsertVectors('entities', [row('b', [0, 1, 0, 0])]));
    assert.deepEqual(
      (await storage.read('pending', (r) => r.pendingVectors('entities'))).map((p) => p.id),
      ['a'],
    );
    await storage.write('pending', (w) => w.deleteVectors('entities', ['a']));
    assert.deepEqual(await storage.read('pending', (r) => r.pendingVectors('entities')), []);
    await storage.write('pending', (w) => w.clear());
    assert.deepEqual(await storage.read('pending', (r) => r.getVectors('entities', ['b'])), []);
  });

  it('takes bulk writes without COPY (which would wedge pglite-socket), concurrently', async () => {
    const names = Array.from({ length: 3000 }, (_, i) => `bulk-${i}`);
    const writes = [0, 1].map((part) =>
      storage.write(`bulk${part}`, async (w) => {
        for (const name of names)
          await w.upsertRelation({ source: 'hub', target: name, properties: {} });
        await w.upsertKv('full_docs', new Map(names.map((n) => [n, { content: n }])));
      }),
    );
    const reads = [0, 1].map(() => storage.listWorkspaces(parseWorkspaceQuery({})));
    await Promise.all([...writes, ...reads]);
    for (const part of [0, 1]) {
      const [degree] = await sql(
        server.env,
        `SELECT degree FROM ragspace_entities WHERE workspace = $1 AND name = 'hub'`,
        [`bulk${part}`],
      );
      assert.deepEqual(degree, { degree: 3000 });
    }
  });

  it('rolls vector writes back with the rest of a failed write', async () => {
    await assert.rejects(
      storage.write('rollback', async (w) => {
        await w.upsertVectors('entities', [row('x', [1, 1, 1, 1])]);
        throw new Error('stop');
      }),
      /stop/,
    );
    assert.equal(await storage.hasWorkspace('rollback'), false);
  });
});

describe('vector index options', () => {
  let server: PgliteServer;

  before(async () => {
    server = await startPgliteServer();
  });
  after(() => server.stop());

  it('HNSW_HALFVEC: halfvec columns and index; values round to float16', async () => {
    const config = pgTestConfig(server.env, ALL_PG, {
      EMBEDDING_MODEL: 'half-model',
      POSTGRES_VECTOR_INDEX_TYPE: 'HNSW_HALFVEC',
    });
    const storage = await openPostgres(config);
    try {
      await storage.write('half', (w) =>
        w.upsertVectors('entities', [row('h', [0.1, 1, -2, 65504])]),
      );
      const [stored] = await storage.read('half', (r) => r.getVectors('entities', ['h']));
      assert.deepEqual(Array.from(stored!.vector!), [0.0999755859375, 1, -2, 65504]);
      await assert.rejects(
        storage.write('half', (w) => w.upsertVectors('entities', [row('big', [1e6, 0, 0, 0])])),
        hasCode('VALUE_REJECTED'),
      );
    } finally {
      await storage.close();
    }
    const index = await sql(
      server.env,
      `SELECT indexdef FROM pg_indexes
        WHERE indexname = 'idx_lightrag_vdb_entity_half_model_4d_hnsw_halfvec_cosine'`,
    );
    assert.match(String(index[0]?.indexdef), /halfvec_cosine_ops/);
    assert.equal(toHalf(1), 0x3c00);
    assert.equal(toHalf(-0), 0x8000);
    assert.equal(toHalf(5.960464477539063e-8), 1, 'smallest subnormal');
  });

  it('IVFFLAT uses lists; over 2000 dimensions the index is skipped with a warning', async () => {
    const lines: string[] = [];
    const log = createLogger({}, (line) => lines.push(line));
    const storage = await PostgresStorage.open(
      pgTestConfig(server.env, ALL_PG, {
        EMBEDDING_MODEL: 'wide',
        EMBEDDING_DIM: '2048',
        POSTGRES_VECTOR_INDEX_TYPE: 'IVFFLAT',
        POSTGRES_IVFFLAT_LISTS: '7',
        LOG_LEVEL: 'warn',
      }),
      { log },
    );
    await storage.close();
    const skipped = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.event === 'postgres.vector_index_skipped');
    assert.equal(skipped.length, 3);
    assert.match(skipped[0].reason, /2048 dimensions are too many/);
    const small = await openPostgres(
      pgTestConfig(server.env, ALL_PG, {
        EMBEDDING_MODEL: 'ivf',
        POSTGRES_VECTOR_INDEX_TYPE: 'IVFFLAT',
        POSTGRES_IVFFLAT_LISTS: '7',
      }),
    );
    await small.close();
    const index = await sql(
      server.env,
      `SELECT indexdef FROM pg_indexes
        WHERE indexname = 'idx_lightrag_vdb_chunks_ivf_4d_ivfflat_cosine'`,
    );
    assert.match(String(index[0]?.indexdef), /ivfflat .*lists='7'/);
  });

  it('an existing table of another dimension stops start-up with EMBEDDING_DIMENSION', async () => {
    // Without EMBEDDING_MODEL, LightRAG uses the unsuffixed legacy names.
    await sql(
      server.env,
      `CREATE TABLE lightrag_vdb_entity (id VARCHAR(255), workspace VARCHAR(255),
      entity_name VARCHAR(512), content TEXT, content_vector VECTOR(8), create_time TIMESTAMP(0),
      update_time TIMESTAMP(0), chunk_ids VARCHAR(255)[], file_path TEXT,
      CONSTRAINT lightrag_vdb_entity_pk PRIMARY KEY (workspace, id))`,
    );
    const config = pgTestConfig(server.env, { ...ALL_PG, EMBEDDING_MODEL: '' });
    await assert.rejects(openPostgres(config), (error) => {
      assert.ok(isRagspaceError(error));
      assert.equal(error.code, 'EMBEDDING_DIMENSION');
      assert.match(error.message, /lightrag_vdb_entity/);
      return true;
    });
  });
});
