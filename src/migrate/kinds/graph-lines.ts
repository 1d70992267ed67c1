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
import { decodeCopyText, type ColumnParser } from '../copy-out.ts';

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

const EMPTY_JSON: Readonly<Record<string, unknown>> = Object.freeze({});

/** JSONB text as `pg` parses it; the common empty object without JSON.parse. */
function jsonColumn(text: string): unknown {
  return text === '{}' ? EMPTY_JSON : JSON.parse(text);
}

/** How `pg` (with the pool's int8 parser) would read each non-text column of a graph table. */
export function graphParsers(columns: AttributeColumn[]): Record<string, ColumnParser> {
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
