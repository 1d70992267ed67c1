import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { MixedStorage } from '../../src/storage/mixed.ts';
import type { PostgresStorage } from '../../src/storage/postgres/index.ts';
import { freshStats, keptStats, type KeptStats } from '../../src/storage/postgres/stats.ts';
import type { StorageBackend } from '../../src/storage/types.ts';
import { tempDir } from '../helpers.ts';
import {
  ALL_PG,
  openPostgres,
  PG_HOST,
  PG_PORT,
  PG_USER,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  startPgliteServer,
} from '../postgres/helpers.ts';

/**
 * Real databases for the statistics tests: a fresh `ragspace_stats_<random>` database on
 * the machine's PostgreSQL 15 (no pgvector, so vectors stay in files), or PGlite with
 * pgvector holding every store. Checks read the tables with their own connection.
 */
export interface StatsDatabase {
  env: Record<string, string>;
  /** The stores ragspace keeps there. */
  stores: Record<string, string>;
  vectors: boolean;
  drop(): Promise<void>;
}

export interface StatsBackend {
  label: string;
  /** pgvector is there (PGlite), so vectors are in PostgreSQL too. */
  vectors: boolean;
  /** PGlite: one backend for every connection, and no COPY FROM STDIN. */
  embedded: boolean;
  create(): Promise<StatsDatabase>;
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

export async function createStatsDatabase(): Promise<StatsDatabase> {
  const name = `ragspace_stats_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    env: {
      POSTGRES_HOST: PG_HOST,
      POSTGRES_PORT: String(PG_PORT),
      POSTGRES_USER: PG_USER,
      POSTGRES_PASSWORD: 'unused-trust-auth',
      POSTGRES_DATABASE: name,
      POSTGRES_SSL_MODE: 'disable',
      POSTGRES_CONNECTION_RETRIES: '0',
    },
    stores: PG_WITHOUT_VECTORS,
    vectors: false,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(),
  };
}

async function createPglite(): Promise<StatsDatabase> {
  const server = await startPgliteServer();
  return { env: server.env, stores: ALL_PG, vectors: true, drop: () => server.stop() };
}

export const STATS_BACKENDS: StatsBackend[] = [
  { label: 'PostgreSQL 15', vectors: false, embedded: false, create: createStatsDatabase },
  { label: 'PGlite', vectors: true, embedded: true, create: createPglite },
];

export interface OpenedStats {
  /** All PostgreSQL (PGlite), or PostgreSQL with vectors in files (PostgreSQL 15). */
  storage: StorageBackend;
  postgres: PostgresStorage;
  close(): Promise<void>;
}

export async function openStats(
  db: StatsDatabase,
  extra: Record<string, string> = {},
): Promise<OpenedStats> {
  const dir = tempDir();
  const config = pgTestConfig(db.env, db.stores, { WORKING_DIR: dir.path }, extra);
  const postgres = await openPostgres(config);
  const storage = db.vectors
    ? postgres
    : new MixedStorage(new FileStorage(dir.path, { logger: silentLogger }), postgres);
  return {
    storage,
    postgres,
    close: async () => {
      await storage.close();
      dir.cleanup();
    },
  };
}

/** A connection of its own (another program, as far as ragspace can tell). */
export async function connectTo(env: Record<string, string>): Promise<pg.Client> {
  const client = new pg.Client({
    host: env.POSTGRES_HOST,
    port: Number(env.POSTGRES_PORT),
    user: env.POSTGRES_USER,
    database: env.POSTGRES_DATABASE,
  });
  await client.connect();
  return client;
}

export async function withClient<T>(
  env: Record<string, string>,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await connectTo(env);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const withoutStamp = ({ updated_at: _, ...counts }: KeptStats) => counts;

/**
 * The kept statistics equal a count from scratch; `stamps: false` compares counts only
 * and requires the kept time to be no older (deletions by others date it forward).
 */
export async function assertKeptMatchesFresh(
  env: Record<string, string>,
  message: string,
  options: { stamps: boolean } = { stamps: true },
): Promise<KeptStats[]> {
  return withClient(env, async (client) => {
    const kept = await keptStats(client);
    const fresh = await freshStats(client);
    if (options.stamps) {
      assert.deepEqual(kept, fresh, message);
      return kept;
    }
    assert.deepEqual(kept.map(withoutStamp), fresh.map(withoutStamp), message);
    for (const [i, row] of kept.entries()) {
      assert.ok((row.updated_at ?? '') >= (fresh[i]!.updated_at ?? ''), `${message}: stamp`);
    }
    return kept;
  });
}

/** Upserts `count` entities `prefix0..` and a chain of relations between them. */
export async function fillGraph(
  storage: StorageBackend,
  ws: string,
  prefix: string,
  count: number,
): Promise<void> {
  await storage.write(ws, async (w) => {
    for (let i = 0; i < count; i++) {
      await w.upsertEntity({ name: `${prefix}${i}`, properties: { entity_type: 'thing' } });
    }
    for (let i = 1; i < count; i++) {
      await w.upsertRelation({
        source: `${prefix}${i - 1}`,
        target: `${prefix}${i}`,
        properties: {},
      });
    }
  });
}

/** A small seeded generator, so a failing random sequence can be replayed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
