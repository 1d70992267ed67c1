import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readConfig } from '../../src/config.ts';
import { isRagspaceError } from '../../src/errors.ts';
import { safeIndexName, vectorTableName } from '../../src/storage/postgres/tables.ts';
import {
  ALL_PG,
  createTestDatabase,
  openPostgres,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  sql,
  startPgliteServer,
  type PgliteServer,
  type TestDatabase,
} from './helpers.ts';

/**
 * LightRAG's tables as lightrag-formats.md §5 documents them, written out here by hand
 * (not derived from the code under test): column, then type as information_schema
 * reports it (varchar(n), timestamp(p), vector/array types by their udt name).
 */
const STAMPS_0 = ['create_time timestamp(0)', 'update_time timestamp(0)'];
const DOCUMENTED: Record<string, string[]> = {
  lightrag_doc_full: [
    'id varchar(255)',
    'workspace varchar(255)',
    'doc_name varchar(1024)',
    'content text',
    'meta jsonb',
    'sidecar_location text',
    'parse_format varchar(32)',
    'content_hash text',
    'process_options text',
    'chunk_options jsonb',
    'parse_engine varchar(32)',
    ...STAMPS_0,
  ],
  lightrag_doc_chunks: [
    'id varchar(255)',
    'workspace varchar(255)',
    'full_doc_id varchar(256)',
    'chunk_order_index integer',
    'tokens integer',
    'content text',
    'file_path text',
    'llm_cache_list jsonb',
    'heading jsonb',
    'sidecar jsonb',
    ...STAMPS_0,
  ],
  lightrag_llm_cache: [
    'workspace varchar(255)',
    'id varchar(255)',
    'original_prompt text',
    'return_value text',
    'chunk_id varchar(255)',
    'cache_type varchar(32)',
    'queryparam jsonb',
    'create_time timestamp(6)',
    'update_time timestamp(6)',
  ],
  lightrag_doc_status: [
    'workspace varchar(255)',
    'id varchar(255)',
    'content_summary varchar(255)',
    'content_length integer',
    'chunks_count integer',
    'status varchar(64)',
    'file_path text',
    'chunks_list jsonb',
    'track_id varchar(255)',
    'metadata jsonb',
    'error_msg text',
    'content_hash text',
    'created_at timestamp(6)',
    'updated_at timestamp(6)',
  ],
  lightrag_full_entities: [
    'id varchar(255)',
    'workspace varchar(255)',
    'entity_names jsonb',
    'count integer',
    ...STAMPS_0,
  ],
  lightrag_full_relations: [
    'id varchar(255)',
    'workspace varchar(255)',
    'relation_pairs jsonb',
    'count integer',
    ...STAMPS_0,
  ],
  lightrag_entity_chunks: [
    'id varchar(512)',
    'workspace varchar(255)',
    'chunk_ids jsonb',
    'count integer',
    ...STAMPS_0,
  ],
  lightrag_relation_chunks: [
    'id varchar(512)',
    'workspace varchar(255)',
    'chunk_ids jsonb',
    'count integer',
    ...STAMPS_0,
  ],
};

/** The vector tables for EMBEDDING_MODEL=test-embed, EMBEDDING_DIM=4. */
const DOCUMENTED_VECTORS: Record<string, string[]> = {
  lightrag_vdb_chunks_test_embed_4d: [
    'id varchar(255)',
    'workspace varchar(255)',
    'full_doc_id varchar(256)',
    'chunk_order_index integer',
    'tokens integer',
    'content text',
    'content_vector vector',
    'file_path text',
    ...STAMPS_0,
  ],
  lightrag_vdb_entity_test_embed_4d: [
    'id varchar(255)',
    'workspace varchar(255)',
    'entity_name varchar(512)',
    'content text',
    'content_vector vector',
    ...STAMPS_0,
    'chunk_ids _varchar',
    'file_path text',
  ],
  lightrag_vdb_relation_test_embed_4d: [
    'id varchar(255)',
    'workspace varchar(255)',
    'source_id varchar(512)',
    'target_id varchar(512)',
    'content text',
    'content_vector vector',
    ...STAMPS_0,
    'chunk_ids _varchar',
    'file_path text',
  ],
};

