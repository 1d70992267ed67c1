import type pg from 'pg';
import type { Config } from '../../config.ts';
import { errors, isRagspaceError, postgresErrors } from '../../errors.ts';
import { createLogger, type Logger } from '../../log.ts';
import { checkWorkspaceName, workspaceName } from '../../workspace/name.ts';
import type {
  StorageBackend,
  WorkspaceDetail,
  WorkspacePage,
  WorkspaceQuery,
  WorkspaceReader,
  WorkspaceWriter,
} from '../types.ts';
import {
  closeConnection,
  connect,
  locationOf,
  startupPolicy,
  type Connection,
} from './connection.ts';
import {
  acquire,
  connectionReason,
  describeTarget,
  inTransaction,
  isTransient,
  type RetryPolicy,
} from './pool.ts';
import { PostgresReader } from './reader.ts';
import {
  ensureSchema,
  storesOf,
  vectorSettings,
  type SchemaState,
  type StoreSet,
} from './schema.ts';
import type { Session } from './session.ts';
import { WORKSPACES_TABLE } from './tables.ts';
import { TextPolicy, type WriteNotice } from './text.ts';
import { countedTables, describeWorkspace, workspaceExists, type Naming } from './workspaces.ts';
import { StatsSnapshot } from './stats-snapshot.ts';
import { PostgresWriter } from './writer.ts';

/** Per request, a short wait only: a long one would hold the HTTP request hostage. */
const REQUEST_RETRIES: RetryPolicy = { retries: 2, backoff: 0.5, backoffMax: 2 };

function namingOf(config: Config): Naming {
  const column = config.postgres.workspace;
  if (column === undefined) return { alias: undefined };
  const check = checkWorkspaceName(column);
  if (!check.ok) {
    throw errors.configInvalid([`POSTGRES_WORKSPACE=${column} is not a valid workspace name`]);
  }
  return { alias: { column: check.name, name: config.workspace } };
}

/**
 * LightRAG's PostgreSQL storages (PGKVStorage, PGVectorStorage, PGDocStatusStorage, and
 * PGGraphStorage as plain tables) for many workspaces over one pool. A read is one
 * REPEATABLE READ transaction; a write is one transaction holding the workspace's
 * advisory lock, so writers of one workspace, in any process, take turns and each write
 * lands whole or not at all.
 */
export interface PostgresOptions {
  /** Which stores this backend holds (default: those the configuration selects). */
  stores?: StoreSet;
  log?: Logger;
}

export class PostgresStorage implements StorageBackend {
  readonly kind = 'postgres';
  readonly location: string;
  private readonly where: string;

  private constructor(
    private readonly connection: Connection,
    readonly schema: SchemaState,
    readonly stores: StoreSet,
    private readonly naming: Naming,
    private readonly log: Logger,
    private readonly list: StatsSnapshot,
  ) {
    this.where = describeTarget(connection.target);
    this.location = locationOf(connection);
  }

  static async open(config: Config, options: PostgresOptions = {}): Promise<PostgresStorage> {
    const log = options.log ?? createLogger({ component: 'postgres' });
    const stores = options.stores ?? storesOf(config);
    const request = { stores, vectors: vectorSettings(config), database: '' };
    const naming = namingOf(config);
    const connection = await connect(config, log);
    request.database = describeTarget(connection.target);
    try {
      const client = await acquire(connection.pool, request.database, startupPolicy(config), log);
      const schema = await ensureSchema(client, request, log).finally(() => client.release());
      const list = new StatsSnapshot(naming, config.listCacheWorkspaces);
      const storage = new PostgresStorage(connection, schema, stores, naming, log, list);
      log.info('postgres.ready', { location: storage.location, stores, canCopy: storage.canCopy });
      return storage;
    } catch (error) {
      await closeConnection(connection);
      throw error;
    }
  }

  /** The `workspace` column value of a workspace name (POSTGRES_WORKSPACE aliases one). */
  columnOf(name: string): string {
    const alias = this.naming.alias;
    return alias && name === alias.name ? alias.column : name;
  }

  get canCopy(): boolean {
    return !this.connection.pglite;
  }

  private get tables() {
    return countedTables(this.stores, this.schema);
  }

