import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Small helpers shared by the stores: multi-row VALUES lists, batching by row count and
 * payload size, and prepared statements for the full-size batches (the common case of a
 * bulk write, so each shape is parsed and planned once per connection).
 */
export const BATCH_ROWS = 500;
/** LightRAG's POSTGRES_UPSERT_MAX_PAYLOAD_BYTES default; keeps a statement's size sane. */
export const BATCH_BYTES = 16 * 1024 * 1024;

export type SqlValue = string | number | boolean | Buffer | null | string[];

export interface RowShape {
  /** Fixed cells before the parameters of each row, e.g. `$1` for the workspace. */
  prefix?: string[];
  /** Fixed cells after them, e.g. a timestamp expression. */
  suffix?: string[];
  /** Per-parameter templates where `?` stands for the parameter, e.g. `?::jsonb`. */
  wrap?: (string | undefined)[];
}

/** `($2,$3),($4,$5)` for `rows` rows of `width` parameters, numbering from `first`. */
export function valuesList(rows: number, width: number, first: number, shape: RowShape = {}) {
  const groups: string[] = [];
  let n = first;
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [...(shape.prefix ?? [])];
    for (let c = 0; c < width; c++) {
      const cell = `$${n++}`;
      const template = shape.wrap?.[c];
      cells.push(template ? template.replace('?', cell) : cell);
    }
    cells.push(...(shape.suffix ?? []));
    groups.push(`(${cells.join(',')})`);
  }
  return groups.join(',');
}

function approximateBytes(row: SqlValue[]): number {
  let bytes = 0;
  for (const value of row) {
    if (typeof value === 'string') bytes += value.length * 3;
    else if (Buffer.isBuffer(value)) bytes += value.length;
    else if (Array.isArray(value)) bytes += value.reduce((sum, s) => sum + s.length * 3, 0);
    else bytes += 8;
  }
  return bytes;
}

/** Splits rows into batches of at most BATCH_ROWS rows and about BATCH_BYTES bytes. */
export function batches(rows: SqlValue[][], maxRows = BATCH_ROWS): SqlValue[][][] {
  const result: SqlValue[][][] = [];
  let current: SqlValue[][] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = approximateBytes(row);
    if (current.length > 0 && (current.length >= maxRows || bytes + size > BATCH_BYTES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** Runs a statement, preparing it by name when it is the full-batch shape. */
export async function execute(
  client: pg.ClientBase,
  text: string,
  values: SqlValue[],
  prepare = false,
): Promise<pg.QueryResult> {
  const sent = values.map(signedZero);
  if (!prepare) return client.query(text, sent);
  const name = 'rs_' + createHash('md5').update(text).digest('hex').slice(0, 20);
  return client.query({ name, text, values: sent });
}

/** `pg` sends numbers as String(value), which turns -0 into "0"; a DOUBLE keeps the sign. */
function signedZero(value: SqlValue): SqlValue {
  return Object.is(value, -0) ? '-0' : value;
}

/** Runs one multi-row statement per batch; `statement(n)` builds the text for n rows. */
export async function executeBatches(
  client: pg.ClientBase,
  rows: SqlValue[][],
  head: SqlValue[],
  statement: (rowCount: number) => string,
): Promise<void> {
  for (const batch of batches(rows)) {
    const values = [...head, ...batch.flat()];
    await execute(client, statement(batch.length), values, batch.length === BATCH_ROWS);
  }
}