interface ColumnRow {
  column_name: string;
  data_type: string;
  udt_name: string;
  character_maximum_length: number | null;
  datetime_precision: number | null;
}

function describeColumn(c: ColumnRow): string {
  if (c.data_type === 'character varying')
    return `${c.column_name} varchar(${c.character_maximum_length})`;
  if (c.data_type.startsWith('timestamp'))
    return `${c.column_name} timestamp(${c.datetime_precision})`;
  if (c.data_type === 'USER-DEFINED' || c.data_type === 'ARRAY')
    return `${c.column_name} ${c.udt_name}`;
  return `${c.column_name} ${c.data_type}`;
}

async function columnsOf(env: Record<string, string>, table: string): Promise<string[]> {
  const rows = await sql<ColumnRow>(
    env,
    `SELECT column_name, data_type, udt_name, character_maximum_length, datetime_precision
       FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map(describeColumn);
}

async function primaryKey(env: Record<string, string>, table: string) {
  const rows = await sql<{ name: string; columns: string }>(
    env,
    `SELECT c.conname AS name, string_agg(a.attname, ',' ORDER BY k.ord) AS columns
       FROM pg_constraint c
       JOIN unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
      WHERE c.conrelid = $1::regclass AND c.contype = 'p' GROUP BY c.conname`,
    [table],
  );
  return rows[0];
}

async function indexNames(env: Record<string, string>, table: string): Promise<string[]> {
  const rows = await sql<{ indexname: string }>(
    env,
    'SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname',
    [table],
  );
  return rows.map((r) => r.indexname);
}

async function checkDocumentedTables(
  env: Record<string, string>,
  tables: Record<string, string[]>,
) {
  for (const [table, documented] of Object.entries(tables)) {
    assert.deepEqual(await columnsOf(env, table), documented, `columns of ${table}`);
    assert.deepEqual(await primaryKey(env, table), {
      name: `${table}_pk`,
      columns: 'workspace,id',
    });
    const indexes = await indexNames(env, table);
    for (const expected of [`idx_${table}_id`, `idx_${table}_workspace_id`]) {
      assert.ok(indexes.includes(expected), `${table} has index ${expected}: ${indexes}`);
    }
  }
}

describe('schema on the PostgreSQL 15 server (no pgvector)', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
    const storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
    await storage.close();
  });
  after(() => db.drop());

  it('creates the KV and doc-status tables exactly as LightRAG documents them', async () => {
    await checkDocumentedTables(db.env, DOCUMENTED);
  });

  it('creates the doc-status indexes LightRAG creates', async () => {
    const indexes = await indexNames(db.env, 'lightrag_doc_status');
    for (const suffix of [
      'workspace_status_updated_at',
      'workspace_status_created_at',
      'workspace_updated_at',
      'workspace_created_at',
      'workspace_id',
      'workspace_file_path',
      'track_id',
      'workspace_content_hash',
    ]) {
      assert.ok(indexes.includes(`idx_lightrag_doc_status_${suffix}`), suffix);
    }
  });

  it('keeps the graph in its own tables, TEXT throughout, indexed as needed', async () => {
    const entities = await columnsOf(db.env, 'ragspace_entities');
    for (const column of ['name text', 'description text', 'source_id text', 'file_path text']) {
      assert.ok(entities.includes(column), column);
    }
    assert.ok(entities.includes('created_at bigint'));
    assert.ok(entities.includes('extra jsonb'));
    const relations = await columnsOf(db.env, 'ragspace_relations');
    assert.ok(relations.includes('weight double precision'));
    assert.ok(relations.includes('keywords text'));
    assert.deepEqual(await primaryKey(db.env, 'ragspace_relations'), {
      name: 'ragspace_relations_pk',
      columns: 'workspace,source,target',
    });
    const indexes = await indexNames(db.env, 'ragspace_entities');
    assert.ok(indexes.includes('idx_ragspace_entities_name_trgm'), 'pg_trgm is on this server');
    assert.ok(indexes.includes('idx_ragspace_entities_degree'));
    assert.ok(
      (await indexNames(db.env, 'ragspace_relations')).includes('idx_ragspace_relations_target'),
    );
  });

  it('a second start-up changes nothing', async () => {
    const before = await sql(db.env, `SELECT count(*)::int AS n FROM pg_class`);
    const storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
    await storage.close();
    assert.deepEqual(await sql(db.env, `SELECT count(*)::int AS n FROM pg_class`), before);
  });
});

describe('vector tables on PGlite with pgvector', () => {
  let server: PgliteServer;

  before(async () => {
    server = await startPgliteServer();
    const storage = await openPostgres(pgTestConfig(server.env, ALL_PG));
    await storage.close();
  });
  after(() => server.stop());

  it('are named <base>_<model>_<dim>d with LightRAG columns, keys and indexes', async () => {
    await checkDocumentedTables(server.env, DOCUMENTED_VECTORS);
    const types = await sql<{ type: string }>(
      server.env,
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = 'lightrag_vdb_entity_test_embed_4d'::regclass
          AND attname = 'content_vector'`,
    );
    assert.deepEqual(types, [{ type: 'vector(4)' }]);
  });

  it('get the HNSW cosine index with m and ef_construction (defaults 16, 64)', async () => {
    const rows = await sql<{ indexdef: string }>(
      server.env,
      `SELECT indexdef FROM pg_indexes
        WHERE indexname = 'idx_lightrag_vdb_chunks_test_embed_4d_hnsw_cosine'`,
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.indexdef, /USING hnsw \(content_vector vector_cosine_ops\)/);
    assert.match(rows[0]!.indexdef, /m='16', ef_construction='64'/);
  });
});

