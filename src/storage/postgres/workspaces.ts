import type pg from 'pg';
import { errors } from '../../errors.ts';
import { decodeCursor, encodeCursor, workspacePage } from '../../workspace/query.ts';
import type { WorkspaceDetail, WorkspacePage, WorkspaceQuery, WorkspaceSummary } from '../types.ts';
import { documentStatuses } from './doc-status.ts';
import type { SchemaState, StoreSet } from './schema.ts';
import {
  DOC_STATUS_TABLE,
  ENTITIES_TABLE,
  KV_TABLES,
  RELATIONS_TABLE,
  WORKSPACES_TABLE,
} from './tables.ts';

/**
 * The workspace list and details on PostgreSQL, with the same contract as the file
 * backend (`applyWorkspaceQuery` in src/workspace/query.ts): the same filters, order
 * (sort key, then name), cursor and `count`, here computed in SQL. Counting lives in
 * `summarySql` alone, so maintained statistics can replace the GROUP BY scans later.
 */
type Role = 'entities' | 'relations' | 'documents' | 'full_docs' | 'chunks' | 'other' | 'registry';

interface CountedTable {
  /** Store name in `describe` output, as the file backend names its files' stores. */
  store: string;
  table: string;
  stamp: string;
  role: Role;
}

export interface Naming {
  /** `workspace` column value -> workspace name (POSTGRES_WORKSPACE is an alias). */
  alias: { column: string; name: string } | undefined;
}

const KV_ROLES: Partial<Record<string, Role>> = { full_docs: 'full_docs', text_chunks: 'chunks' };

const counted = (store: string, table: string, stamp: string, role: Role): CountedTable => ({
  store,
  table,
  stamp,
  role,
});

/** The tables of the stores kept here, each with what its rows count towards. */
export function countedTables(stores: StoreSet, schema: SchemaState): CountedTable[] {
  const tables = [counted('workspace', WORKSPACES_TABLE, 'updated_at', 'registry')];
  if (stores.graph) {
    tables.push(counted('graph', ENTITIES_TABLE, 'updated_at', 'entities'));
    tables.push(counted('relations', RELATIONS_TABLE, 'updated_at', 'relations'));
  }
  if (stores.kv) {
    for (const [store, table] of Object.entries(KV_TABLES)) {
      tables.push(counted(store, table, 'update_time', KV_ROLES[store] ?? 'other'));
    }
  }
  if (stores.docStatus) {
    tables.push(counted('doc_status', DOC_STATUS_TABLE, 'updated_at', 'documents'));
  }
  for (const [namespace, found] of Object.entries(schema.vectorTables)) {
    tables.push(counted(`vdb_${namespace}`, found.table, 'update_time', 'other'));
  }
  return tables;
}

function countOf(tables: CountedTable[], role: Role): string {
  const index = tables.findIndex((t) => t.role === role);
  return index < 0 ? 'NULL::bigint' : `c${index}.n`;
}

/**
 * One row per workspace column value: (workspace, entity_count, relation_count,
 * document_count, chunk_count, updated_at as naive UTC truncated to milliseconds).
 */
export function summarySql(tables: CountedTable[]): string {
  if (tables.length === 0) {
    return `SELECT NULL::text AS workspace, 0::bigint AS entity_count, 0::bigint AS relation_count,
            0::bigint AS document_count, 0::bigint AS chunk_count,
            NULL::timestamp AS updated_at WHERE false`;
  }
  const counts = tables.map(
    (t, i) => `c${i} AS (SELECT workspace, count(*) AS n, max(${t.stamp}) AS u
                         FROM ${t.table} GROUP BY workspace)`,
  );
  const names = tables.map((_, i) => `SELECT workspace FROM c${i}`).join(' UNION ');
  const joins = tables.map((_, i) => `LEFT JOIN c${i} ON c${i}.workspace = n.workspace`);
  const stamps = tables.map((_, i) => `c${i}.u`).join(', ');
  return `WITH ${counts.join(',\n')}, n AS (${names})
    SELECT n.workspace,
           COALESCE(${countOf(tables, 'entities')}, 0) AS entity_count,
           COALESCE(${countOf(tables, 'relations')}, 0) AS relation_count,
           COALESCE(${countOf(tables, 'documents')}, ${countOf(tables, 'full_docs')}, 0)
             AS document_count,
           COALESCE(${countOf(tables, 'chunks')}, 0) AS chunk_count,
           date_trunc('milliseconds', GREATEST(${stamps})) AS updated_at
      FROM n ${joins.join(' ')}`;
}

