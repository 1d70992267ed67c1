import { copyValue } from '../../storage/postgres/copy.ts';
import {
  encodeAttributes,
  ENTITY_COLUMNS,
  orderedPair,
  RELATION_COLUMNS,
  type AttributeColumn,
  type EncodedAttributes,
} from '../../storage/postgres/graph-codec.ts';
import { toEntity, toRelation } from '../../storage/postgres/graph.ts';
import { ENTITIES_TABLE, RELATIONS_TABLE } from '../../storage/postgres/tables.ts';
import type { TextPolicy } from '../../storage/postgres/text.ts';
import type { Entity, Relation } from '../../storage/types.ts';
import type { CanonicalRecord } from '../canonical.ts';
import { decodeCopyText, eachCopyLine, RowDecoder, type ColumnParser } from '../copy-out.ts';
import { digestOf, recordDigest, type StoreDigest } from '../digest.ts';
import { canonicalEntityRow, canonicalRelation, ENTITY_STORE } from '../records/graph.ts';
import { PlainRowReader } from './graph-plain-rows.ts';

/**
 * Graph rows as COPY text for the bulk path (graph-bulk.ts): pure functions, so the
 * GraphML reader thread can write the text while the main thread sends the previous batch.
 * Each line is workspace, key columns, the attribute columns, extra, attr_types, updated_at.
 */
const TAIL = ['extra', 'attr_types', 'updated_at'];
export const ENTITY_LINE_COLUMNS = [
  'workspace',
  'name',
  'name_lower',
  ...ENTITY_COLUMNS.map((c) => c.name),
  ...TAIL,
];
export const RELATION_LINE_COLUMNS = [
  'workspace',
  'source',
  'target',
  ...RELATION_COLUMNS.map((c) => c.name),
  ...TAIL,
];

export const nowUtc = (): string => new Date().toISOString().slice(0, 23).replace('T', ' ');

/**
 * One COPY line: `head` (already COPY text), then the encoded attributes and `now`.
 * Millions of rows: one string built in place, no intermediate arrays.
 */
function line(head: string, e: EncodedAttributes, now: string): string {
  let text = head;
  for (const value of e.columns) text += '\t' + copyValue(value);
  return text + '\t' + copyValue(e.extra) + '\t' + copyValue(e.types) + '\t' + now + '\n';
}

export function entityLines(workspace: string, entities: Entity[], policy: TextPolicy): string {
  const now = nowUtc();
  const ws = copyValue(workspace);
  let text = '';
  for (const entity of entities) {
    const where = { store: ENTITIES_TABLE, record: entity.name };
    // As the backend's own upsert: entity_id always equals the name (copied only if not).
    const given = entity.properties;
    const properties =
      given.entity_id === entity.name ? given : { ...given, entity_id: entity.name };
    const e = encodeAttributes(properties, ENTITY_COLUMNS, policy, where);
    const name = copyValue(entity.name);
    text += line(`${ws}\t${name}\t${copyValue(entity.name.toLowerCase())}`, e, now);
  }
  return text;
}

export function relationLines(
  workspace: string,
  relations: Relation[],
  policy: TextPolicy,
): string {
  const now = nowUtc();
  const ws = copyValue(workspace);
  let text = '';
  for (const relation of relations) {
    const [low, high] = orderedPair(relation.source, relation.target);
    const where = { store: RELATIONS_TABLE, record: `${low} - ${high}` };
    const e = encodeAttributes(relation.properties, RELATION_COLUMNS, policy, where);
    text += line(`${ws}\t${copyValue(low)}\t${copyValue(high)}`, e, now);
  }
  return text;
}

/**
 * An edge's two ends as COPY text, one name a line, as the relations table will hold
 * them: the bulk path counts degrees from these before any relation is written.
 */
export function edgeEndLines(source: string, target: string): string {
  return copyValue(source) + '\n' + copyValue(target) + '\n';
}

