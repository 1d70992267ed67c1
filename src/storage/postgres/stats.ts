import type pg from 'pg';
import { errors } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { WorkspaceDetail } from '../types.ts';
import { documentStatuses } from './doc-status.ts';
import {
  COMMIT_TRIGGER_SQL,
  COUNTERS,
  counterCode,
  eligibleCondition,
  emptyCondition,
  EVENT_TRIGGERS,
  functionsSql,
  LATE_COLUMNS,
  PENDING_TABLE,
  quoteIdent,
  SOURCES_TABLE,
  STATS_TABLE,
  STATS_VERSION,
  tablesSql,
  TRIGGER_NAMES,
  type Counter,
} from './stats-sql.ts';
import { DOC_STATUS_TABLE, ENTITIES_TABLE } from './tables.ts';
import type { DescribeContext } from './workspaces.ts';

/**
 * Workspace statistics kept by PostgreSQL itself, so the workspace list never scans the
 * entity or relation tables.
 *
 * - `ragspace_workspace_stats` holds one row per workspace: entity, relation, doc-status,
 *   full-docs and chunk counts, every other row (`other_rows`: the registry, the other
 *   key-value and the vector tables, which only say that the workspace exists), and the
 *   newest change. A row exists exactly while some table holds a row of the workspace.
 * - Statement-level triggers with transition tables on every source table (ragspace's
 *   graph and registry, every `lightrag_*` table with a `workspace` column) write one
 *   delta per workspace and statement into the unlogged `ragspace_stats_pending`. A
 *   deferred constraint trigger adds a transaction's deltas to the statistics when it
 *   commits, in workspace order: the statistics row of a busy workspace is locked only
 *   for the commit, not from a writer's first statement on, and lock order cannot
 *   deadlock. It holds whoever writes: ragspace, a Python LightRAG, psql.
 * - TRUNCATE and DROP TABLE recount the counter involved; an event trigger (superuser
 *   only) attaches tables created later, and start-up attaches whatever it finds.
 *
 * `updated_at` is the newest stamp (`updated_at` / `update_time`) of a written row, or the
 * deleting transaction's time for a deletion (no row is left to date it). A rebuild can
 * only see rows, so it keeps the stored time when that is newer.
 *
 * Known limits (README, "Statistics on PostgreSQL"):
 * - each statement pays about 0.1 ms for its trigger (LightRAG's single-row upserts run
 *   at a third to a half of their bare speed; multi-row and COPY writes pay little);
 * - writers of one workspace queue for its row while they commit, and writers in
 *   REPEATABLE READ or SERIALIZABLE may then get serialization failures (LightRAG and
 *   ragspace write in READ COMMITTED);
 * - without a superuser there are no event triggers: a table another program creates
 *   while ragspace runs is counted from the next start-up (or `ragspace stats --rebuild`),
 *   and a table ragspace's role does not own cannot be attached at all (logged);
 * - writes with triggers disabled (`session_replication_role = replica`: pg_restore,
 *   logical replication) are not counted until `ragspace stats --rebuild`;
 * - an UPDATE that moves a row's stamp back in time leaves the newer kept time.
 */
const ISO_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const RACE_CODES = new Set(['42P07', '42710', '23505']);

/** One kept statistics row, with the counters as stored. */
export interface KeptStats {
  workspace: string;
  entity_count: number;
  relation_count: number;
  doc_status_count: number;
  full_docs_count: number;
  chunk_count: number;
  other_rows: number;
  document_count: number;
  updated_at: string | null;
}

export type Progress = (line: string) => void;

/**
 * The list's summary columns, for `workspaces.ts` (which names, filters and pages them):
 * `updated_at` to filter and sort by, `updated_iso` to show, `listed` for valid names.
 */
export function statsSummarySql(): string {
  return `SELECT workspace, entity_count, relation_count, document_count, chunk_count,
                 updated_at, updated_iso, listed FROM ${STATS_TABLE}`;
}

async function ddl(client: pg.ClientBase, sql: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === undefined || !RACE_CODES.has(code)) throw error;
  }
}

async function found(client: pg.ClientBase, sql: string, values: unknown[]): Promise<boolean> {
  return ((await client.query(sql, values)).rowCount ?? 0) > 0;
}