const NAME_RULE = '^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$';
const ISO_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const SORT_COLUMNS: Record<WorkspaceQuery['sort'], string> = {
  name: 'name',
  entity_count: 'entity_count',
  relation_count: 'relation_count',
  updated_at: 'updated_at',
};

class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function filters(query: WorkspaceQuery, p: Params): string[] {
  const where = [`name ~ '${NAME_RULE}'`];
  if (query.q) where.push(`strpos(lower(name), ${p.add(query.q.toLowerCase())}) > 0`);
  if (query.prefix) where.push(`starts_with(name, ${p.add(query.prefix)})`);
  if (query.minEntities !== undefined) where.push(`entity_count >= ${p.add(query.minEntities)}`);
  if (query.maxEntities !== undefined) where.push(`entity_count <= ${p.add(query.maxEntities)}`);
  if (query.minRelations !== undefined)
    where.push(`relation_count >= ${p.add(query.minRelations)}`);
  if (query.maxRelations !== undefined)
    where.push(`relation_count <= ${p.add(query.maxRelations)}`);
  if (query.hasDocuments !== undefined) {
    where.push(`(document_count > 0) = ${p.add(query.hasDocuments)}`);
  }
  if (query.updatedSince) {
    where.push(`updated_at >= timezone('UTC', ${p.add(query.updatedSince)}::timestamptz)`);
  }
  return where;
}

function cursorValue(query: WorkspaceQuery, value: unknown, p: Params): string {
  if (query.sort === 'updated_at') return `timezone('UTC', ${p.add(value)}::timestamptz)`;
  if (query.sort === 'name') return `${p.add(value)}::text`;
  return `${p.add(value)}::bigint`;
}

/** Rows that come after the cursor's row in the list's order. */
function afterCursor(query: WorkspaceQuery, p: Params): string {
  const state = decodeCursor(query.cursor!, query);
  const name = p.add(state.name);
  if (query.sort === 'name') return query.descending ? `name < ${name}` : `name > ${name}`;
  const key = SORT_COLUMNS[query.sort];
  const later = `name > ${name}`;
  if (state.value === null) {
    return query.descending ? `(${key} IS NULL AND ${later})` : `(${key} IS NOT NULL OR ${later})`;
  }
  const v = cursorValue(query, state.value, p);
  const tie = `(${key} = ${v} AND ${later})`;
  return query.descending
    ? `(${key} < ${v} OR ${key} IS NULL OR ${tie})`
    : `(${key} > ${v} OR ${tie})`;
}

/** Sort key (nulls first ascending, last descending, as the file backend), then name. */
function orderBy(query: WorkspaceQuery, table = ''): string {
  const key = table + SORT_COLUMNS[query.sort];
  if (query.sort === 'name') return `${key} ${query.descending ? 'DESC' : 'ASC'}`;
  const direction = query.descending ? 'DESC NULLS LAST' : 'ASC NULLS FIRST';
  return `${key} ${direction}, ${table}name`;
}

function namedSummaries(tables: CountedTable[], naming: Naming, p: Params): string {
  const alias = naming.alias;
  const name = alias
    ? `CASE WHEN workspace = ${p.add(alias.column)} THEN ${p.add(alias.name)} ELSE workspace END`
    : 'workspace';
  return `SELECT (${name}) COLLATE "C" AS name, entity_count, relation_count, document_count,
                 chunk_count, updated_at FROM (${summarySql(tables)}) s`;
}

function listSql(tables: CountedTable[], naming: Naming, query: WorkspaceQuery, p: Params) {
  const summaries = namedSummaries(tables, naming, p);
  const where = filters(query, p);
  const page = query.cursor ? `WHERE ${afterCursor(query, p)}` : '';
  const limit = p.add(query.limit + 1);
  const offset = query.cursor ? '0' : p.add(query.offset);
  return `WITH s AS (${summaries}), f AS (SELECT * FROM s WHERE ${where.join(' AND ')}),
          page AS (SELECT * FROM f ${page} ORDER BY ${orderBy(query)}
                   LIMIT ${limit} OFFSET ${offset})
    SELECT t.total, page.name, page.entity_count, page.relation_count, page.document_count,
           page.chunk_count, to_char(page.updated_at, ${ISO_FORMAT}) AS updated_at
      FROM (SELECT count(*) AS total FROM f) t LEFT JOIN page ON true
     ORDER BY ${orderBy(query, 'page.')}`;
}

function toSummary(row: Record<string, unknown>): WorkspaceSummary {
  return {
    name: row.name as string,
    entity_count: row.entity_count as number,
    relation_count: row.relation_count as number,
    document_count: row.document_count as number,
    chunk_count: row.chunk_count as number,
    updated_at: (row.updated_at as string | null) ?? null,
  };
}

