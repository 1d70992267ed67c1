import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The machine's PostgreSQL for the benches that write into it (127.0.0.1:5432 unless
 * RAGSPACE_TEST_PG_* say otherwise), each in a scratch database dropped afterwards.
 */
export const PG_HOST = process.env.RAGSPACE_TEST_PG_HOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.RAGSPACE_TEST_PG_PORT ?? 5432);
export const PG_USER = process.env.RAGSPACE_TEST_PG_USER ?? 'postgres';

/** ragspace's configuration for graph, key-value and doc status in `database`. */
export function benchEnv(database: string): Record<string, string> {
  return {
    POSTGRES_HOST: PG_HOST,
    POSTGRES_PORT: String(PG_PORT),
    POSTGRES_USER: PG_USER,
    POSTGRES_PASSWORD: process.env.RAGSPACE_TEST_PG_PASSWORD ?? 'unused',
    POSTGRES_DATABASE: database,
    POSTGRES_SSL_MODE: 'disable',
    LIGHTRAG_KV_STORAGE: 'PGKVStorage',
    LIGHTRAG_GRAPH_STORAGE: 'PGGraphStorage',
    LIGHTRAG_DOC_STATUS_STORAGE: 'PGDocStatusStorage',
    LOG_LEVEL: 'error',
  };
}

/** A connection of the bench's own; `pipelined` sends queries without waiting for each. */
export async function connectTo(database: string, pipelined = false): Promise<pg.Client> {
  const client = new pg.Client({
    host: PG_HOST,
    port: PG_PORT,
    user: PG_USER,
    database,
    pipeline: pipelined,
  } as pg.ClientConfig);
  await client.connect();
  return client;
}

/** Runs `fn` on a fresh database named `<prefix>_<random>`, dropped afterwards. */
export async function withScratchDatabase<T>(
  prefix: string,
  fn: (database: string) => Promise<T>,
): Promise<T> {
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await connectTo('postgres');
  await admin.query(`CREATE DATABASE ${database}`);
  try {
    return await fn(database);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}
