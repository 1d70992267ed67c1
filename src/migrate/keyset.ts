import type { Logger } from '../log.ts';
import { withClient, type TargetDb } from './target.ts';

/**
 * A workspace's rows in key order, one page per short statement (keyset pagination: each
 * page starts after the last key seen, so it costs an index range scan however deep it
 * goes, and no transaction stays open between pages on the PGlite socket).
 */
export interface KeysetQuery {
  table: string;
  ws: string;
  /** The key columns, in index order. */
  keys: string[];
  /** The select list. */
  columns: string;
  pageSize: number;
}

function pageSql(query: KeysetQuery): string {
  const keys = query.keys.join(', ');
  const after = query.keys.map((_, i) => `$${i + 3}`).join(', ');
  return (
    `SELECT ${query.columns} FROM ${query.table} WHERE workspace = $1 ` +
    `AND ($2::boolean OR (${keys}) > (${after})) ORDER BY ${keys} LIMIT ${query.pageSize}`
  );
}

export async function* keysetPages(
  db: TargetDb,
  log: Logger,
  query: KeysetQuery,
): AsyncGenerator<Record<string, unknown>[]> {
  const sql = pageSql(query);
  let after: unknown[] | undefined;
  for (;;) {
    const params = [query.ws, after === undefined, ...(after ?? query.keys.map(() => ''))];
    const rows = await withClient(
      db,
      log,
      async (client) => (await client.query(sql, params)).rows,
    );
    if (rows.length === 0) return;
    const last = rows[rows.length - 1] as Record<string, unknown>;
    after = query.keys.map((key) => last[key]);
    yield rows;
  }
}