async function transaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function tableExists(client: pg.ClientBase, name: string): Promise<boolean> {
  const result = await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [name]);
  return result.rows[0].found === true;
}

async function currentSchema(client: pg.ClientBase): Promise<string> {
  return (await client.query('SELECT current_schema() AS s')).rows[0].s as string;
}

/**
 * Start-up, under the schema advisory lock: the tables, the functions (replaced only
 * when their version changed), the triggers on every source table, and the event
 * triggers when the role may create them. A statistics table created now is filled by
 * a rebuild; otherwise newly attached tables add their rows as they are attached.
 */
export async function ensureStats(client: pg.PoolClient, log: Logger): Promise<void> {
  const schema = await currentSchema(client);
  const created = !(await tableExists(client, STATS_TABLE));
  await ensureTables(client);
  await ensureCommitTrigger(client, await ensureFunctions(client, schema));
  await ensureEventTriggers(client, log);
  await attachMissing(client, schema, !created, log);
  await forgetDropped(client);
  if (created) await rebuildStats(client, { log });
}

async function ensureTables(client: pg.ClientBase): Promise<void> {
  for (const sql of tablesSql()) await ddl(client, sql);
  // Tables of an earlier ragspace: add what is missing (checked first, as ALTER TABLE
  // would lock the table even when there is nothing to do).
  for (const [table, column, definition] of LATE_COLUMNS) {
    const present = await found(
      client,
      `SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`,
      [table, column],
    );
    if (!present) await ddl(client, `ALTER TABLE ${table} ADD COLUMN ${definition}`);
  }
}

/** The deferred trigger applying pending deltas; made again when the functions changed. */
async function ensureCommitTrigger(client: pg.ClientBase, replaced: boolean): Promise<void> {
  if (replaced) {
    await client.query(`DROP TRIGGER IF EXISTS ragspace_stats_commit ON ${PENDING_TABLE}`);
  }
  const commit = await found(
    client,
    `SELECT 1 FROM pg_trigger WHERE tgname = 'ragspace_stats_commit' AND tgrelid = $1::regclass`,
    [PENDING_TABLE],
  );
  if (!commit) await ddl(client, COMMIT_TRIGGER_SQL);
}

/** Installs the functions unless this version is there; true when it (re)installed. */
async function ensureFunctions(client: pg.ClientBase, schema: string): Promise<boolean> {
  const current = await client.query(
    `SELECT obj_description(to_regprocedure('ragspace_stats_flush(bigint)'), 'pg_proc') AS v`,
  );
  if (current.rows[0].v === STATS_VERSION) return false;
  for (const sql of functionsSql(schema)) await client.query(sql);
  return true;
}