describe('names', () => {
  it('vector table suffix: lower-cased model, [^a-zA-Z0-9_] -> _ per code point, _<dim>d', () => {
    assert.equal(
      vectorTableName('lightrag_vdb_chunks', 'text-embedding-3-large', 3072),
      'lightrag_vdb_chunks_text_embedding_3_large_3072d',
    );
    assert.equal(
      vectorTableName('lightrag_vdb_entity', 'BAAI/bge-m3', 1024),
      'lightrag_vdb_entity_baai_bge_m3_1024d',
    );
    assert.equal(
      vectorTableName('lightrag_vdb_entity', 'мини😀', 8),
      'lightrag_vdb_entity_______8d',
    );
    assert.equal(vectorTableName('lightrag_vdb_entity', undefined, 8), 'lightrag_vdb_entity');
  });

  it('a vector table name over 63 bytes is a configuration error, never truncated', () => {
    assert.throws(
      () =>
        vectorTableName(
          'lightrag_vdb_relation',
          'a-very-long-embedding-model-name-version-2',
          3072,
        ),
      (error) => isRagspaceError(error) && error.code === 'CONFIG_INVALID',
    );
  });

  it('index names past 63 bytes use the first 12 hex digits of md5(table)', () => {
    const table = 'lightrag_vdb_relation_text_embedding_3_large_3072d';
    const digest = createHash('md5').update(table).digest('hex').slice(0, 12);
    assert.equal(safeIndexName(table, 'id'), `idx_${table}_id`);
    assert.equal(safeIndexName(table, 'hnsw_cosine'), `idx_${digest}_hnsw_cosine`);
    assert.equal(safeIndexName(table.toUpperCase(), 'workspace_id'), `idx_${digest}_workspace_id`);
  });
});

describe('POSTGRES_VECTOR_INDEX_TYPE, read as LightRAG reads it', () => {
  const indexType = (env: Record<string, string>) => readConfig(env).postgres.vectorIndexType;

  it('unset means HNSW; set but empty means no index', () => {
    assert.equal(indexType({}), 'HNSW');
    assert.equal(indexType({ POSTGRES_VECTOR_INDEX_TYPE: '' }), '');
    assert.equal(indexType({ POSTGRES_VECTOR_INDEX_TYPE: '  ' }), '');
    assert.equal(indexType({ POSTGRES_VECTOR_INDEX_TYPE: 'IVFFLAT' }), 'IVFFLAT');
  });

  it('a value in another case is refused, naming the supported ones', () => {
    assert.throws(
      () => indexType({ POSTGRES_VECTOR_INDEX_TYPE: 'IVFFlat' }),
      (error) =>
        isRagspaceError(error) &&
        error.code === 'CONFIG_INVALID' &&
        error.message.includes(
          'POSTGRES_VECTOR_INDEX_TYPE=IVFFlat is not supported; use one of: HNSW, HNSW_HALFVEC',
        ),
    );
  });
});
