import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DoctorReport } from '../../src/storage/postgres/doctor.ts';
import { emptyEnvFile, runCli } from '../run-process.ts';
import {
  ALL_PG,
  createTestDatabase,
  openPostgres,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  startPgliteServer,
  type PgliteServer,
  type TestDatabase,
} from './helpers.ts';

/** `ragspace doctor --json`, run as a user runs it: the real binary, its exit code. */
const noEnvFile = emptyEnvFile();
after(() => noEnvFile.cleanup());

async function doctor(
  env: Record<string, string>,
): Promise<{ code: number | null; report: DoctorReport }> {
  const { code, stdout, stderr } = await runCli(
    ['doctor', '--json', '--dotenv', noEnvFile.path],
    env,
  );
  try {
    return { code, report: JSON.parse(stdout) as DoctorReport };
  } catch {
    throw new Error(`doctor printed no JSON (exit ${code}): ${stderr}`);
  }
}

describe('ragspace doctor on the PostgreSQL 15 server', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('exits 1 when PGVectorStorage is selected and pgvector is absent', async () => {
    const { code, report } = await doctor({ ...db.env, ...ALL_PG });
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    assert.match(report.server_version ?? '', /^15\./);
    assert.equal(report.pgvector.available, null);
    assert.ok(report.problems.some((p) => /pgvector extension is not available/.test(p)));
  });

  it('exits 0 without PGVectorStorage, and reports tables and rows per workspace', async () => {
    const fresh = await doctor({ ...db.env, ...PG_WITHOUT_VECTORS });
    assert.equal(fresh.code, 0);
    assert.ok(fresh.report.tables.every((t) => !t.exists));
    assert.equal(fresh.report.permissions?.create_tables, true);

    const storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
    await storage.write('w1', (w) => w.upsertEntity({ name: 'A', properties: {} }));
    await storage.write('w2', (w) => w.upsertKv('text_chunks', new Map([['c', { content: 'x' }]])));
    await storage.close();

    const { code, report } = await doctor({ ...db.env, ...PG_WITHOUT_VECTORS });
    assert.equal(code, 0);
    const byTable = new Map(report.tables.map((t) => [t.table, t]));
    assert.deepEqual(byTable.get('ragspace_entities')?.rows_by_workspace, { w1: 1 });
    assert.deepEqual(byTable.get('lightrag_doc_chunks')?.rows_by_workspace, { w2: 1 });
  });

  it('exits 1 when the server cannot be reached', async () => {
    const { code, report } = await doctor({ ...db.env, ...PG_WITHOUT_VECTORS, POSTGRES_PORT: '1' });
    assert.equal(code, 1);
    assert.match(report.problems[0] ?? '', /refused/);
  });
});

describe('ragspace doctor on PGlite with pgvector', () => {
  let server: PgliteServer;

  before(async () => {
    server = await startPgliteServer();
  });
  after(() => server.stop());

  it('exits 0, reports pgvector and the vector tables with their dimension', async () => {
    const first = await doctor({ ...server.env, ...ALL_PG });
    assert.equal(first.code, 0, first.report.problems.join('; '));
    assert.ok(first.report.pgvector.available);

    const storage = await openPostgres(pgTestConfig(server.env, ALL_PG));
    await storage.close();
    const { code, report } = await doctor({ ...server.env, ...ALL_PG });
    assert.equal(code, 0);
    assert.ok(report.pgvector.installed);
    const vectors = report.tables.filter((t) => t.store.startsWith('vdb_'));
    assert.deepEqual(
      vectors.map((t) => t.vector_dimension),
      [4, 4, 4],
    );

    const other = await doctor({ ...server.env, ...ALL_PG, EMBEDDING_MODEL: '' });
    assert.deepEqual(
      other.report.other_vector_tables.length,
      3,
      'the test-embed tables are listed',
    );
  });

  it('exits 1 when a vector table holds another dimension than EMBEDDING_DIM', async () => {
    const storage = await openPostgres(
      pgTestConfig(server.env, ALL_PG, { EMBEDDING_MODEL: 'legacy-8', EMBEDDING_DIM: '8' }),
    );
    await storage.close();
    const renamed = 'lightrag_vdb_entity_legacy_8_4d';
    const { sql } = await import('./helpers.ts');
    await sql(server.env, `ALTER TABLE lightrag_vdb_entity_legacy_8_8d RENAME TO ${renamed}`);
    const { code, report } = await doctor({
      ...server.env,
      ...ALL_PG,
      EMBEDDING_MODEL: 'legacy-8',
    });
    assert.equal(code, 1);
    assert.ok(report.problems.some((p) => p.includes(`${renamed} holds 8-dimension vectors`)));
  });
});
