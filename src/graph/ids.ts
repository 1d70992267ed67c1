import { createHash } from 'node:crypto';

/**
 * Identifiers shared by every LightRAG backend, so rows written by ragspace are found by
 * LightRAG and the other way round. Names are ordered by Unicode code point, as Python
 * compares strings; JavaScript's `<` compares UTF-16 units and disagrees above U+FFFF.
 */
export const FIELD_SEPARATOR = '<SEP>';

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/**
 * Millions of relation keys are ordered during a migration: UTF-16 units are compared
 * directly while both are below the surrogates, where their order is the code points'.
 */
export function compareCodePoints(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x < y ? -1 : 1;
    return compareByCodePoint(a, b);
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareByCodePoint(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const cx = x.value.codePointAt(0) as number;
    const cy = y.value.codePointAt(0) as number;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/** The two endpoints of an undirected relation, smaller first. */
export function orderedPair(a: string, b: string): [string, string] {
  return compareCodePoints(a, b) <= 0 ? [a, b] : [b, a];
}

export const entityVectorId = (name: string): string => 'ent-' + md5Hex(name);

export function relationVectorId(source: string, target: string): string {
  const [low, high] = orderedPair(source, target);
  return 'rel-' + md5Hex(low + high);
}

/** Old data may hold the id of either order; both are tried when deleting. */
export function relationVectorIds(source: string, target: string): string[] {
  return [...new Set(['rel-' + md5Hex(source + target), 'rel-' + md5Hex(target + source)])];
}

export const chunkId = (content: string): string => 'chunk-' + md5Hex(content);

export function relationChunkKey(source: string, target: string): string {
  const [low, high] = orderedPair(source, target);
  return low + FIELD_SEPARATOR + high;
}

export function splitField(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  return value.split(FIELD_SEPARATOR).filter((part) => part !== '');
}

/** Joins values with <SEP>, keeping the first occurrence of each. */
export function joinUnique(values: string[]): string {
  return [...new Set(values.filter((v) => v !== ''))].join(FIELD_SEPARATOR);
}
