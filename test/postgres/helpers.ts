import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { readConfig, type Config } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { MixedStorage } from '../../src/storage/mixed.ts';
import { PostgresStorage, type PostgresOptions } from '../../src/storage/postgres/index.ts';
import { tempDir } from '../helpers.ts';

/**
 * Real databases for the PostgreSQL tests, never mocks: a fresh `ragspace_test_<random>`
 * database on the machine's PostgreSQL 15 (127.0.0.1:5432, no pgvector), or an in-memory
 * PGlite with pgvector behind pglite-socket on an ephemeral 127.0.0.1 port, reached
 * through the same `pg` code production uses.
 */
export const PG_HOST = process.env.RAGSPACE_TEST_PG_HOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.RAGSPACE_TEST_PG_PORT ?? 5432);
export const PG_USER = process.env.RAGSPACE_TEST_PG_USER ?? 'postgres';

export const ALL_PG = {
  LIGHTRAG_KV_STORAGE: 'PGKVStorage',
  LIGHTRAG_VECTOR_STORAGE: 'PGVectorStorage',
  LIGHTRAG_GRAPH_STORAGE: 'PGGraphStorage',
  LIGHTRAG_DOC_STATUS_STORAGE: 'PGDocStatusStorage',
  EMBEDDING_MODEL: 'test-embed',
  EMBEDDING_DIM: '4',
};

/** Every PG store except vectors: what the PG15 server (no pgvector) can hold. */
export const PG_WITHOUT_VECTORS = { ...ALL_PG, LIGHTRAG_VECTOR_STORAGE: 'NanoVectorDBStorage' };

export interface TestDatabase {
  /** Environment that points ragspace at this database. */
  env: Record<string, string>;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: PG_HOST,
    port: PG_PORT,
    user: PG_USER,
    database: 'postgres',
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `ragspace_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    env: {
      POSTGRES_HOST: PG_HOST,
      POSTGRES_PORT: String(PG_PORT),
      POSTGRES_USER: PG_USER,
      POSTGRES_PASSWORD: 'unused-trust-auth',
      POSTGRES_DATABASE: name,
      POSTGRES_SSL_MODE: 'disable',
      POSTGRES_CONNECTION_RETRIES: '0',
    },
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(),
  };
}

export interface PgliteServer {
  env: Record<string, string>;
  db: PGlite;
  stop(): Promise<void>;
}

/** PGlite with pgvector and pg_trgm, in memory, on 127.0.0.1 at an ephemeral port. */
export async function startPgliteServer(): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector, pg_trgm } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const port = server.getServerConn().split(':').pop()!;
  return {
    db,
    env: {
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_PORT: port,
      POSTGRES_USER: 'postgres',
      POSTGRES_PASSWORD: 'unused',
      POSTGRES_DATABASE: 'postgres',
      POSTGRES_SSL_MODE: 'disable',
      POSTGRES_MAX_CONNECTIONS: '1',
      POSTGRES_CONNECTION_RETRIES: '0',
    },
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

export function pgTestConfig(...envs: Record<string, string | undefined>[]): Config {
  return readConfig(Object.assign({ LOG_LEVEL: 'error' }, ...envs));
}

export function openPostgres(
  config: Config,
  options: PostgresOptions = {},
): Promise<PostgresStorage> {
  return PostgresStorage.open(config, { log: silentLogger, ...options });
}

/** Runs SQL directly against a test database, for checks independent of ragspace. */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  env: Record<string, string>,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({
    host: env.POSTGRES_HOST,
    port: Number(env.POSTGRES_PORT),
    user: env.POSTGRES_USER,
    database: env.POSTGRES_DATABASE,
  });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * HTTP-test fixtures for test/support/backends.ts: PGlite with pgvector holding every
 * store, and the PostgreSQL 15 server with vectors in files (it has no pgvector).
 */
export function postgresBackends() {
  return [
    {
      label: 'postgres (pglite, all stores)',
      async open() {
        const server = await startPgliteServer();
        const storage = await openPostgres(pgTestConfig(server.env, ALL_PG));
        return { storage, cleanup: () => server.stop() };
      },
    },
    {
      label: 'postgres 15 (vectors in files)',
      async open() {
        const database = await createTestDatabase();
        const dir = tempDir();
        const config = pgTestConfig(database.env, PG_WITHOUT_VECTORS, { WORKING_DIR: dir.path });
        const postgres = await openPostgres(config);
        const files = new FileStorage(dir.path, { logger: silentLogger });
        const storage = new MixedStorage(files, postgres);
        return {
          storage,
          cleanup: async () => {
            dir.cleanup();
            await database.drop();
          },
        };
      },
    },
  ];
}
