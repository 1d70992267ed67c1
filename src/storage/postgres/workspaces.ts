import type pg from 'pg';
import { decodeCursor, encodeCursor, workspacePage } from '../../workspace/query.ts';
import type { WorkspacePage, WorkspaceQuery, WorkspaceSummary } from '../types.ts';
import type { SchemaState, StoreSet } from './schema.ts';
import { describeWithStats, statsSummarySql } from './stats.ts';
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
 * (sort key, then name), cursor and `count`, here computed in SQL over the statistics
 * PostgreSQL maintains (stats.ts), so listing never scans the entity or relation tables.
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
  // `listed`: the name passes the workspace-name rule (stored, so no regex per request).
  const where = ['listed'];
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

function namedSummaries(naming: Naming, p: Params): string {
  const alias = naming.alias;
  const name = alias
    ? `CASE WHEN workspace = ${p.add(alias.column)} THEN ${p.add(alias.name)} ELSE workspace END`
    : 'workspace';
  return `SELECT (${name}) COLLATE "C" AS name, entity_count, relation_count, document_count,
                 chunk_count, updated_at, updated_iso, listed FROM (${statsSummarySql()}) s`;
}

/**
 * One scan and one sort: `total` counts every match (a window over the filtered rows,
 * taken before the cursor's condition), then the page is sorted and cut. A page past the
 * end has no row to carry `total`, so `countSql` counts those few cases apart.
 */
function listSql(naming: Naming, query: WorkspaceQuery, p: Params) {
  const summaries = namedSummaries(naming, p);
  const where = filters(query, p);
  const page = query.cursor ? `WHERE ${afterCursor(query, p)}` : '';
  const limit = p.add(query.limit + 1);
  const offset = query.cursor ? '0' : p.add(query.offset);
  return `SELECT total, name, entity_count, relation_count, document_count, chunk_count,
                 updated_iso AS updated_at
            FROM (SELECT s.*, count(*) OVER () AS total FROM (${summaries}) s
                   WHERE ${where.join(' AND ')}) f ${page}
           ORDER BY ${orderBy(query)} LIMIT ${limit} OFFSET ${offset}`;
}

function countSql(naming: Naming, query: WorkspaceQuery, p: Params) {
  const summaries = namedSummaries(naming, p);
  return `SELECT count(*) AS total FROM (${summaries}) s WHERE ${filters(query, p).join(' AND ')}`;
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
  naming: Naming,
  query: WorkspaceQuery,
): Promise<WorkspacePage> {
  const p = new Params();
  const rows = (await client.query(listSql(naming, query, p), p.values)).rows;
  const page = rows.slice(0, query.limit).map(toSummary);
  const last = page[page.length - 1];
  const more = rows.length > query.limit;
  const counted = new Params();
  const count = rows[0]
    ? (rows[0].total as number)
    : ((await client.query(countSql(naming, query, counted), counted.values)).rows[0]
        .total as number);
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

export interface DescribeContext {
  client: pg.ClientBase;
  tables: CountedTable[];
  ws: string;
  name: string;
  location: string;
}

/** Answered from the maintained statistics (stats.ts), so it always agrees with the list. */
export const describeWorkspace = describeWithStats;
