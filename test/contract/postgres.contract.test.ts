import { after, before } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { MixedStorage } from '../../src/storage/mixed.ts';
import type { StorageBackend } from '../../src/storage/types.ts';
import { tempDir } from '../helpers.ts';
import {
  createTestDatabase,
  openPostgres,
  pgTestConfig,
  PG_WITHOUT_VECTORS,
  sql,
  startPgliteServer,
  type PgliteServer,
} from '../postgres/helpers.ts';
import { storageContract, type OpenedStorage } from './storage-contract.ts';

/**
 * The storage contract on PostgreSQL: graph, key-value and doc-status stores in
 * PostgreSQL; vectors in files (MixedStorage), in both runs.
 *
 * Why the vector part does not run against pgvector here: the contract's vector tests
 * let the first write of each workspace choose the dimension (3 in one test, 2 in
 * others), as nano-vectordb files do. LightRAG's PostgreSQL schema fixes it per table
 * (`VECTOR(EMBEDDING_DIM)`, in a table named after the model and dimension), so one
 * configuration cannot pass both. The same behaviours (meta fields, pending rows,
 * dimension enforced, delete, clear, rollback) are tested on PGlite with pgvector in
 * test/postgres/vectors.test.ts.
 */
async function openMixed(env: Record<string, string>): Promise<{
  storage: StorageBackend;
  cleanupFiles: () => void;
}> {
  const dir = tempDir();
  const config = pgTestConfig(env, PG_WITHOUT_VECTORS, { WORKING_DIR: dir.path });
  const postgres = await openPostgres(config);
  const files = new FileStorage(dir.path, { logger: silentLogger });
  return { storage: new MixedStorage(files, postgres), cleanupFiles: dir.cleanup };
}

storageContract('postgres 15 server (vectors in files)', async (): Promise<OpenedStorage> => {
  const database = await createTestDatabase();
  const { storage, cleanupFiles } = await openMixed(database.env);
  return {
    storage,
    cleanup: async () => {
      cleanupFiles();
      await database.drop();
    },
  };
});

let pglite: PgliteServer;

before(async () => {
  pglite = await startPgliteServer();
});

after(async () => {
  await pglite.stop();
});

/** One PGlite for the whole suite (it boots in seconds); each test starts from empty tables. */
async function emptyPglite(): Promise<void> {
  const tables = await sql<{ name: string }>(
    pglite.env,
    `SELECT tablename AS name FROM pg_tables
      WHERE schemaname = 'public' AND (tablename LIKE 'lightrag_%' OR tablename LIKE 'ragspace_%')`,
  );
  if (tables.length > 0) {
    await sql(pglite.env, `TRUNCATE ${tables.map((t) => t.name).join(', ')}`);
  }
}

storageContract('pglite with pgvector over its socket (vectors in files)', async () => {
  await emptyPglite();
  const { storage, cleanupFiles } = await openMixed(pglite.env);
  return { storage, cleanup: async () => cleanupFiles() };
});
