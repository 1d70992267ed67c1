import pg from 'pg';
import type { Config } from '../../config.ts';
import type { Logger } from '../../log.ts';
import { EMBEDDED_POOL_SIZE, startEmbedded, type EmbeddedServer } from './embedded.ts';
import {
  chooseSsl,
  createPool,
  describeTarget,
  sslOptions,
  withRetries,
  type PgTarget,
  type RetryPolicy,
} from './pool.ts';

/**
 * Where the PostgreSQL storage connects: the server POSTGRES_* names, or, when
 * RAGSPACE_PGLITE_DIR is set, embedded PGlite started in this process (the directory wins
 * over POSTGRES_HOST, so setting it is enough to run without a server).
 */
export interface Connection {
  pool: pg.Pool;
  target: PgTarget;
  embedded: EmbeddedServer | undefined;
  /** PGlite behind a socket (ours or someone's): one connection, and never COPY FROM. */
  pglite: boolean;
}

export function startupPolicy(config: Config): RetryPolicy {
  const pg = config.postgres;
  return {
    retries: pg.connectionRetries,
    backoff: pg.connectionRetryBackoff,
    backoffMax: pg.connectionRetryBackoffMax,
  };
}

async function serverTarget(config: Config, policy: RetryPolicy, log: Logger): Promise<PgTarget> {
  const pg = config.postgres;
  const mode = pg.sslMode ?? 'prefer';
  const target: PgTarget = {
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    database: pg.database,
    maxConnections: pg.maxConnections,
    ssl: sslOptions(pg, mode),
  };
  const where = describeTarget(target);
  return withRetries(where, policy, log, () => chooseSsl(target, mode));
}

export async function connect(
  config: Config,
  log: Logger,
  policy = startupPolicy(config),
): Promise<Connection> {
  const dir = config.postgres.embeddedDir;
  if (!dir) {
    const target = await serverTarget(config, policy, log);
    const pglite = await withRetries(describeTarget(target), policy, log, () => isPglite(target));
    if (pglite) log.warn('postgres.pglite_server', { target: describeTarget(target) });
    const pooled = pglite ? { ...target, maxConnections: EMBEDDED_POOL_SIZE } : target;
    return { pool: createPool(pooled), target: pooled, embedded: undefined, pglite };
  }
  const embedded = await startEmbedded(dir, log);
  const target: PgTarget = {
    host: embedded.host,
    port: embedded.port,
    user: 'postgres',
    password: undefined,
    database: 'postgres',
    maxConnections: EMBEDDED_POOL_SIZE,
    ssl: false,
  };
  return { pool: createPool(target), target, embedded, pglite: true };
}

/**
 * A server can be PGlite behind pglite-socket (as in tests, or run by hand). It takes
 * the embedded precautions: COPY FROM STDIN wedges it and connections interleave.
 */
async function isPglite(target: PgTarget): Promise<boolean> {
  const client = new pg.Client({ ...target, ssl: target.ssl });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query('SELECT version() AS v');
    return /PGlite/i.test(String(result.rows[0]?.v));
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function locationOf(connection: Connection): string {
  const { target, embedded } = connection;
  if (embedded) return `pglite:${embedded.directory}`;
  return `postgresql://${target.user}@${describeTarget(target)}`;
}

export async function closeConnection(connection: Connection): Promise<void> {
  await connection.pool.end().catch(() => undefined);
  await connection.embedded?.stop();
}