async function ensureEventTriggers(client: pg.ClientBase, log: Logger): Promise<void> {
  for (const [name, sql] of Object.entries(EVENT_TRIGGERS)) {
    if (await found(client, 'SELECT 1 FROM pg_event_trigger WHERE evtname = $1', [name])) continue;
    try {
      await ddl(client, sql);
    } catch (error) {
      // Only superusers may create event triggers: tables created by other programs
      // while ragspace runs are then attached at its next start-up.
      log.warn('postgres.stats_no_event_trigger', { trigger: name, reason: messageOf(error) });
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Source tables lacking a trigger or their `ragspace_stats_sources` row. */
async function unattached(client: pg.ClientBase, schema: string) {
  const result = await client.query(
    `SELECT c.oid, c.relname FROM pg_class c
      WHERE ${eligibleCondition(schema)}
        AND ((SELECT count(*) FROM pg_trigger t
               WHERE t.tgrelid = c.oid AND t.tgname::text = ANY ($1)) < $2
             OR NOT EXISTS (SELECT 1 FROM ${SOURCES_TABLE} s
                             WHERE s.schema_name = $3 AND s.table_name = c.relname))
      ORDER BY c.relname`,
    [TRIGGER_NAMES, TRIGGER_NAMES.length, schema],
  );
  return result.rows as { oid: number; relname: string }[];
}

/** Attaches each table in a transaction of its own, so at most one table is locked. */
async function attachMissing(
  client: pg.ClientBase,
  schema: string,
  backfill: boolean,
  log: Logger,
): Promise<void> {
  for (const table of await unattached(client, schema)) {
    try {
      await transaction(client, () =>
        client.query('SELECT ragspace_stats_attach($1, $2)', [table.oid, backfill]),
      );
      log.info('postgres.stats_attached', { table: table.relname });
    } catch (error) {
      // Not the owner of another program's table: its rows are not counted (logged).
      log.warn('postgres.stats_not_attached', { table: table.relname, reason: messageOf(error) });
    }
  }
}

/** Sources dropped while no event trigger watched: recount what they fed. */
async function forgetDropped(client: pg.ClientBase): Promise<void> {
  const gone = await client.query(
    `SELECT DISTINCT counter FROM ${SOURCES_TABLE}
      WHERE to_regclass(format('%I.%I', schema_name, table_name)) IS NULL`,
  );
  if (gone.rowCount === 0) return;
  await transaction(client, async () => {
    await client.query(
      `DELETE FROM ${SOURCES_TABLE}
        WHERE to_regclass(format('%I.%I', schema_name, table_name)) IS NULL`,
    );
    for (const row of gone.rows) {
      await client.query('SELECT ragspace_stats_recount($1::smallint)', [row.counter]);
    }
  });
}

/** The kept statistics of one workspace, or of all, by workspace. */
export async function keptStats(client: pg.ClientBase, ws?: string): Promise<KeptStats[]> {
  const result = await client.query(
    `SELECT workspace, ${COUNTERS.join(', ')}, document_count,
            to_char(updated_at, ${ISO_FORMAT}) AS updated_at
       FROM ${STATS_TABLE} ${ws === undefined ? '' : 'WHERE workspace = $1'}
      ORDER BY workspace`,
    ws === undefined ? [] : [ws],
  );
  return result.rows.map(toKept);
}

function toKept(row: Record<string, unknown>): KeptStats {
  const kept = { workspace: row.workspace as string } as KeptStats;
  for (const counter of [...COUNTERS, 'document_count' as const]) {
    kept[counter] = Number(row[counter]);
  }
  kept.updated_at = (row.updated_at as string | null) ?? null;
  return kept;
}

interface Source {
  table: string;
  counter: number;
  stamp: string | null;
}

async function sources(client: pg.ClientBase): Promise<Source[]> {
  const result = await client.query(
    `SELECT table_name, counter, stamp FROM ${SOURCES_TABLE}
      WHERE schema_name = current_schema()
        AND to_regclass(format('%I.%I', schema_name, table_name)) IS NOT NULL
      ORDER BY table_name`,
  );
  return result.rows.map((r) => ({
    table: r.table_name as string,
    counter: Number(r.counter),
    stamp: r.stamp as string | null,
  }));
}

const FRESH = 'ragspace_stats_fresh';

/** Counts every source table from scratch into a temporary table, one line per table. */
async function countSources(client: pg.ClientBase, ws: string | undefined, progress: Progress) {
  await client.query(
    `CREATE TEMP TABLE ${FRESH} (workspace TEXT, counter SMALLINT, n BIGINT, stamp TIMESTAMP)
     ON COMMIT DROP`,
  );
  for (const source of await sources(client)) {
    const started = performance.now();
    const stamp = source.stamp ? quoteIdent(source.stamp) : 'NULL::timestamp';
    const filter = ws === undefined ? '' : 'AND workspace = $1';
    const result = await client.query(
      `WITH ins AS (
         INSERT INTO ${FRESH} SELECT workspace, ${source.counter}, count(*), max(${stamp})
           FROM ${quoteIdent(source.table)} WHERE workspace IS NOT NULL ${filter}
          GROUP BY workspace RETURNING n)
       SELECT count(*) AS workspaces, COALESCE(sum(n), 0) AS n FROM ins`,
      ws === undefined ? [] : [ws],
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const { workspaces, n } = result.rows[0];
    progress(
      `${source.table}: ${Number(n)} rows in ${Number(workspaces)} workspaces, ${seconds} s`,
    );
  }
}

function freshSql(): string {
  const sums = COUNTERS.map(
    (c, i) => `COALESCE(sum(n) FILTER (WHERE counter = ${i + 1}), 0) AS ${c}`,
  );
  return `SELECT workspace, ${sums.join(', ')},
                 date_trunc('milliseconds', max(stamp)) AS updated_at
            FROM ${FRESH} GROUP BY workspace`;
}

/**
 * Statistics computed from the tables alone (nothing stored or changed): what a rebuild
 * finds, before it keeps a newer stored `updated_at`. For checks and tests.
 */
export async function freshStats(client: pg.ClientBase, ws?: string): Promise<KeptStats[]> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    await countSources(client, ws, () => undefined);
    const result = await client.query(
      `SELECT workspace, ${COUNTERS.join(', ')},
              CASE WHEN doc_status_count > 0 THEN doc_status_count
                   ELSE full_docs_count END AS document_count,
              to_char(updated_at, ${ISO_FORMAT}) AS updated_at
         FROM (${freshSql()}) f WHERE NOT (${emptyCondition()})
        ORDER BY workspace`,
    );
    return result.rows.map(toKept);
  } finally {
    await client.query('ROLLBACK');
  }
}

export interface RebuildOptions {
  /** The `workspace` column value to rebuild; all workspaces when absent. */
  workspace?: string;
  progress?: Progress;
  log?: Logger;
}

export interface StatsChange {
  workspace: string;
  before: KeptStats | null;
  after: KeptStats | null;
}

export interface RebuildReport {
  workspaces: number;
  changed: StatsChange[];
  seconds: number;
}

/**
 * Holds back commits that would change what is about to be counted. Returns whether it
 * made a row only to lock it (the workspace had none).
 */
async function lockScope(client: pg.ClientBase, ws: string | undefined): Promise<boolean> {
  if (ws === undefined) {
    // EXCLUSIVE still lets the list read; writers wait at commit (their flush).
    await client.query(`LOCK TABLE ${STATS_TABLE} IN EXCLUSIVE MODE`);
    return false;
  }
  // A row to lock, even for a workspace without one: its writers' flush waits for it.
  const made = await client.query(
    `INSERT INTO ${STATS_TABLE} (workspace) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1`,
    [ws],
  );
  await client.query(`SELECT 1 FROM ${STATS_TABLE} WHERE workspace = $1 FOR UPDATE`, [ws]);
  return made.rowCount === 1;
}

async function storeFresh(client: pg.ClientBase, ws: string | undefined): Promise<void> {
  const sets = COUNTERS.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  await client.query(
    `INSERT INTO ${STATS_TABLE} AS s (workspace, ${COUNTERS.join(', ')}, updated_at)
     SELECT workspace, ${COUNTERS.join(', ')}, updated_at FROM (${freshSql()}) f
     ON CONFLICT (workspace) DO UPDATE SET ${sets},
       updated_at = GREATEST(s.updated_at, EXCLUDED.updated_at)`,
  );
  const scope = ws === undefined ? '' : 'AND workspace = $1';
  await client.query(
    `DELETE FROM ${STATS_TABLE} s
      WHERE NOT EXISTS (SELECT 1 FROM ${FRESH} f WHERE f.workspace = s.workspace) ${scope}`,
    ws === undefined ? [] : [ws],
  );
}

function differences(before: KeptStats[], after: KeptStats[]): StatsChange[] {
  const old = new Map(before.map((s) => [s.workspace, s]));
  const changes: StatsChange[] = [];
  for (const now of after) {
    const was = old.get(now.workspace) ?? null;
    old.delete(now.workspace);
    if (!was || JSON.stringify(was) !== JSON.stringify(now)) {
      changes.push({ workspace: now.workspace, before: was, after: now });
    }
  }
  for (const was of old.values())
    changes.push({ workspace: was.workspace, before: was, after: null });
  return changes;
}

/**
 * Recomputes the statistics from the tables in one transaction (all workspaces, or one),
 * reporting each table counted and every workspace whose statistics changed.
 */
export async function rebuildStats(
  client: pg.ClientBase,
  options: RebuildOptions = {},
): Promise<RebuildReport> {
  const progress = options.progress ?? (() => undefined);
  const ws = options.workspace;
  const started = performance.now();
  const report = await transaction(client, async () => {
    // A row made only to lock it was not kept before.
    const placeholder = await lockScope(client, ws);
    const before = placeholder ? [] : await keptStats(client, ws);
    await countSources(client, ws, progress);
    await storeFresh(client, ws);
    const after = await keptStats(client, ws);
    return { workspaces: after.length, changed: differences(before, after), seconds: 0 };
  });
  report.seconds = (performance.now() - started) / 1000;
  options.log?.info('postgres.stats_rebuilt', {
    workspace: ws ?? '*',
    workspaces: report.workspaces,
    changed: report.changed.length,
  });
  return report;
}

/** The store name of a table: the configured stores' names, else the table's own name. */
function storeName(ctx: DescribeContext, table: string): string | undefined {
  return ctx.tables.find((t) => t.table === table)?.store;
}

const COUNTER_OF_CODE = (code: number): Counter => COUNTERS[code - 1]!;

async function tableRows(ctx: DescribeContext, kept: KeptStats, source: Source): Promise<number> {
  if (source.counter !== counterCode('other_rows')) return kept[COUNTER_OF_CODE(source.counter)];
  const result = await ctx.client.query(
    `SELECT count(*) AS n FROM ${quoteIdent(source.table)} WHERE workspace = $1`,
    [ctx.ws],
  );
  return Number(result.rows[0].n);
}

async function vectorDimension(client: pg.ClientBase, table: string, ws: string) {
  const typmod = await client.query(
    `SELECT atttypmod AS d FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attname = 'content_vector' AND NOT attisdropped`,
    [quoteIdent(table)],
  );
  const declared = Number(typmod.rows[0]?.d ?? -1);
  if (declared > 0) return declared;
  const stored = await client.query(
    `SELECT vector_dims(content_vector) AS d FROM ${quoteIdent(table)}
      WHERE workspace = $1 AND content_vector IS NOT NULL LIMIT 1`,
    [ws],
  );
  return stored.rows[0]?.d as number | undefined;
}

async function entityTypes(client: pg.ClientBase, ws: string): Promise<Record<string, number>> {
  const result = await client.query(
    `SELECT COALESCE(entity_type, '') AS type, count(*) AS n FROM ${ENTITIES_TABLE}
      WHERE workspace = $1 GROUP BY 1 ORDER BY 1`,
    [ws],
  );
  return Object.fromEntries(result.rows.map((r) => [r.type as string, Number(r.n)]));
}

/** Row counts per store and the table behind each; other programs' tables when non-empty. */
async function describeStores(ctx: DescribeContext, kept: KeptStats, detail: WorkspaceDetail) {
  const tables: Record<string, string> = {};
  const dimensions: Record<string, number> = {};
  for (const source of await sources(ctx.client)) {
    const rows = await tableRows(ctx, kept, source);
    const store = storeName(ctx, source.table) ?? (rows > 0 ? source.table : undefined);
    if (store === undefined) continue;
    detail.stores[store] = rows;
    tables[store] = source.table;
    if (rows === 0 || !source.table.startsWith('lightrag_vdb_')) continue;
    const dim = await vectorDimension(ctx.client, source.table, ctx.ws);
    if (dim !== undefined) dimensions[store] = dim;
  }
  detail.tables = tables;
  detail.vector_dimensions = dimensions;
}

/**
 * `GET /api/workspaces/{name}`: the list's row (so both always agree), row counts and
 * table per store, vector dimensions, the entity-type histogram and documents per status.
 * Only the list's five counts are kept: the other stores' rows, the histogram and the
 * statuses are counted now, by index scans of this workspace (about 60 ms for a workspace
 * of 200,000 entities in the benchmark).
 */
export async function describeWithStats(ctx: DescribeContext): Promise<WorkspaceDetail> {
  const [kept] = await keptStats(ctx.client, ctx.ws);
  if (!kept) throw errors.workspaceNotFound(ctx.name);
  const detail: WorkspaceDetail = {
    name: ctx.name,
    entity_count: kept.entity_count,
    relation_count: kept.relation_count,
    document_count: kept.document_count,
    chunk_count: kept.chunk_count,
    updated_at: kept.updated_at,
    location: ctx.location,
    stores: {},
    errors: [],
    warnings: [],
  };
  await describeStores(ctx, kept, detail);
  const attached = new Set(Object.values(detail.tables ?? {}));
  if (attached.has(ENTITIES_TABLE)) detail.entity_types = await entityTypes(ctx.client, ctx.ws);
  if (attached.has(DOC_STATUS_TABLE)) {
    detail.document_statuses = await documentStatuses(ctx.client, ctx.ws);
  }
  return detail;
}
