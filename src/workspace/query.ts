import { errors } from '../errors.ts';
import type {
  WorkspacePage,
  WorkspaceQuery,
  WorkspaceSortKey,
  WorkspaceSummary,
} from '../storage/types.ts';

/**
 * The workspace-list query: parsed once from HTTP or CLI parameters, then answered by a
 * backend (PostgreSQL in SQL, files in memory with `applyWorkspaceQuery`). Results are
 * ordered by the sort key, then by name, so pages and cursors are stable. A page carries
 * `next_cursor` only when another page follows (`clientPage` makes sure of it), so an
 * empty list is exactly `{"workspaces": [], "count": 0}`.
 */
const SORT_KEYS: WorkspaceSortKey[] = ['name', 'entity_count', 'relation_count', 'updated_at'];
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

type Params = Record<string, string | undefined>;

function integer(params: Params, name: string, min: number, max: number): number | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  // Digits only: Number() would also take "1e2", "0x10" or " 5 ", which nobody means.
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw errors.badRequest(
      `Query parameter ${name}=${raw} must be a whole number from ${min} to ${max}.`,
    );
  }
  return value;
}

function boolean(params: Params, name: string): boolean | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw errors.badRequest(`Query parameter ${name}=${raw} must be true or false.`);
}

function timestamp(params: Params, name: string): string | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  const parsed = Date.parse(raw);
  if (Number.isNaN(parsed)) {
    throw errors.badRequest(`Query parameter ${name}=${raw} must be an ISO-8601 date or time.`);
  }
  return new Date(parsed).toISOString();
}

function sortOrder(raw: string | undefined): { sort: WorkspaceSortKey; descending: boolean } {
  const value = raw || 'name';
  const descending = value.startsWith('-');
  const key = (descending ? value.slice(1) : value) as WorkspaceSortKey;
  if (!SORT_KEYS.includes(key)) {
    throw errors.badRequest(
      `Query parameter sort=${value} is not supported; ` +
        `use ${SORT_KEYS.join(', ')} (prefix "-" for descending).`,
    );
  }
  return { sort: key, descending };
}

export function parseWorkspaceQuery(params: Params): WorkspaceQuery {
  return {
    q: params.q || undefined,
    prefix: params.prefix || undefined,
    minEntities: integer(params, 'min_entities', 0, Number.MAX_SAFE_INTEGER),
    maxEntities: integer(params, 'max_entities', 0, Number.MAX_SAFE_INTEGER),
    minRelations: integer(params, 'min_relations', 0, Number.MAX_SAFE_INTEGER),
    maxRelations: integer(params, 'max_relations', 0, Number.MAX_SAFE_INTEGER),
    hasDocuments: boolean(params, 'has_documents'),
    updatedSince: timestamp(params, 'updated_since'),
    ...sortOrder(params.sort),
    limit: integer(params, 'limit', 0, MAX_LIMIT) ?? DEFAULT_LIMIT,
    offset: integer(params, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
    cursor: params.cursor || undefined,
  };
}

export function matchesQuery(ws: WorkspaceSummary, query: WorkspaceQuery): boolean {
  if (query.q && !ws.name.toLowerCase().includes(query.q.toLowerCase())) return false;
  if (query.prefix && !ws.name.startsWith(query.prefix)) return false;
  if (query.minEntities !== undefined && ws.entity_count < query.minEntities) return false;
  if (query.maxEntities !== undefined && ws.entity_count > query.maxEntities) return false;
  if (query.minRelations !== undefined && ws.relation_count < query.minRelations) return false;
  if (query.maxRelations !== undefined && ws.relation_count > query.maxRelations) return false;
  if (query.hasDocuments !== undefined && query.hasDocuments !== ws.document_count > 0) {
    return false;
  }
  if (query.updatedSince && (ws.updated_at === null || ws.updated_at < query.updatedSince)) {
    return false;
  }
  return true;
}

type SortValue = string | number | null;

function sortValue(ws: WorkspaceSummary, key: WorkspaceSortKey): SortValue {
  return ws[key];
}

function compareValues(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

export function compareWorkspaces(query: WorkspaceQuery) {
  return (a: WorkspaceSummary, b: WorkspaceSummary): number => {
    const primary = compareValues(sortValue(a, query.sort), sortValue(b, query.sort));
    const ordered = query.descending ? -primary : primary;
    return ordered !== 0 ? ordered : compareValues(a.name, b.name);
  };
}

interface CursorState {
  value: SortValue;
  name: string;
  sort: string;
}

export function encodeCursor(ws: WorkspaceSummary, query: WorkspaceQuery): string {
  const state: CursorState = {
    value: sortValue(ws, query.sort),
    name: ws.name,
    sort: (query.descending ? '-' : '') + query.sort,
  };
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodeCursor(cursor: string, query: WorkspaceQuery): CursorState {
  const sort = (query.descending ? '-' : '') + query.sort;
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorState;
    if (state.sort === sort && typeof state.name === 'string') return state;
  } catch {
    // Fall through to the same error as a cursor for another sort order.
  }
  throw errors.badRequest(
    `The cursor is not valid for sort=${sort}; start again without a cursor.`,
  );
}

let answered = 0;

/**
 * How many in-memory listings have been answered. The file backend's statistics cache
 * uses it to know that a listing ended, so the next one looks for fresh changes again.
 */
export function listingsAnswered(): number {
  return answered;
}

/** Filters, sorts and pages an in-memory list, as the SQL backends do in the database. */
export function applyWorkspaceQuery(all: WorkspaceSummary[], query: WorkspaceQuery): WorkspacePage {
  answered++;
  const compare = compareWorkspaces(query);
  const matching = all.filter((ws) => matchesQuery(ws, query)).sort(compare);
  let start = query.offset;
  if (query.cursor) {
    const state = decodeCursor(query.cursor, query);
    const marker = {
      ...matching[0],
      name: state.name,
      [query.sort]: state.value,
    } as WorkspaceSummary;
    start = matching.findIndex((ws) => compare(ws, marker) > 0);
    if (start < 0) start = matching.length;
  }
  const page = matching.slice(start, start + query.limit);
  const last = page[page.length - 1];
  const more = start + page.length < matching.length;
  const nextCursor = more && last ? encodeCursor(last, query) : null;
  return workspacePage(page, matching.length, nextCursor);
}

/** A page in the one shape every backend answers with: no `next_cursor` on the last page. */
export function workspacePage(
  workspaces: WorkspaceSummary[],
  count: number,
  nextCursor: string | null | undefined,
): WorkspacePage {
  return nextCursor ? { workspaces, count, next_cursor: nextCursor } : { workspaces, count };
}

/** Normalises a backend's page for HTTP and CLI output (drops a null `next_cursor`). */
export function clientPage(page: WorkspacePage): WorkspacePage {
  const { next_cursor: nextCursor, ...rest } = page;
  return nextCursor ? page : rest;
}
