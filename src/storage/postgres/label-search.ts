import type { Session } from './session.ts';
import { ENTITIES_TABLE } from './tables.ts';

/**
 * `/graph/label/search` on PostgreSQL, ranked as LightRAG ranks labels (exact 1000,
 * prefix 500, otherwise 100 - length, +50 when the match follows a space or "_"; score
 * descending, then name), answered through indexes in two steps:
 *
 * 1. exact and prefix matches, which outrank every other match (the best other score is
 *    100 - 1 + 50 = 149 < 500): a range scan of the btree on (workspace, name_lower),
 *    whose "C" collation makes `LIKE 'q%'` an index range, pg_trgm or not;
 * 2. only when those leave the page short, the other substring matches: a bitmap scan
 *    of the pg_trgm GIN index on name_lower when the extension is there (queries of 3
 *    characters or more), otherwise the workspace's rows through the btree.
 *
 * Lower-casing is JavaScript's (stored in name_lower), so it does not depend on the
 * server's locale and agrees with the file backend.
 *
 * Limits: the trigram index covers every workspace (a per-workspace GIN index would need
 * btree_gin, which PGlite does not load), so a substring that is common in other
 * workspaces costs a recheck of their matches; and queries of one or two characters
 * cannot use trigrams, so their non-prefix matches read the workspace's names.
 */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => '\\' + c);
}

export const PREFIX_SQL = `SELECT name FROM ${ENTITIES_TABLE}
  WHERE workspace = $1 AND name_lower LIKE $2
  ORDER BY name_lower = $3 DESC, name LIMIT $4`;

export const INNER_SQL = `SELECT name FROM (
    SELECT name, 100 - char_length(name)
             + CASE WHEN strpos(name_lower, ' ' || $3) > 0
                      OR strpos(name_lower, '_' || $3) > 0 THEN 50 ELSE 0 END AS score
      FROM ${ENTITIES_TABLE}
     WHERE workspace = $1 AND name_lower LIKE $2 AND NOT starts_with(name_lower, $3)) ranked
  ORDER BY score DESC, name LIMIT $4`;

/** The parameters of both steps for a lower-cased, trimmed query. */
export function searchParams(ws: string, q: string, limit: number) {
  return {
    prefix: [ws, escapeLike(q) + '%', q, limit],
    inner: [ws, '%' + escapeLike(q) + '%', q, limit],
  };
}

export async function searchLabels(
  session: Session,
  query: string,
  limit: number,
): Promise<string[]> {
  const q = query.trim().toLowerCase();
  if (q === '' || limit <= 0) return [];
  const params = searchParams(session.ws, q, limit);
  const first = await session.client.query(PREFIX_SQL, params.prefix);
  const names = first.rows.map((r) => r.name as string);
  if (names.length >= limit) return names;
  params.inner[3] = limit - names.length;
  const rest = await session.client.query(INNER_SQL, params.inner);
  return [...names, ...rest.rows.map((r) => r.name as string)];
}
