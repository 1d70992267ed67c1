import { entityVectorId, relationVectorId } from '../graph/ids.ts';
import type { CanonicalRecord } from './canonical.ts';
import { findDifferences } from './compare.ts';
import { recordDigest, StoreDigest } from './digest.ts';
import type { Findings } from './findings.ts';
import type { SourceBatch } from './kinds/types.ts';
import { ENTITY_STORE, RELATION_STORE } from './records/graph.ts';

/**
 * Inconsistencies inside the source itself, found while its records stream past: vector
 * rows whose id matches no graph node, edge or chunk (by LightRAG's id rules: ent-md5(name),
 * rel-md5(sorted endpoints), chunk ids = text_chunks keys), and the reverse. They are the
 * source's, reported as such; the migration copies what is there.
 */
interface Pair {
  left: string;
  right: string;
  /** Finding code and wording for ids only on the left / only on the right. */
  leftOnly: [string, string];
  rightOnly: [string, string];
}

const PAIRS: Pair[] = [
  {
    left: ENTITY_STORE,
    right: 'vdb_entities',
    leftOnly: ['node_without_vector', 'graph nodes without an entity vector'],
    rightOnly: ['vector_without_node', 'entity vectors whose id matches no graph node'],
  },
  {
    left: RELATION_STORE,
    right: 'vdb_relationships',
    leftOnly: ['edge_without_vector', 'graph edges without a relation vector'],
    rightOnly: ['vector_without_edge', 'relation vectors whose id matches no graph edge'],
  },
  {
    left: 'text_chunks',
    right: 'vdb_chunks',
    leftOnly: ['chunk_without_vector', 'text chunks without a chunk vector'],
    rightOnly: ['vector_without_chunk', 'chunk vectors whose id matches no text chunk'],
  },
];

/** The id a record stands for in its pair (graph records map to their vector ids). */
export function pairedId(store: string, record: CanonicalRecord): string {
  if (store === ENTITY_STORE) return entityVectorId(record.key);
  if (store === RELATION_STORE) {
    const [low, high] = record.key.split('\u0001') as [string, string];
    return relationVectorId(low, high);
  }
  return record.key;
}

export type IdReader = (store: string) => AsyncIterable<CanonicalRecord[]>;

export class ConsistencyCheck {
  private readonly sets = new Map<string, StoreDigest>();

  constructor(private readonly stores: Set<string>) {}

  private active(): Pair[] {
    return PAIRS.filter((p) => this.stores.has(p.left) && this.stores.has(p.right));
  }

  /** Whether the check needs `store`'s ids (only when the store on its other side moves too). */
  needs(store: string): boolean {
    return this.active().some((p) => p.left === store || p.right === store);
  }

  observe(batch: SourceBatch): void {
    const store = batch.store;
    if (!this.needs(store)) return;
    let set = this.sets.get(store);
    if (!set) this.sets.set(store, (set = new StoreDigest()));
    if (batch.digested) {
      if (!batch.digested.pairedIds) throw new Error(`the reader sent no ids of ${store}`);
      set.addPacked(batch.digested.pairedIds);
    }
    if (batch.summed) set.merge(batch.summed.pairedIds);
    for (const { record } of batch.items) {
      const id = pairedId(store, record);
      set.add(id, recordDigest(id, ''));
    }
  }

  /** Reports each pair that disagrees; `read` re-reads a store's ids for the listing. */
  async report(findings: Findings, read: IdReader): Promise<void> {
    for (const pair of this.active()) {
      const left = this.sets.get(pair.left) ?? new StoreDigest();
      const right = this.sets.get(pair.right) ?? new StoreDigest();
      if (left.differingBuckets(right).length === 0) continue;
      const ids = (store: string) => (buckets: Set<number>) => idsOf(read(store), store, buckets);
      // Informational: one re-read of each side, whatever the number of differences.
      const found = await findDifferences(left, right, ids(pair.left), ids(pair.right), false, 1);
      addAll(findings, pair.left, pair.leftOnly, found.missing, found.totals.missing);
      addAll(findings, pair.right, pair.rightOnly, found.extra, found.totals.extra);
    }
  }
}

async function* idsOf(
  pages: AsyncIterable<CanonicalRecord[]>,
  store: string,
  _buckets: Set<number>,
): AsyncGenerator<CanonicalRecord[]> {
  for await (const page of pages) {
    yield page.map((record) => ({ key: pairedId(store, record), label: record.label, fields: {} }));
  }
}

function addAll(
  findings: Findings,
  store: string,
  [code, text]: [string, string],
  labels: string[],
  total: number,
): void {
  if (total === 0) return;
  const message =
    `${text} (the source's own inconsistency; copied as it is; counted among the first ` +
    '50,000 records compared)';
  for (const label of labels)
    findings.add({ severity: 'source', store, code, record: label, message });
}
