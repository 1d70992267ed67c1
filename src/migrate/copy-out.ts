import { StringDecoder } from 'node:string_decoder';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Logger } from '../log.ts';
import { acquire } from '../storage/postgres/pool.ts';
import type { TargetDb } from './target.ts';

/**
 * A workspace's rows of one table through `COPY (SELECT ...) TO STDOUT`, in no particular
 * order, for the order-free digests of verify. One sequential scan streamed in COPY's
 * text format costs the server and this process far less than keyset pages (a query, an
 * index range scan and a protocol row object per row). Only on a real server: PGlite's
 * socket server is never sent COPY (see docs/operations.md).
 */
export type ColumnParser = (text: string) => unknown;

export interface CopyOutQuery extends CopyOutSource {
  /** Converts a column's text as `pg` would for its type; absent: the text itself. */
  parsers: Record<string, ColumnParser>;
  pageSize: number;
}

const ESCAPED: Record<string, string> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
};

/** COPY text's backslash escapes (the server writes only these, never octal or hex). */
export function unescapeField(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => ESCAPED[c] ?? c);
}

/** The columns of COPY text lines, each converted by its parser (or kept as text). */
export interface RowLayout {
  columns: string[];
  parsers: Record<string, ColumnParser>;
}

/** Builds rows from COPY text lines, one parser per column, shared by every row. */
export class RowDecoder {
  private readonly parsers: (ColumnParser | undefined)[];

  constructor(private readonly query: RowLayout) {
    this.parsers = query.columns.map((name) => query.parsers[name]);
  }

  row(line: string): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    const names = this.query.columns;
    let from = 0;
    for (let i = 0; i < names.length; i++) {
      const tab = i === names.length - 1 ? line.length : line.indexOf('\t', from);
      row[names[i]!] = this.value(line.slice(from, tab), i);
      from = tab + 1;
    }
    return row;
  }

  private value(field: string, column: number): unknown {
    if (field === '\\N') return null;
    const text = field.includes('\\') ? unescapeField(field) : field;
    const parse = this.parsers[column];
    return parse ? parse(text) : text;
  }
}

/** Each line of COPY text in turn, without its newline. */
export function eachCopyLine(text: string, fn: (line: string) => void): void {
  for (let from = 0; from < text.length;) {
    let end = text.indexOf('\n', from);
    if (end < 0) end = text.length;
    fn(text.slice(from, end));
    from = end + 1;
  }
}

/**
 * Each row of COPY text in turn, none kept: what a caller does not keep dies young, which
 * costs the garbage collector far less than an array of a whole piece's rows.
 */
export function eachCopyRow(
  text: string,
  layout: RowLayout,
  fn: (row: Record<string, unknown>) => void,
): void {
  const decoder = new RowDecoder(layout);
  eachCopyLine(text, (line) => fn(decoder.row(line)));
}

/** Rows of COPY text (the lines this process wrote for COPY FROM, or a server's output). */
export function decodeCopyText(text: string, layout: RowLayout): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  eachCopyRow(text, layout, (row) => rows.push(row));
  return rows;
}

/** A workspace's rows of one table, as COPY out selects them. */
export interface CopyOutSource {
  table: string;
  ws: string;
  columns: string[];
}

function copySql(client: pg.PoolClient, query: CopyOutSource): string {
  const where = `workspace = ${client.escapeLiteral(query.ws)}`;
  return `COPY (SELECT ${query.columns.join(', ')} FROM ${query.table} WHERE ${where}) TO STDOUT`;
}

/**
 * The stream as text of whole lines (a line never holds a raw newline in COPY text), in
 * pieces of at least `minChars` but the last.
 */
async function* wholeLines(stream: AsyncIterable<Buffer>, minChars: number) {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + decoder.write(chunk);
    const end = text.length < minChars ? -1 : text.lastIndexOf('\n');
    if (end < 0) {
      rest = text;
      continue;
    }
    rest = text.slice(end + 1);
    yield text.slice(0, end + 1);
  }
  rest += decoder.end();
  if (rest !== '' && !rest.endsWith('\n')) throw new Error('COPY output ended inside a row');
  if (rest !== '') yield rest;
}

/**
 * The COPY out text of the rows, in pieces of whole lines of at least `minChars`; the
 * connection is held until the last piece.
 */
export async function* copyOutText(
  db: TargetDb,
  log: Logger,
  query: CopyOutSource,
  minChars: number,
): AsyncGenerator<string> {
  const client = await acquire(db.pool, db.where, db.retry, log);
  let finished = false;
  try {
    yield* wholeLines(client.query(copyTo(copySql(client, query))), minChars);
    finished = true;
  } finally {
    // A consumer that stopped early leaves the COPY running: that connection is discarded.
    client.release(finished ? undefined : true);
  }
}

/** The rows, `pageSize` at a time. */
export async function* copyOutPages(
  db: TargetDb,
  log: Logger,
  query: CopyOutQuery,
): AsyncGenerator<Record<string, unknown>[]> {
  let page: Record<string, unknown>[] = [];
  for await (const text of copyOutText(db, log, query, 0)) {
    eachCopyRow(text, query, (row) => page.push(row));
    if (page.length < query.pageSize) continue;
    yield page;
    page = [];
  }
  if (page.length > 0) yield page;
}