const EMPTY_JSON: Readonly<Record<string, unknown>> = Object.freeze({});

/** JSONB text as `pg` parses it; the common empty object without JSON.parse. */
function jsonColumn(text: string): unknown {
  return text === '{}' ? EMPTY_JSON : JSON.parse(text);
}

/** How `pg` (with the pool's int8 parser) would read each non-text column of a graph table. */
function graphParsers(columns: AttributeColumn[]): Record<string, ColumnParser> {
  const parsers: Record<string, ColumnParser> = { extra: jsonColumn, attr_types: jsonColumn };
  for (const column of columns) {
    if (column.kind === 'long') parsers[column.name] = Number;
    if (column.kind === 'double') parsers[column.name] = parseFloat;
  }
  return parsers;
}

const ENTITY_LAYOUT = { columns: ENTITY_LINE_COLUMNS, parsers: graphParsers(ENTITY_COLUMNS) };
const RELATION_LAYOUT = { columns: RELATION_LINE_COLUMNS, parsers: graphParsers(RELATION_COLUMNS) };

/**
 * The entities of `entityLines` text, for a batch that has to take the upsert path after
 * all (only its COPY text came from the reader thread). The text holds them as stored.
 */
export function entitiesOfLines(text: string): Entity[] {
  return decodeCopyText(text, ENTITY_LAYOUT).map(toEntity);
}

export function relationsOfLines(text: string): Relation[] {
  return decodeCopyText(text, RELATION_LAYOUT).map(toRelation);
}

/** The columns verify reads back from the graph tables (COPY out, or keyset pages). */
const ENTITY_SELECT = ['name', ...ENTITY_COLUMNS.map((c) => c.name), 'extra', 'attr_types'];
const RELATION_SELECT = [
  'source',
  'target',
  ...RELATION_COLUMNS.map((c) => c.name),
  'extra',
  'attr_types',
];

const ENTITY_READ_BACK = {
  table: ENTITIES_TABLE,
  columns: ENTITY_SELECT,
  parsers: graphParsers(ENTITY_COLUMNS),
};
const RELATION_READ_BACK = {
  table: RELATIONS_TABLE,
  columns: RELATION_SELECT,
  parsers: graphParsers(RELATION_COLUMNS),
};

/** What verify reads back of a graph store: its table, columns, and their parsers. */
export function readBackOf(store: string) {
  return store === ENTITY_STORE ? ENTITY_READ_BACK : RELATION_READ_BACK;
}

/** A graph table's row, read back, in canonical form. */
export function canonicalGraphRow(
  store: string,
  row: Record<string, unknown>,
  policy: TextPolicy,
): CanonicalRecord {
  return store === ENTITY_STORE
    ? canonicalEntityRow(toEntity(row), policy)
    : canonicalRelation(toRelation(row), policy);
}

const ENTITY_PLAIN_ROWS = new PlainRowReader(ENTITY_READ_BACK, 1);
const RELATION_PLAIN_ROWS = new PlainRowReader(RELATION_READ_BACK, 2);

/** The reader of a graph store's plain rows, in `readBackOf` columns. */
export function plainRowsOf(store: string): PlainRowReader {
  return store === ENTITY_STORE ? ENTITY_PLAIN_ROWS : RELATION_PLAIN_ROWS;
}

/** Digests each row of a graph store's COPY out text (`readBackOf` columns) into `digest`. */
export function digestGraphLines(
  store: string,
  text: string,
  policy: TextPolicy,
  digest: StoreDigest,
): void {
  const plain = plainRowsOf(store);
  const decoder = new RowDecoder(readBackOf(store));
  eachCopyLine(text, (line) => {
    if (plain.read(line)) {
      digest.add(plain.key, recordDigest(plain.key, plain.text));
      return;
    }
    const record = canonicalGraphRow(store, decoder.row(line), policy);
    digest.add(record.key, digestOf(record));
  });
}
