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

export interface CopyOutQuery {
  table: string;
  ws: string;
  columns: string[];
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
function unescapeField(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => ESCAPED[c] ?? c);
}

/** The columns of COPY text lines, each converted by its parser (or kept as text). */
interface RowLayout {
  columns: string[];
  parsers: Record<string, ColumnParser>;
}

/** Builds rows from COPY text lines, one parser per column, shared by every row. */
class RowDecoder {
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

/** Rows of COPY text (the lines this process wrote for COPY FROM, or a server's output). */
export function decodeCopyText(text: string, layout: RowLayout): Record<string, unknown>[] {
  const decoder = new RowDecoder(layout);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => decoder.row(line));
}

function copySql(client: pg.PoolClient, query: CopyOutQuery): string {
  const where = `workspace = ${client.escapeLiteral(query.ws)}`;
  return `COPY (SELECT ${query.columns.join(', ')} FROM ${query.table} WHERE ${where}) TO STDOUT`;
}

/** Splits the stream into whole lines; a line never holds a raw newline in COPY text. */
async function* lines(stream: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + decoder.write(chunk);
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      rest = text;
      continue;
    }
    rest = text.slice(end + 1);
    yield text.slice(0, end).split('\n');
  }
  if (rest + decoder.end() !== '') throw new Error('COPY output ended inside a row');
}

/** The rows, `pageSize` at a time; the connection is held until the last page. */
export async function* copyOutPages(
  db: TargetDb,
  log: Logger,
  query: CopyOutQuery,
): AsyncGenerator<Record<string, unknown>[]> {
  const client = await acquire(db.pool, db.where, db.retry, log);
  const decoder = new RowDecoder(query);
  let finished = false;
  try {
    const stream = client.query(copyTo(copySql(client, query)));
    let page: Record<string, unknown>[] = [];
    for await (const batch of lines(stream)) {
      for (const line of batch) page.push(decoder.row(line));
      if (page.length < query.pageSize) continue;
      yield page;
      page = [];
    }
    if (page.length > 0) yield page;
    finished = true;
  } finally {
    // A consumer that stopped early leaves the COPY running: that connection is discarded.
    client.release(finished ? undefined : true);
  }
}
