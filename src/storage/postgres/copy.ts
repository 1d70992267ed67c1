import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { binaryChunks, binaryEncoders, type CopyColumn } from './copy-binary.ts';
import type { SqlValue } from './sql.ts';

/**
 * The bulk path for large upserts on a real PostgreSQL server. When the workspace has no
 * row in the table yet (an import, or a rebuild after a clear), nothing can conflict, so
 * the rows are COPYed straight in. Otherwise they are COPYed into a temporary staging
 * table and merged with one INSERT ... SELECT ... ON CONFLICT. Never used on the PGlite
 * socket, where COPY FROM STDIN wedges the database (docs/libraries.md).
 *
 * Rows travel in the binary format where every column's type allows (copy-binary.ts),
 * else as text, and are encoded chunk by chunk as the connection takes them, so Node
 * encodes while the server stores. Callers pass a function that makes the rows, because
 * a COPY that collided is redone into the staging table. The staging table is `LIKE`
 * its target (same column types, no indexes), created once per connection and emptied at
 * every commit; it carries no workspace or other state.
 */
export type { CopyColumn } from './copy-binary.ts';

export const COPY_MIN_ROWS = 2000;

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function arrayLiteral(values: string[]): string {
  const items = values.map((v) => '"' + v.replace(/["\\]/g, (c) => '\\' + c) + '"');
  return '{' + items.join(',') + '}';
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;

/** One value in COPY's text format. */
/** A number as PostgreSQL reads it back: -0 keeps its sign, which String(-0) drops. */
function numberText(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

export function copyValue(value: SqlValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) throw new Error('binary values do not go through COPY text');
  const text = Array.isArray(value) ? arrayLiteral(value) : value;
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPES[c]!) : text;
}

/** Unix seconds as naive UTC text (PostgreSQL ignores the "Z" in a TIMESTAMP column). */
function utcTexts(): (seconds: SqlValue) => SqlValue {
  // Records of one write mostly share a time: convert each distinct one once.
  const seen = new Map<SqlValue, SqlValue>();
  return (seconds) => {
    if (typeof seconds !== 'number') return seconds;
    let text = seen.get(seconds);
    if (text === undefined) seen.set(seconds, (text = utcText(new Date(seconds * 1000))));
    return text;
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * ISO text for years 1-9999. PostgreSQL reads ISO's other years ("+255479-...", "-001199-")
 * as a time zone, so those are written out, with its "BC" (ISO year 0 is 1 BC).
 */
function utcText(date: Date): string {
  const year = date.getUTCFullYear();
  if (!(year < 1 || year > 9999)) return date.toISOString(); // also throws if invalid
  const day = `${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  const clock = [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()].map((n) => pad(n));
  const time = `${clock.join(':')}.${pad(date.getUTCMilliseconds(), 3)}`;
  const era = year < 1 ? ' BC' : '';
  return `${pad(year < 1 ? 1 - year : year, 4)}-${day} ${time}${era}`;
}

/** COPY text, about 1 MB at a time; `lead` starts every line (e.g. the workspace). */
function* textChunks(rows: Iterable<SqlValue[]>, lead: string, columns: CopyColumn[]) {
  const utc = utcTexts();
  const stamps = columns.map((c) => c.kind === 'stamp');
  let chunk = '';
  for (const row of rows) {
    let line = lead;
    for (let i = 0; i < row.length; i++) {
      line += '\t' + copyValue(stamps[i] ? utc(row[i]!) : row[i]!);
    }
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
  columns: CopyColumn[],
  rows: Iterable<SqlValue[]>,
): Promise<void> {
  const all: CopyColumn[] = [{ name: 'workspace', kind: 'text' }, ...columns];
  const sql = `COPY ${table} (${all.map((c) => c.name).join(', ')}) FROM STDIN`;
  const encoders = await binaryEncoders(client, table, all);
  const chunks = encoders
    ? binaryChunks(rows, workspace, encoders)
    : textChunks(rows, copyValue(workspace), columns);
  const format = encoders ? ' (FORMAT binary)' : '';
  await pipeline(Readable.from(chunks), client.query(copyFrom(sql + format)));
}

/**
 * COPYs the rows straight into `table` when the workspace has none there yet; returns
 * false (having written nothing) when it has, or when another program inserted one of
 * the keys meanwhile (the caller then merges instead, reading `rows()` again).
 */
export async function copyIntoEmpty(
  client: pg.ClientBase,
  table: string,
  workspace: string,
  columns: CopyColumn[],
  rows: () => Iterable<SqlValue[]>,
): Promise<boolean> {
  const existing = await client.query(
    `SELECT EXISTS (SELECT 1 FROM ${table} WHERE workspace = $1) AS found`,
    [workspace],
  );
  if (existing.rows[0].found === true) return false;
  await client.query('SAVEPOINT ragspace_copy');
  try {
    await copyRows(client, table, workspace, columns, rows());
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
  columns: CopyColumn[],
  rows: () => Iterable<SqlValue[]>,
): Promise<string> {
  const stage = stageName(table);
  const like = `(LIKE ${table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`;
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${stage} ${like}`);
  await client.query(`TRUNCATE ${stage}`);
  await copyRows(client, stage, workspace, columns, rows());
  return stage;
}
