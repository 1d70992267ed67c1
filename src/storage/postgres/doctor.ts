import type pg from 'pg';
import type { Config } from '../../config.ts';
import { isRagspaceError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { closeConnection, connect, locationOf } from './connection.ts';
import { acquire } from './pool.ts';
import { storesOf, tableColumns, vectorSettings, vectorTables, type StoreSet } from './schema.ts';
import {
  DOC_STATUS_TABLE,
  ENTITIES_TABLE,
  KV_TABLES,
  RELATIONS_TABLE,
  WORKSPACES_TABLE,
} from './tables.ts';

/**
 * `ragspace doctor`: what the configured PostgreSQL storage would meet, found without
 * changing anything (no table, extension or row is created). `problems` lists what stops
 * the storage from working; empty means it can start.
 */
export interface TableReport {
  table: string;
  store: string;
  exists: boolean;
  rows_by_workspace: Record<string, number>;
  /** Vector tables: the dimension of content_vector. */
  vector_dimension?: number;
}

export interface DoctorReport {
  ok: boolean;
  storage: Record<string, string>;
  location: string | null;
  server_version: string | null;
  pgvector: { needed: boolean; available: string | null; installed: string | null };
  pg_trgm: { available: string | null; installed: string | null };
  embedding_dim: number | null;
  permissions: { create_tables: boolean; create_extension_vector: boolean } | null;
  tables: TableReport[];
  /** Vector tables of other models or dimensions found in the database. */
  other_vector_tables: string[];
  problems: string[];
  notes: string[];
}

function emptyReport(config: Config): DoctorReport {
  const s = config.storage;
  return {
    ok: false,
    storage: { kv: s.kv, vector: s.vector, graph: s.graph, doc_status: s.docStatus },
    location: null,
    server_version: null,
    pgvector: { needed: s.vector === 'PGVectorStorage', available: null, installed: null },
    pg_trgm: { available: null, installed: null },
    embedding_dim: config.embedding.dim ?? null,
    permissions: null,
    tables: [],
    other_vector_tables: [],
    problems: [],
    notes: [],
  };
}

/** A diagnosis answers at once: no retries while the server is unreachable. */
const NO_RETRIES = { retries: 0, backoff: 0, backoffMax: 0 };

export async function runDoctor(config: Config, log: Logger): Promise<DoctorReport> {
  const report = emptyReport(config);
  const stores = storesOf(config);
  if (!Object.values(stores).some(Boolean)) {
    report.notes.push('No PG*Storage is selected: storage is files only, nothing to check here.');
  } else {
    await diagnose(config, stores, report, log).catch((error: unknown) => {
      if (!isRagspaceError(error)) throw error;
      report.problems.push(error.message);
    });
  }
  report.ok = report.problems.length === 0;
  return report;
}

async function diagnose(config: Config, stores: StoreSet, report: DoctorReport, log: Logger) {
  const connection = await connect(config, log, NO_RETRIES);
  try {
    report.location = locationOf(connection);
    const client = await acquire(connection.pool, report.location, NO_RETRIES, log);
    try {
      await inspect(client, config, stores, report);
    } finally {
      client.release();
    }
  } finally {
    await closeConnection(connection);
  }
}

async function one<T>(client: pg.PoolClient, sql: string, values: unknown[] = []): Promise<T> {
  return (await client.query(sql, values)).rows[0] as T;
}

async function extension(client: pg.PoolClient, name: string) {
  const row = await one<{ default_version: string; installed_version: string | null } | undefined>(
    client,
    'SELECT default_version, installed_version FROM pg_available_extensions WHERE name = $1',
    [name],
  );
  return { available: row?.default_version ?? null, installed: row?.installed_version ?? null };
}

async function inspect(
  client: pg.PoolClient,
  config: Config,
  stores: StoreSet,
  report: DoctorReport,
) {
  report.server_version = (
    await one<{ v: string }>(client, 'SELECT current_setting($1) AS v', ['server_version'])
  ).v;
  report.pgvector = { needed: stores.vector, ...(await extension(client, 'vector')) };
  report.pg_trgm = await extension(client, 'pg_trgm');
  report.permissions = await permissions(client, report.pgvector.installed !== null);
  for (const [table, store] of expectedTables(config, stores, report)) {
    report.tables.push(await tableReport(client, table, store));
  }
  report.other_vector_tables = await otherVectorTables(client, report.tables);
  judge(report, stores);
}

function expectedTables(
  config: Config,
  stores: StoreSet,
  report: DoctorReport,
): [string, string][] {
  const tables: [string, string][] = [[WORKSPACES_TABLE, 'workspaces']];
  if (stores.graph) tables.push([ENTITIES_TABLE, 'graph'], [RELATIONS_TABLE, 'graph']);
  if (stores.kv)
    for (const [store, table] of Object.entries(KV_TABLES)) tables.push([table, store]);
  if (stores.docStatus) tables.push([DOC_STATUS_TABLE, 'doc_status']);
  if (stores.vector) {
    try {
      const settings = vectorSettings(config);
      if (settings)
        for (const [ns, table] of Object.entries(vectorTables(settings)))
          tables.push([table, `vdb_${ns}`]);
    } catch (error) {
      if (!isRagspaceError(error)) throw error;
      report.problems.push(error.message);
    }
  }
  return tables;
}

async function permissions(client: pg.PoolClient, vectorInstalled: boolean) {
  const row = await one<{
    schema_create: boolean;
    db_create: boolean;
    superuser: boolean;
    trusted: boolean | null;
  }>(
    client,
    `SELECT has_schema_privilege(current_schema(), 'CREATE') AS schema_create,
            has_database_privilege(current_database(), 'CREATE') AS db_create,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
            (SELECT trusted FROM pg_available_extension_versions v
               JOIN pg_available_extensions e ON e.name = v.name AND e.default_version = v.version
              WHERE v.name = 'vector') AS trusted`,
  );
  const canCreate = row.superuser || (row.trusted === true && row.db_create);
  return {
    create_tables: row.schema_create,
    create_extension_vector: vectorInstalled || canCreate,
  };
}

async function tableReport(
  client: pg.PoolClient,
  table: string,
  store: string,
): Promise<TableReport> {
  const found = await one<{ found: boolean }>(
    client,
    'SELECT to_regclass($1) IS NOT NULL AS found',
    [table],
  );
  const report: TableReport = { table, store, exists: found.found, rows_by_workspace: {} };
  if (!found.found) return report;
  const rows = await client.query(
    `SELECT workspace, count(*) AS n FROM ${table} GROUP BY workspace ORDER BY 1`,
  );
  for (const row of rows.rows) report.rows_by_workspace[String(row.workspace)] = row.n as number;
  if (store.startsWith('vdb_')) {
    const type = (await tableColumns(client, table)).get('content_vector')?.type ?? '';
    const dim = /\((\d+)\)/.exec(type)?.[1];
    if (dim) report.vector_dimension = Number(dim);
  }
  return report;
}

async function otherVectorTables(client: pg.PoolClient, known: TableReport[]): Promise<string[]> {
  const rows = await client.query(
    `SELECT tablename FROM pg_tables WHERE tablename LIKE 'lightrag\\_vdb\\_%' ORDER BY 1`,
  );
  const names = new Set(known.map((t) => t.table));
  return rows.rows.map((r) => r.tablename as string).filter((t) => !names.has(t));
}

function judge(report: DoctorReport, stores: StoreSet): void {
  const missing = report.tables.filter((t) => !t.exists);
  if (missing.length > 0 && !report.permissions?.create_tables) {
    report.problems.push(
      `Tables ${missing.map((t) => t.table).join(', ')} are missing and this role cannot ` +
        'create tables; create them as their owner or grant CREATE on the schema.',
    );
  } else if (missing.length > 0) {
    report.notes.push(`Start-up will create ${missing.length} missing table(s).`);
  }
  if (stores.vector) judgeVectors(report);
}

function judgeVectors(report: DoctorReport): void {
  if (report.pgvector.installed === null && report.pgvector.available === null) {
    report.problems.push(
      'PGVectorStorage is selected but the pgvector extension is not available on this server: ' +
        'use the pgvector/pgvector:pg17 image or install postgresql-NN-pgvector.',
    );
  } else if (report.pgvector.installed === null && !report.permissions?.create_extension_vector) {
    report.problems.push(
      'pgvector is available but not installed, and this role cannot install it: ' +
        'run CREATE EXTENSION vector as a superuser.',
    );
  }
  if (report.embedding_dim === null) return;
  for (const table of report.tables) {
    if (table.vector_dimension !== undefined && table.vector_dimension !== report.embedding_dim) {
      report.problems.push(
        `${table.table} holds ${table.vector_dimension}-dimension vectors but ` +
          `EMBEDDING_DIM=${report.embedding_dim}.`,
      );
    }
  }
}
