import type { GraphAttributes, GraphValue } from '../../formats/graphml.ts';
import type { SqlValue } from './sql.ts';
import { isStorableText, printable, type TextPolicy } from './text.ts';

/**
 * Graph attributes <-> columns. Each LightRAG attribute has a column; a value goes there
 * only when its type is the one LightRAG writes (text, a whole-number `created_at`, a
 * numeric `weight`), so a column never changes a value's type. Anything else, and every
 * non-standard attribute, is kept in `extra` (JSONB) with its GraphML type in `attr_types`
 * for numbers and booleans; numbers JSON cannot hold (NaN, ±Infinity, -0) are stored there
 * as text and restored by that type.
 */
type ColumnKind = 'text' | 'long' | 'double';

export interface AttributeColumn {
  name: string;
  kind: ColumnKind;
}

const text = (name: string): AttributeColumn => ({ name, kind: 'text' });

export const ENTITY_COLUMNS: AttributeColumn[] = [
  text('entity_id'),
  text('entity_type'),
  text('description'),
  text('source_id'),
  text('file_path'),
  { name: 'created_at', kind: 'long' },
  text('truncate'),
];

export const RELATION_COLUMNS: AttributeColumn[] = [
  { name: 'weight', kind: 'double' },
  text('description'),
  text('keywords'),
  text('source_id'),
  text('file_path'),
  { name: 'created_at', kind: 'long' },
  text('truncate'),
];

export interface EncodedAttributes {
  /** One value per column of the list, null when the attribute is absent or in extra. */
  columns: SqlValue[];
  extra: string;
  types: string;
}

function fitsColumn(kind: ColumnKind, value: GraphValue): boolean {
  if (kind === 'text') return typeof value === 'string';
  if (kind === 'long') return Number.isSafeInteger(value);
  return typeof value === 'number';
}

function graphmlType(value: GraphValue): string | undefined {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value !== 'number') return undefined;
  return Number.isSafeInteger(value) && !Object.is(value, -0) ? 'long' : 'double';
}

function jsonSafeNumber(value: number): number | string {
  if (Number.isFinite(value) && !Object.is(value, -0)) return value;
  return Object.is(value, -0) ? '-0' : String(value);
}

/** Whether the text policy would leave every key and text value as it is. */
export function attributesAreClean(properties: GraphAttributes): boolean {
  for (const key in properties) {
    const value = properties[key];
    if (!isStorableText(key)) return false;
    if (typeof value === 'string' && !isStorableText(value)) return false;
  }
  return true;
}

/**
 * The text policy applied to every string value and name, where the caller hands them
 * in. Returns `properties` itself when nothing needs changing (the common case).
 */
export function cleanAttributes(
  properties: GraphAttributes,
  policy: TextPolicy,
  where: { store: string; record: string },
): GraphAttributes {
  if (attributesAreClean(properties)) return properties;
  const clean: GraphAttributes = {};
  for (const [key, value] of Object.entries(properties)) {
    const safeKey = policy.text(key, where.store, where.record, `${printable(key)} (name)`);
    clean[safeKey] =
      typeof value === 'string' ? policy.text(value, where.store, where.record, safeKey) : value;
  }
  return clean;
}

const positions = new WeakMap<AttributeColumn[], Map<string, number>>();

function positionsOf(columns: AttributeColumn[]): Map<string, number> {
  let found = positions.get(columns);
  if (!found) positions.set(columns, (found = new Map(columns.map((c, i) => [c.name, i]))));
  return found;
}

/**
 * Columns, `extra` and `attr_types` for one entity or relation. With a policy, the text
 * policy is applied first (callers that cleaned the attributes already pass none).
 */
export function encodeAttributes(
  properties: GraphAttributes,
  columns: AttributeColumn[],
  policy?: TextPolicy,
  where?: { store: string; record: string },
): EncodedAttributes {
  const clean = policy && where ? cleanAttributes(properties, policy, where) : properties;
  const row: SqlValue[] = new Array(columns.length + 2);
  encodeAttributesInto(clean, columns, row, 0);
  const extra = row[columns.length] as string;
  return { columns: row.slice(0, columns.length), extra, types: row[columns.length + 1] as string };
}

/**
 * `encodeAttributes` of clean attributes written into `row` from `at`: the columns, then
 * `extra` and `attr_types`. The bulk path fills one reused row this way, so hundreds of
 * thousands of rows leave no arrays behind for the garbage collector.
 */
export function encodeAttributesInto(
  properties: GraphAttributes,
  columns: AttributeColumn[],
  row: SqlValue[],
  at: number,
): void {
  row.fill(null, at, at + columns.length);
  const position = positionsOf(columns);
  let extra: Record<string, unknown> | undefined;
  let types: Record<string, string> | undefined;
  for (const key in properties) {
    const value = properties[key]!;
    const index = position.get(key);
    if (index !== undefined && fitsColumn(columns[index]!.kind, value)) {
      row[at + index] = value;
      continue;
    }
    (extra ??= {})[key] = typeof value === 'number' ? jsonSafeNumber(value) : value;
    const type = graphmlType(value);
    if (type) (types ??= {})[key] = type;
  }
  row[at + columns.length] = jsonObject(extra);
  row[at + columns.length + 1] = jsonObject(types);
}

function jsonObject(value: object | undefined): string {
  return value ? JSON.stringify(value) : '{}';
}

function decodeExtra(value: unknown, type: string | undefined): GraphValue {
  if ((type === 'double' || type === 'long') && typeof value === 'string') return Number(value);
  return value as GraphValue;
}

/** Rebuilds the attributes from a row holding the columns, `extra` and `attr_types`. */
export function decodeAttributes(
  row: Record<string, unknown>,
  columns: AttributeColumn[],
): GraphAttributes {
  const properties: GraphAttributes = {};
  for (const column of columns) {
    const value = row[column.name];
    if (value !== null && value !== undefined) properties[column.name] = value as GraphValue;
  }
  const extra = (row.extra ?? {}) as Record<string, unknown>;
  const types = (row.attr_types ?? {}) as Record<string, string>;
  for (const [key, value] of Object.entries(extra)) {
    properties[key] = decodeExtra(value, types[key]);
  }
  return properties;
}

// Kept here too for callers that import the pair order with the codec (src/migrate).
export { compareCodePoints, orderedPair } from '../../graph/ids.ts';
