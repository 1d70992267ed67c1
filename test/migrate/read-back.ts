import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log.ts';
import { copyOutText as readBack, eachCopyLine, RowDecoder } from '../../src/migrate/copy-out.ts';
import { digestOf, recordDigest } from '../../src/migrate/digest.ts';
import { canonicalGraphRow, plainRowsOf, readBackOf } from '../../src/migrate/kinds/graph-lines.ts';
import { ENTITY_STORE, RELATION_STORE } from '../../src/migrate/records/graph.ts';
import { newPolicy } from '../../src/migrate/records/text.ts';
import { openTarget } from '../../src/migrate/target.ts';
import { migConfig, WITHOUT_VECTORS, type MigDatabase } from './helpers.ts';

/**
 * A graph table's rows as verify reads them back (COPY out text of `readBackOf`'s
 * columns, through the same reader), checked two ways: straight from each line
 * (PlainRowReader) and through the row, record and canonical form. Both must give each
 * plain row the same key and digest.
 */
export async function copyOutText(db: MigDatabase, store: string, ws: string): Promise<string> {
  const config = migConfig(WITHOUT_VECTORS, db.env);
  const target = await openTarget(config, silentLogger, false);
  try {
    const query = { ...readBackOf(store), ws };
    let text = '';
    for await (const piece of readBack(target, silentLogger, query, 0)) text += piece;
    return text;
  } finally {
    await target.close();
  }
}

/** The lines of `text` read as plain rows (each checked against the general way). */
export function plainLines(store: string, text: string): string[] {
  const plain = plainRowsOf(store);
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