export async function listWorkspaces(
  client: pg.ClientBase,
  tables: CountedTable[],
  naming: Naming,
  query: WorkspaceQuery,
): Promise<WorkspacePage> {
  const p = new Params();
  const result = await client.query(listSql(tables, naming, query, p), p.values);
  const rows = result.rows.filter((r) => r.name !== null);
  const page = rows.slice(0, query.limit).map(toSummary);
  const last = page[page.length - 1];
  const more = rows.length > query.limit;
  const count = (result.rows[0]?.total as number) ?? 0;
  return workspacePage(page, count, more && last ? encodeCursor(last, query) : null);
}

export async function workspaceExists(
  client: pg.ClientBase,
  tables: CountedTable[],
  ws: string,
): Promise<boolean> {
  if (tables.length === 0) return false;
  const checks = tables.map((t) => `EXISTS (SELECT 1 FROM ${t.table} WHERE workspace = $1)`);
  const result = await client.query(`SELECT ${checks.join(' OR ')} AS found`, [ws]);
  return result.rows[0].found === true;
}

interface TableFacts {
  rows: number;
  updated: string | null;
}

async function tableFacts(client: pg.ClientBase, table: CountedTable, ws: string) {
  const result = await client.query(
    `SELECT count(*) AS rows,
            to_char(date_trunc('milliseconds', max(${table.stamp})), ${ISO_FORMAT}) AS updated
       FROM ${table.table} WHERE workspace = $1`,
    [ws],
  );
  return result.rows[0] as TableFacts;
}

function summaryFrom(name: string, facts: Map<CountedTable, TableFacts>): WorkspaceSummary {
  const byRole = (role: Role) => [...facts].find(([t]) => t.role === role)?.[1].rows;
  const documents = byRole('documents');
  const stamps = [...facts.values()].map((f) => f.updated).filter((u): u is string => !!u);
  return {
    name,
    entity_count: byRole('entities') ?? 0,
    relation_count: byRole('relations') ?? 0,
    document_count: documents ? documents : (byRole('full_docs') ?? 0),
    chunk_count: byRole('chunks') ?? 0,
    updated_at: stamps.length ? stamps.sort().at(-1)! : null,
  };
}

export interface DescribeContext {
  client: pg.ClientBase;
  tables: CountedTable[];
  ws: string;
  name: string;
  location: string;
}

export async function describeWorkspace(ctx: DescribeContext): Promise<WorkspaceDetail> {
  const facts = new Map<CountedTable, TableFacts>();
  for (const table of ctx.tables) facts.set(table, await tableFacts(ctx.client, table, ctx.ws));
  if (![...facts.values()].some((f) => f.rows > 0)) throw errors.workspaceNotFound(ctx.name);
  const detail: WorkspaceDetail = {
    ...summaryFrom(ctx.name, facts),
    location: ctx.location,
    stores: Object.fromEntries([...facts].map(([t, f]) => [t.store, f.rows])),
    errors: [],
    warnings: [],
  };
  await addStoreDetails(ctx, detail);
  return detail;
}

async function addStoreDetails(ctx: DescribeContext, detail: WorkspaceDetail): Promise<void> {
  const has = (role: Role) => ctx.tables.some((t) => t.role === role);
  if (has('entities')) detail.entity_types = await entityTypes(ctx.client, ctx.ws);
  if (has('documents')) detail.document_statuses = await documentStatuses(ctx.client, ctx.ws);
  const dimensions: Record<string, number> = {};
  for (const table of ctx.tables.filter((t) => t.store.startsWith('vdb_'))) {
    const dim = await storedDimension(ctx.client, table.table, ctx.ws);
    if (dim !== undefined) dimensions[table.store] = dim;
  }
  detail.vector_dimensions = dimensions;
}

async function entityTypes(client: pg.ClientBase, ws: string): Promise<Record<string, number>> {
  const result = await client.query(
    `SELECT COALESCE(entity_type, '') AS type, count(*) AS n FROM ${ENTITIES_TABLE}
      WHERE workspace = $1 GROUP BY 1 ORDER BY 1`,
    [ws],
  );
  return Object.fromEntries(result.rows.map((r) => [r.type as string, r.n as number]));
}

async function storedDimension(client: pg.ClientBase, table: string, ws: string) {
  const result = await client.query(
    `SELECT vector_dims(content_vector) AS dim FROM ${table}
      WHERE workspace = $1 AND content_vector IS NOT NULL LIMIT 1`,
    [ws],
  );
  return result.rows[0]?.dim as number | undefined;
}
