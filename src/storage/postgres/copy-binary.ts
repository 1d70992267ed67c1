import type pg from 'pg';
import type { SqlValue } from './sql.ts';

/**
 * PostgreSQL's binary COPY format, for the bulk path. Measured against text COPY of the
 * same rows (docs/postgres.md, "Bulk writes: where the time goes"), the server spends 5-10%
 * less time per row: no escapes to undo, numbers and timestamps arrive as machine values.
 * Node also builds it with less garbage than text lines (one reused buffer, copied out a
 * chunk at a time, instead of a string per value).
 *
 * Binary input must match the column's type exactly (an int4 where the table has int8 is
 * an error, not a cast), and LightRAG's tables may come from an older LightRAG. So the
 * column types are read from the catalog for every COPY, and a column whose type has no
 * encoder here sends the whole COPY as text instead.
 */
export type CopyKind = 'text' | 'int' | 'float' | 'json' | 'stamp';

export interface CopyColumn {
  name: string;
  /** What the values are: text, whole number, double, JSON text, or Unix seconds. */
  kind: CopyKind;
}

/** Writes one non-null value, length word included. */
type Encode = (out: BinaryOut, value: SqlValue) => void;

/** Rows go out in chunks of about a megabyte; a row never splits. */
const CHUNK_BYTES = 1 << 18;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Texts up to this many UTF-16 units are copied by hand when ASCII (BinaryOut.text). */
const SHORT_TEXT = 32;
/** 2000-01-01, PostgreSQL's timestamp epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
/** The range of a JavaScript Date, which the text path converts through. */
const MAX_DATE_MS = 8.64e15;

/** A growing output buffer handed out chunk by chunk. */
class BinaryOut {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES * 2);
  length = 0;

  reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  int16(value: number): void {
    this.reserve(2);
    this.length = this.buffer.writeInt16BE(value, this.length);
  }

  int32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeInt32BE(value, this.length);
  }

  /** A signed 64-bit integer from a safe JavaScript integer, without a BigInt. */
  int64(value: number): void {
    this.reserve(8);
    const high = Math.floor(value / 0x1_0000_0000);
    this.buffer.writeInt32BE(high, this.length);
    this.length = this.buffer.writeUInt32BE(value - high * 0x1_0000_0000, this.length + 4);
  }

  float64(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeDoubleBE(value, this.length);
  }

  /** Length word, an optional prefix byte (jsonb's version) and the UTF-8 text. */
  text(value: string, prefix?: number): void {
    const head = prefix === undefined ? 4 : 5;
    this.reserve(head + value.length * 3);
    const start = this.length;
    if (prefix !== undefined) this.buffer[start + 4] = prefix;
    const at = start + head;
    const written =
      value.length <= SHORT_TEXT ? this.shortText(value, at) : this.buffer.write(value, at);
    this.buffer.writeInt32BE(written + head - 4, start);
    this.length = at + written;
  }

  /**
   * Short values (names, types, file paths, `{}`) are most of the values, and copying
   * ASCII by hand costs less than Buffer.write's call for each; anything else goes there.
   */
  private shortText(value: string, at: number): number {
    const buffer = this.buffer;
    for (let i = 0; i < value.length; i++) {
      const unit = value.charCodeAt(i);
      if (unit > 0x7f) return buffer.write(value, at);
      buffer[at + i] = unit;
    }
    return value.length;
  }

  bytes(value: Buffer): void {
    this.reserve(value.length);
    this.length += value.copy(this.buffer, this.length);
  }

  /** The bytes so far, copied: the stream may still hold a chunk when encoding goes on. */
  take(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}

function wrongValue(kind: string, value: SqlValue): Error {
  return new TypeError(`binary COPY: ${String(value)} is not a value for a ${kind} column`);
}

function writeText(out: BinaryOut, value: SqlValue): void {
  if (typeof value !== 'string') throw wrongValue('text', value);
  out.text(value);
}

