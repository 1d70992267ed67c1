import type pg from 'pg';
import type { Config } from '../config.ts';
import { errors } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { EmbeddedServer } from '../storage/postgres/embedded.ts';
import {
  acquire,
  chooseSsl,
  createPool,
  describeTarget,
  sslOptions,
  withRetries,
  type PgTarget,
  type RetryPolicy,
} from '../storage/postgres/pool.ts';
import {
  ensureSchema,
  storesOf,
  tableColumns,
  vectorSettings,
  vectorTables,
  type SchemaState,
  type StoreSet,
  type VectorSettings,
} from '../storage/postgres/schema.ts';
import type { Session } from '../storage/postgres/session.ts';
import type { VectorNamespace } from '../storage/types.ts';
import { checkWorkspaceName } from '../workspace/name.ts';
import { newPolicy } from './records/text.ts';

/**
 * The PostgreSQL the configuration selects (a server from POSTGRES_*, or the embedded
 * PGlite of RAGSPACE_PGLITE_DIR), opened the way the backend opens it: the same pool
 * settings, the same schema start-up (tables created if missing, nothing altered), and
 * the same `workspace` column rule. The backend's PostgresStorage keeps its pool private,
 * so the few lines that open one are repeated here.
 */
export interface TargetDb {
  pool: pg.Pool;
  /** Where the pool connects; a lock takes a connection of its own from it. */
  target: PgTarget;
  where: string;
  /**
   * A real server: COPY FROM STDIN is allowed (through the PGlite socket it wedges the
   * database), and statements may run on several connections at once (PGlite is one
   * session behind every connection; there everything runs one statement at a time).
   */
  canCopy: boolean;
  stores: StoreSet;
  schema: SchemaState;
  vectors: VectorSettings | undefined;
  retry: RetryPolicy;
  columnOf(name: string): string;
  close(): Promise<void>;
}

function retryPolicy(config: Config): RetryPolicy {
  const pg = config.postgres;
  return {
    retries: pg.connectionRetries,
    backoff: pg.connectionRetryBackoff,
    backoffMax: pg.connectionRetryBackoffMax,
  };
}

/** LightRAG's rule: POSTGRES_WORKSPACE names the rows of the configured workspace. */
export function columnRule(config: Config): (name: string) => string {
  const column = config.postgres.workspace;
  if (column === undefined) return (name) => name;
  const check = checkWorkspaceName(column);
  if (!check.ok) {
    throw errors.configInvalid([`POSTGRES_WORKSPACE=${column} is not a valid workspace name`]);
  }
  return (name) => (name === config.workspace ? check.name : name);
}

async function serverTarget(config: Config, log: Logger): Promise<PgTarget> {
  const pg = config.postgres;
  const mode = pg.sslMode ?? 'prefer';
  const target: PgTarget = {
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    database: pg.database,
    // A migration holds a connection for the bulk graph load and uses another beside it.
    maxConnections: Math.max(3, Math.min(pg.maxConnections, 8)),
    ssl: sslOptions(pg, mode),
  };
  const where = describeTarget(target);
  return withRetries(where, retryPolicy(config), log, () => chooseSsl(target, mode));
}

/**
 * PGlite is loaded only when used: its modules alone add about 50 MB to the process, which
 * a migration into a server should not carry.
 */
async function startPglite(dir: string, log: Logger) {
  const { EMBEDDED_CONNECTIONS, startEmbedded } = await import('../storage/postgres/embedded.ts');
  const embedded = await startEmbedded(dir, log);
  const target: PgTarget = {
    host: embedded.host,
    port: embedded.port,
    user: 'postgres',
    password: undefined,
    database: 'postgres',
    maxConnections: EMBEDDED_CONNECTIONS,
    ssl: false,
  };
  return { embedded, target };
}

export function selectedStores(config: Config): StoreSet {
  return storesOf(config);
}

export function anyStore(stores: StoreSet): boolean {
  return stores.graph || stores.kv || stores.vector || stores.docStatus;
}

/** Opens the target; `prepare` runs the backend's schema start-up (creating tables). */
export async function openTarget(config: Config, log: Logger, prepare: boolean): Promise<TargetDb> {
  const stores = storesOf(config);
  const vectors = vectorSettings(config);
  const dir = config.postgres.embeddedDir;
  const pglite = dir ? await startPglite(dir, log) : undefined;
  const embedded: EmbeddedServer | undefined = pglite?.embedded;
  try {
    const target = pglite ? pglite.target : await serverTarget(config, log);
    const pool = createPool(target);
    const where = embedded ? `pglite:${embedded.directory}` : describeTarget(target);
    const db: TargetDb = {
      pool,
      target,
      where,
      canCopy: embedded === undefined,
      stores,
      schema: { vectorTables: {}, trigram: false },
      vectors,
      retry: retryPolicy(config),
      columnOf: columnRule(config),
      close: async () => {
        await pool.end().catch(() => undefined);
        await embedded?.stop();
      },
    };
    if (!embedded) db.canCopy = !(await servedByPglite(db, log));
    if (prepare) await prepareSchema(db, log);
    return db;
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

/**
 * A pglite-socket server started by someone else looks like any server from here, but
 * COPY FROM STDIN would wedge it; its version string names it.
 */
async function servedByPglite(db: TargetDb, log: Logger): Promise<boolean> {
  return withClient(db, log, async (client) => {
    const result = await client.query('SELECT version() AS version');
    return String(result.rows[0].version).includes('PGlite');
  });
}

async function prepareSchema(db: TargetDb, log: Logger): Promise<void> {
  const client = await acquire(db.pool, db.where, db.retry, log);
  try {
    const request = { stores: db.stores, vectors: db.vectors, database: db.where };
    db.schema = await ensureSchema(client, request, log);
  } finally {
    client.release();
  }
}

/** The vector tables the configuration names, whether or not they exist yet. */
export function plannedVectorTables(db: TargetDb): Record<string, string> {
  return db.vectors ? vectorTables(db.vectors) : {};
}

export async function withClient<T>(
  db: TargetDb,
  log: Logger,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await acquire(db.pool, db.where, db.retry, log);
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

/** A backend session for one batch: its own text policy, whose notices are discarded. */
export function sessionFor(
  db: TargetDb,
  client: pg.PoolClient,
  name: string,
  log: Logger,
): Session {
  return {
    client,
    ws: db.columnOf(name),
    name,
    policy: newPolicy(name),
    schema: db.schema,
    stores: db.stores,
    log,
    canCopy: db.canCopy,
  };
}

/** Whether every table exists (verify and export read; they never create tables). */
export async function tableExists(db: TargetDb, log: Logger, tables: string[]): Promise<boolean> {
  return withClient(db, log, async (client) => {
    const result = await client.query(
      'SELECT bool_and(to_regclass(t) IS NOT NULL) AS found FROM unnest($1::text[]) AS t',
      [tables],
    );
    return result.rows[0].found === true;
  });
}

/** Fills in the vector tables that exist (type and dimension), without creating any. */
export async function inspectVectorTables(db: TargetDb, log: Logger): Promise<void> {
  const planned = plannedVectorTables(db);
  await withClient(db, log, async (client) => {
    for (const [namespace, table] of Object.entries(planned)) {
      const type = (await tableColumns(client, table)).get('content_vector')?.type ?? '';
      const match = /^(vector|halfvec)\((\d+)\)$/.exec(type);
      if (!match) continue;
      const found = { table, type: match[1] as 'vector' | 'halfvec', dim: Number(match[2]) };
      db.schema.vectorTables[namespace as VectorNamespace] = found;
    }
  });
}
