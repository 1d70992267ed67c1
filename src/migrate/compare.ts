import { hash } from 'node:crypto';
import { bucketGroups, bucketOf, type StoreDigest } from './digest.ts';
import { stableJson, type CanonicalRecord } from './canonical.ts';

/**
 * Record-by-record comparison, only inside the buckets whose checksums differ, a group of
 * buckets at a time so memory stays bounded. Each side is re-read for each group; records
 * are reduced to one digest per field, which is enough to name the fields that differ.
 */
export interface StoreDifferences {
  missing: string[];
  extra: string[];
  changed: { record: string; fields: string[] }[];
  /** Keys the source holds more than once (e.g. both A-B and B-A); the source's fault. */
  sourceDuplicates: string[];
  /** Rows only in PostgreSQL that carry no attributes: edge endpoints the file never declared. */
  undeclaredNodes: string[];
  /** Totals when the lists above were cut at LIST_LIMIT. */
  totals: { missing: number; extra: number; changed: number };
}

export const LIST_LIMIT = 10_000;
const GROUP_RECORDS = 50_000;

interface Entry {
  label: string;
  fields: Map<string, string>;
}

type Reader = (buckets: Set<number>) => AsyncIterable<CanonicalRecord[]>;

function fieldDigests(record: CanonicalRecord): Map<string, string> {
  const out = new Map<string, string>();
  for (const [field, value] of Object.entries(record.fields)) {
    if (value !== undefined) out.set(field, hash('md5', stableJson(value)));
  }
  return out;
}

async function collect(read: Reader, buckets: Set<number>): Promise<Map<string, Entry[]>> {
  const found = new Map<string, Entry[]>();
  for await (const page of read(buckets)) {
    for (const record of page) {
      if (!buckets.has(bucketOf(record.key))) continue;
      const entry = { label: record.label, fields: fieldDigests(record) };
      const list = found.get(record.key);
      if (list) list.push(entry);
      else found.set(record.key, [entry]);
    }
  }
  return found;
}

/** What the target should hold for a key given twice: networkx merges, JSON keeps the last. */
function expected(entries: Entry[], merges: boolean): Entry {
  if (!merges) return entries[entries.length - 1]!;
  const fields = new Map<string, string>();
  for (const entry of entries) for (const [k, v] of entry.fields) fields.set(k, v);
  return { label: entries[0]!.label, fields };
}

function changedFields(a: Entry, b: Entry): string[] {
  const names = new Set([...a.fields.keys(), ...b.fields.keys()]);
  return [...names].filter((name) => a.fields.get(name) !== b.fields.get(name)).sort();
}

/**
 * An entity the backend made for an edge endpoint the file never declared as a node (as
 * networkx's add_edge does): nothing but an entity_id equal to its name.
 */
function isBare(entry: Entry): boolean {
  const id = entry.fields.get('entity_id');
  return entry.fields.size === 1 && id === hash('md5', stableJson(entry.label));
}

function push<T>(list: T[], item: T): void {
  if (list.length < LIST_LIMIT) list.push(item);
}

function compareGroup(
  source: Map<string, Entry[]>,
  target: Map<string, Entry[]>,
  merges: boolean,
  out: StoreDifferences,
): void {
  for (const [key, entries] of source) {
    if (entries.length > 1) push(out.sourceDuplicates, entries[0]!.label);
    const want = expected(entries, merges);
    const have = target.get(key)?.[0];
    if (!have) {
      out.totals.missing++;
      push(out.missing, want.label);
      continue;
    }
    const fields = changedFields(want, have);
    if (fields.length === 0) continue;
    out.totals.changed++;
    push(out.changed, { record: want.label, fields });
  }
  for (const [key, entries] of target) {
    if (source.has(key)) continue;
    const entry = entries[0]!;
    if (merges && isBare(entry)) push(out.undeclaredNodes, entry.label);
    else {
      out.totals.extra++;
      push(out.extra, entry.label);
    }
  }
}

export function emptyDifferences(): StoreDifferences {
  return {
    missing: [],
    extra: [],
    changed: [],
    sourceDuplicates: [],
    undeclaredNodes: [],
    totals: { missing: 0, extra: 0, changed: 0 },
  };
}

/**
 * Lists every difference between two sides whose digests disagree; with `maxGroups`, only
 * those in the first groups of buckets (each group re-reads both sides).
 */
export async function findDifferences(
  sourceDigest: StoreDigest,
  targetDigest: StoreDigest,
  readSource: Reader,
  readTarget: Reader,
  merges: boolean,
  maxGroups = Infinity,
): Promise<StoreDifferences> {
  const out = emptyDifferences();
  const buckets = sourceDigest.differingBuckets(targetDigest);
  const groups = bucketGroups(buckets, sourceDigest, targetDigest, GROUP_RECORDS);
  for (const group of groups.slice(0, maxGroups)) {
    const source = await collect(readSource, group);
    const target = await collect(readTarget, group);
    compareGroup(source, target, merges, out);
  }
  return out;
}

export function differenceCount(d: StoreDifferences): number {
  return d.totals.missing + d.totals.extra + d.totals.changed;
}