function writeJsonb(out: BinaryOut, value: SqlValue): void {
  if (typeof value !== 'string') throw wrongValue('jsonb', value);
  out.text(value, 1);
}

function writeInt4(out: BinaryOut, value: SqlValue): void {
  if (!Number.isInteger(value) || Math.abs(value as number) > 0x7fff_ffff) {
    throw wrongValue('integer', value);
  }
  out.int32(4);
  out.int32(value as number);
}

function writeInt8(out: BinaryOut, value: SqlValue): void {
  if (!Number.isSafeInteger(value)) throw wrongValue('bigint', value);
  out.int32(8);
  out.int64(value as number);
}

function writeFloat8(out: BinaryOut, value: SqlValue): void {
  if (typeof value !== 'number') throw wrongValue('double precision', value);
  out.int32(8);
  out.float64(value);
}

/**
 * Unix seconds as a timestamp: microseconds since 2000-01-01, cut to milliseconds as the
 * text path's Date is, and refused where that Date would be invalid.
 */
function writeStamp(out: BinaryOut, value: SqlValue): void {
  if (typeof value !== 'number') throw wrongValue('timestamp', value);
  const ms = Math.trunc(value * 1000);
  if (!(Math.abs(ms) <= MAX_DATE_MS)) throw new RangeError('Invalid time value');
  out.int32(8);
  const offset = ms - PG_EPOCH_MS;
  // Past about 285 years from 2000 the microseconds pass 2^53: exact through a BigInt.
  if (Number.isSafeInteger(offset * 1000)) return out.int64(offset * 1000);
  const exact = Buffer.allocUnsafe(8);
  exact.writeBigInt64BE(BigInt(offset) * 1000n);
  out.bytes(exact);
}

/** Encoders by kind and by the column's type as `format_type` names it. */
const ENCODERS: Record<CopyKind, Record<string, Encode>> = {
  text: { text: writeText, 'character varying': writeText },
  int: { integer: writeInt4, bigint: writeInt8 },
  float: { 'double precision': writeFloat8 },
  json: { jsonb: writeJsonb, json: writeText },
  stamp: { 'timestamp without time zone': writeStamp, 'timestamp with time zone': writeStamp },
};

/** The column types of `table` (as COPY resolves it), by column name. */
async function columnTypes(client: pg.ClientBase, table: string): Promise<Map<string, string>> {
  const result = await client.query(
    `SELECT attname, format_type(atttypid, NULL) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [table],
  );
  return new Map(result.rows.map((row) => [row.attname as string, row.type as string]));
}

/**
 * One encoder per column, or undefined when some column's type has none (the caller
 * then sends text). The first column is the workspace.
 */
export async function binaryEncoders(
  client: pg.ClientBase,
  table: string,
  columns: CopyColumn[],
): Promise<Encode[] | undefined> {
  const types = await columnTypes(client, table);
  const encoders: Encode[] = [];
  for (const column of columns) {
    const encode = ENCODERS[column.kind][types.get(column.name) ?? ''];
    if (!encode) return undefined;
    encoders.push(encode);
  }
  return encoders;
}

/**
 * The COPY data: header, one tuple per row (`lead`, then the row's values), trailer, in
 * chunks of about a megabyte, encoded as the stream asks for them so Node encodes while
 * the server stores the previous chunk.
 */
export function* binaryChunks(
  rows: Iterable<SqlValue[]>,
  lead: SqlValue,
  encoders: Encode[],
): Generator<Buffer> {
  const out = new BinaryOut();
  out.bytes(SIGNATURE);
  out.int32(0);
  out.int32(0);
  const head = new BinaryOut();
  head.int16(encoders.length);
  encoders[0]!(head, lead);
  const leading = head.take();
  for (const row of rows) {
    out.bytes(leading);
    for (let i = 0; i < row.length; i++) {
      const value = row[i]!;
      if (value === null) out.int32(-1);
      else encoders[i + 1]!(out, value);
    }
    if (out.length >= CHUNK_BYTES) yield out.take();
  }
  out.int16(-1);
  yield out.take();
}
