import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { SqlValue } from './sql.ts';

/**
 * The bulk path for large upserts on a real PostgreSQL server. When the workspace has no
 * row in the table yet (an import, or a rebuild after a clear), nothing can conflict, so
 * the rows are COPYed straight in. Otherwise they are COPYed into a temporary staging
 * table and merged with one INSERT ... SELECT ... ON CONFLICT. Never used on the PGlite
 * socket, where COPY FROM STDIN wedges the database (docs/libraries.md).
 *
 * The staging table is `LIKE` its target (same column types, no indexes), created once
 * per connection and emptied at every commit; it carries no workspace or other state.
 */
export const COPY_MIN_ROWS = 2000;

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function arrayLiteral(values: string[]): string {
  const items = values.map((v) => '"' + v.replace(/["\\]/g, (c) => '\\' + c) + '"');
  return '{' + items.join(',') + '}';
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;

/** One value in COPY's text format. */
export function copyValue(value: SqlValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) throw new Error('binary values do not go through COPY text');
  const text = Array.isArray(value) ? arrayLiteral(value) : value;
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c]!) : text;
}

/** COPY text, about 1 MB at a time; `lead` starts every line (e.g. the workspace). */
function* copyChunks(rows: SqlValue[][], lead: string): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    let line = lead;
    for (const value of row) line += '\t' + copyValue(value);
    chunk += line + '\n';
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

async function copyRows(
  client: pg.ClientBase,
  table: string,
  workspace: string,
  columns: string[],
  rows: SqlValue[][],
): Promise<void> {
  const sql = `COPY ${table} (workspace, ${columns.join(', ')}) FROM STDIN`;
  const lines = Readable.from(copyChunks(rows, copyValue(workspace)));
  await pipeline(lines, client.query(copyFrom(sql)));
}

/**
 * COPYs the rows straight into `table` when the workspace has none there yet; returns
 * false (having written nothing) when it has, or when another program inserted one of
 * the keys meanwhile (the caller then merges instead).
 */
export async function copyIntoEmpty(
  client: pg.ClientBase,
  table: string,
  workspace: string,
  columns: string[],
  rows: SqlValue[][],
): Promise<boolean> {
  const existing = await client.query(
    `SELECT EXISTS (SELECT 1 FROM ${table} WHERE workspace = $1) AS found`,
    [workspace],
  );
  if (existing.rows[0].found === true) return false;
  await client.query('SAVEPOINT ragspace_copy');
  try {
    await copyRows(client, table, workspace, columns, rows);
    await client.query('RELEASE SAVEPOINT ragspace_copy');
    return true;
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT ragspace_copy');
    if ((error as { code?: string }).code === '23505') return false;
    throw error;
  }
}

export function stageName(table: string): string {
  return `ragspace_stage_${table}`.slice(0, 63);
}

/**
 * Fills the staging table of `table`: each line is `workspace` then `rows`' values, for
 * the columns `workspace, ...columns`. Returns the staging table's name.
 */
export async function stageRows(
  client: pg.ClientBase,
  table: string,
  workspace: string,
  columns: string[],
  rows: SqlValue[][],
): Promise<string> {
  const stage = stageName(table);
  const like = `(LIKE ${table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`;
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${stage} ${like}`);
  await client.query(`TRUNCATE ${stage}`);
  await copyRows(client, stage, workspace, columns, rows);
  return stage;
}
