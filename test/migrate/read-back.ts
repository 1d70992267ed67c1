import assert from 'node:assert/strict';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { eachCopyLine, RowDecoder } from '../../src/migrate/copy-out.ts';
import { digestOf, recordDigest } from '../../src/migrate/digest.ts';
import { canonicalGraphRow, readBackOf } from '../../src/migrate/kinds/graph-lines.ts';
import { PlainRowReader } from '../../src/migrate/kinds/graph-plain-rows.ts';
import { ENTITY_STORE, RELATION_STORE } from '../../src/migrate/records/graph.ts';
import { newPolicy } from '../../src/migrate/records/text.ts';
import { PG, type MigDatabase } from './helpers.ts';

/**
 * A graph table's rows as verify reads them back (COPY out text of `readBackOf`'s
 * columns), checked two ways: straight from each line (PlainRowReader) and through the
 * row, record and canonical form. Both must give each plain row the same key and digest.
 */
export async function copyOutText(db: MigDatabase, store: string, ws: string): Promise<string> {
  const { table, columns } = readBackOf(store);
  const client = new pg.Client({ ...PG, database: db.name });
  await client.connect();
  try {
    const where = `workspace = ${client.escapeLiteral(ws)}`;
    const sql = `COPY (SELECT ${columns.join(', ')} FROM ${table} WHERE ${where}) TO STDOUT`;
    let text = '';
    for await (const chunk of client.query(copyTo(sql))) text += (chunk as Buffer).toString();
    return text;
  } finally {
    await client.end();
  }
}

/** The lines of `text` read as plain rows (each checked against the general way). */
export function plainLines(store: string, text: string): string[] {
  const plain = new PlainRowReader(readBackOf(store), store === ENTITY_STORE ? 1 : 2);
  const decoder = new RowDecoder(readBackOf(store));
  const policy = newPolicy('w');
  const found: string[] = [];
  eachCopyLine(text, (line) => {
    if (!plain.read(line)) return;
    const record = canonicalGraphRow(store, decoder.row(line), policy);
    assert.equal(plain.key, record.key, line);
    assert.equal(recordDigest(plain.key, plain.text), digestOf(record), line);
    found.push(line);
  });
  return found;
}

/** Every graph row of a workspace checked by `plainLines`; returns rows and plain rows. */
export async function plainRowsAgree(db: MigDatabase, ws: string) {
  let rows = 0;
  let plain = 0;
  for (const store of [ENTITY_STORE, RELATION_STORE]) {
    const text = await copyOutText(db, store, ws);
    rows += text.split('\n').length - 1;
    plain += plainLines(store, text).length;
  }
  return { rows, plain };
}