  private async withClient<T>(
    fn: (client: pg.PoolClient) => Promise<T>,
    workspace?: string,
  ): Promise<T> {
    const client = await acquire(this.connection.pool, this.where, REQUEST_RETRIES, this.log);
    let broken = false;
    try {
      return await fn(client);
    } catch (error) {
      broken = isTransient(error);
      throw this.translate(error, workspace);
    } finally {
      client.release(broken);
    }
  }

  /**
   * Connection losses become STORAGE_UNAVAILABLE, and text the server cannot take (a NUL
   * in a name or a search that no check before caught) VALUE_REJECTED; SQL details never
   * reach a client.
   */
  private translate(error: unknown, workspace: string | undefined): unknown {
    if (isRagspaceError(error)) return error;
    if (isUnstorableText(error)) return postgresErrors.unstorableText(workspace ?? 'default');
    if (!isTransient(error)) return error;
    return postgresErrors.unavailable(this.where, connectionReason(error), 1);
  }

  async listWorkspaces(query: WorkspaceQuery): Promise<WorkspacePage> {
    return this.withClient((client) => this.list.list(client, query));
  }

  async describeWorkspace(name: string): Promise<WorkspaceDetail> {
    const ws = this.columnOf(workspaceName(name));
    return this.withClient((client) =>
      describeWorkspace({ client, tables: this.tables, ws, name, location: this.location }),
    );
  }

  async hasWorkspace(name: string): Promise<boolean> {
    const ws = this.columnOf(workspaceName(name));
    return this.withClient((client) => workspaceExists(client, this.tables, ws));
  }

  private session(client: pg.PoolClient, name: string): Session {
    const ws = this.columnOf(name);
    return {
      client,
      ws,
      name,
      policy: new TextPolicy(name, this.log),
      schema: this.schema,
      stores: this.stores,
      log: this.log,
      canCopy: this.canCopy,
    };
  }

  async read<T>(workspace: string, fn: (reader: WorkspaceReader) => Promise<T>): Promise<T> {
    return this.readAny(workspace, true, fn);
  }

  /** `read`, optionally without the existence check (mixed storage decides that itself). */
  async readAny<T>(
    workspace: string,
    mustExist: boolean,
    fn: (reader: WorkspaceReader) => Promise<T>,
  ): Promise<T> {
    const name = workspaceName(workspace);
    return this.withClient(
      (client) =>
        inTransaction(client, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async () => {
          const session = this.session(client, name);
          if (mustExist && !(await workspaceExists(client, this.tables, session.ws))) {
            throw errors.workspaceNotFound(name);
          }
          return fn(new PostgresReader(session));
        }),
      name,
    );
  }

  async write<T>(workspace: string, fn: (writer: WorkspaceWriter) => Promise<T>): Promise<T> {
    const name = workspaceName(workspace);
    return this.withClient(
      (client) =>
        inTransaction(client, 'BEGIN', async () => {
          const session = this.session(client, name);
          await client.query(
            "SELECT pg_advisory_xact_lock(hashtextextended('ragspace:' || $1, 0))",
            [session.ws],
          );
          const writer = new PostgresWriter(session);
          const result = await fn(writer);
          await writer.finish();
          await registerWrite(client, session.ws);
          return result;
        }),
      name,
    );
  }

  async close(): Promise<void> {
    await closeConnection(this.connection);
  }
}

/** 22021: a NUL (or invalid UTF-8) in a parameter; 22P05: a character with no mapping. */
function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/** Marks the workspace as existing and changed now (an emptied one stays listed). */
async function registerWrite(client: pg.PoolClient, ws: string): Promise<void> {
  await client.query(
    `INSERT INTO ${WORKSPACES_TABLE} (workspace, created_at, updated_at)
     VALUES ($1, timezone('UTC', now()), timezone('UTC', now()))
     ON CONFLICT (workspace) DO UPDATE SET updated_at = EXCLUDED.updated_at`,
    [ws],
  );
}

/** The text-policy notices of a write so far; empty for backends without the policy. */
export function writeNotices(writer: WorkspaceWriter): WriteNotice[] {
  const withNotices = writer as WorkspaceWriter & { notices?: () => WriteNotice[] };
  return typeof withNotices.notices === 'function' ? withNotices.notices() : [];
}
