import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { SqlValue } from './sql.ts';

/**
 * The bulk path for large upserts on a real PostgreSQL server: rows are streamed with
 * COPY into a temporary staging table, then merged with one INSERT ... SELECT ... ON
 * CONFLICT, which costs little more than a plain COPY into the table. Never used on the
 * PGlite socket, where COPY FROM STDIN wedges the database (docs/libraries.md).
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

/** One value in COPY's text format. */
export function copyValue(value: SqlValue): string {
  if (value === null) return '\\N';
  if (Buffer.isBuffer(value)) throw new Error('binary values do not go through COPY text');
  const text = Array.isArray(value) ? arrayLiteral(value) : String(value);
  return text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!);
}

function* copyChunks(rows: SqlValue[][]): Generator<string> {
  for (let i = 0; i < rows.length; i += 500) {
    let chunk = '';
    for (const row of rows.slice(i, i + 500)) chunk += row.map(copyValue).join('\t') + '\n';
    yield chunk;
  }
}

export function stageName(table: string): string {
  return `ragspace_stage_${table}`.slice(0, 63);
}

/** Fills the staging table of `table` with `rows` for `columns`; returns its name. */
export async function stageRows(
  client: pg.ClientBase,
  table: string,
  columns: string[],
  rows: SqlValue[][],
): Promise<string> {
  const stage = stageName(table);
  const like = `(LIKE ${table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`;
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${stage} ${like}`);
  await client.query(`TRUNCATE ${stage}`);
  const copy = client.query(copyFrom(`COPY ${stage} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(copyChunks(rows)), copy);
  return stage;
}
