import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import {
  ALL_PG,
  createTestDatabase,
  openPostgres,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  sql,
  type TestDatabase,
} from './helpers.ts';
import { runWorker } from './process.ts';

/** Start-up on the PostgreSQL 15 server: idempotent, concurrent, and honest about pgvector. */
describe('start-up', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => db.drop());

  it('two processes starting at once on an empty database both succeed', async () => {
    const env = { ...db.env, ...PG_WITHOUT_VECTORS };
    const results = await Promise.all([
      runWorker(env, { mode: 'open' }),
      runWorker(env, { mode: 'open' }),
    ]);
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const tables = await sql(
      db.env,
      `SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 'lightrag_%'`,
    );
    assert.deepEqual(tables, [{ n: 8 }]);
  });

  it('two pools opening at once in one process both succeed', async () => {
    const config = pgTestConfig(db.env, PG_WITHOUT_VECTORS);
    const storages = await Promise.all([
      openPostgres(config),
      openPostgres(config),
      openPostgres(config),
    ]);
    await Promise.all(storages.map((s) => s.close()));
  });

  it('PGVectorStorage without pgvector is PGVECTOR_MISSING, saying how to fix it', async () => {
    await assert.rejects(openPostgres(pgTestConfig(db.env, ALL_PG)), (error) => {
      assert.ok(isRagspaceError(error));
      assert.equal(error.code, 'PGVECTOR_MISSING');
      assert.match(error.message, /pgvector\/pgvector:pg17/);
      assert.match(error.message, /postgresql-NN-pgvector/);
      assert.doesNotMatch(error.message, /ERROR:|SQLSTATE/);
      return true;
    });
  });

  it('the other PostgreSQL stores work without pgvector', async () => {
    const storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
    try {
      await storage.write('plain', async (w) => {
        await w.upsertEntity({ name: 'A', properties: { description: 'a' } });
        await w.upsertKv('text_chunks', new Map([['c1', { content: 'chunk' }]]));
        await w.upsertKv('doc_status', new Map([['d1', { status: 'pending' }]]));
      });
      const names = await storage.read('plain', (r) => r.entityNames());
      assert.deepEqual(names, ['A']);
    } finally {
      await storage.close();
    }
  });

  it('a server that is not there is STORAGE_UNAVAILABLE after the configured retries', async () => {
    const config = pgTestConfig(db.env, PG_WITHOUT_VECTORS, {
      POSTGRES_PORT: '1',
      POSTGRES_CONNECTION_RETRIES: '2',
      POSTGRES_CONNECTION_RETRY_BACKOFF: '0.01',
      POSTGRES_CONNECTION_RETRY_BACKOFF_MAX: '0.02',
    });
    await assert.rejects(openPostgres(config), (error) => {
      assert.ok(isRagspaceError(error));
      assert.equal(error.code, 'STORAGE_UNAVAILABLE');
      assert.match(error.message, /refused.*after 3 attempt/);
      return true;
    });
  });
});

/** A database a Python LightRAG server made first: tables present, one with an extra column. */
const LIGHTRAG_DDL = [
  `CREATE TABLE LIGHTRAG_DOC_FULL (id VARCHAR(255), workspace VARCHAR(255), doc_name VARCHAR(1024),
     content TEXT, meta JSONB, create_time TIMESTAMP(0), update_time TIMESTAMP(0),
     custom_note TEXT, CONSTRAINT LIGHTRAG_DOC_FULL_PK PRIMARY KEY (workspace, id))`,
  `INSERT INTO LIGHTRAG_DOC_FULL
     (id, workspace, doc_name, content, custom_note, create_time, update_time)
     VALUES ('doc-1', 'default', 'a.txt', 'from python', 'keep me',
             '2026-01-02 03:04:05', '2026-01-02 03:04:05')`,
];

describe('a database LightRAG created first', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
    for (const statement of LIGHTRAG_DDL) await sql(db.env, statement);
  });
  afterEach(() => db.drop());

  it('is used as it is: rows read, extra columns kept, missing columns added', async () => {
    const storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
    try {
      const docs = await storage.read('default', (r) => r.getKv('full_docs', ['doc-1']));
      // The v1.5 columns arrive with LightRAG's defaults, as LightRAG's own migration does.
      assert.deepEqual(docs.get('doc-1'), {
        content: 'from python',
        file_path: 'a.txt',
        parse_format: 'raw',
        chunk_options: {},
        _id: 'doc-1',
        create_time: Date.UTC(2026, 0, 2, 3, 4, 5) / 1000,
        update_time: Date.UTC(2026, 0, 2, 3, 4, 5) / 1000,
      });
    } finally {
      await storage.close();
    }
    const columns = await sql<{ column_name: string }>(
      db.env,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'lightrag_doc_full'`,
    );
    const names = columns.map((c) => c.column_name);
    assert.ok(names.includes('custom_note'), 'a column ragspace does not know survives');
    assert.ok(names.includes('parse_format'), 'a column of a newer LightRAG is added');
    const note = await sql(db.env, `SELECT custom_note FROM lightrag_doc_full`);
    assert.deepEqual(note, [{ custom_note: 'keep me' }]);
  });
});
