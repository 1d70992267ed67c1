import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { pairedId } from '../../src/migrate/consistency.ts';
import { digestOf, recordDigest, StoreDigest } from '../../src/migrate/digest.ts';
import { Findings } from '../../src/migrate/findings.ts';
import {
  entitiesOfLines,
  entityLines,
  relationLines,
  relationsOfLines,
} from '../../src/migrate/kinds/graph-lines.ts';
import { graphKind } from '../../src/migrate/kinds/graph.ts';
import type { PassContext, SourceBatch } from '../../src/migrate/kinds/types.ts';
import type { StorePlan } from '../../src/migrate/plan.ts';
import {
  canonicalEntity,
  canonicalRelation,
  ENTITY_STORE,
} from '../../src/migrate/records/graph.ts';
import { newPolicy } from '../../src/migrate/records/text.ts';
import type { Entity, Relation } from '../../src/storage/types.ts';
import { sampleWorkspaces } from './helpers.ts';

/**
 * A migration into a real server reads the GraphML on its own thread and takes back only
 * COPY text and packed digests (`rowsOnly`); verify and PGlite take the records. Both
 * forms must say the same of every sample: the same checksums, the same vector-id sums
 * for the consistency check, the same findings, and text that decodes to the records.
 */
process.env.RAGSPACE_GRAPH_THREAD_MIN_BYTES = '0';

const FILE = 'graph_chunk_entity_relation.graphml';
const PLAN = { kind: 'graph', store: 'graph', file: FILE } as unknown as StorePlan;

function context(directory: string, copyWs?: string): PassContext {
  const ctx: PassContext = {
    workspace: 'w',
    directory,
    policy: newPolicy('w'),
    findings: new Findings(),
    log: silentLogger,
    vectorDim: undefined,
    halfvec: () => false,
  };
  if (copyWs !== undefined) Object.assign(ctx, { copyWs, pairedIds: true });
  return ctx;
}

interface Seen {
  digests: Map<string, StoreDigest>;
  ids: Map<string, StoreDigest>;
  text: Map<string, string>;
}

function sums(map: Map<string, StoreDigest>, store: string): StoreDigest {
  if (!map.has(store)) map.set(store, new StoreDigest());
  return map.get(store)!;
}

function observe(seen: Seen, batch: SourceBatch): void {
  const { store } = batch;
  if (batch.digested) {
    sums(seen.digests, store).addPacked(batch.digested.digests);
    sums(seen.ids, store).addPacked(batch.digested.pairedIds!);
  }
  for (const item of batch.items) {
    sums(seen.digests, store).add(item.record.key, item.digest ?? digestOf(item.record));
    const id = pairedId(store, item.record);
    sums(seen.ids, store).add(id, recordDigest(id, ''));
  }
  seen.text.set(store, (seen.text.get(store) ?? '') + (batch.digested?.lines ?? ''));
}

async function pass(ctx: PassContext): Promise<Seen> {
  const seen: Seen = { digests: new Map(), ids: new Map(), text: new Map() };
  for await (const batch of graphKind.source(ctx, PLAN, undefined)) observe(seen, batch);
  return seen;
}

/** The decoded text's records, digested as the source side digests them. */
function decodedDigest(store: string, text: string): StoreDigest {
  const digest = new StoreDigest();
  const policy = newPolicy('w');
  const records =
    store === ENTITY_STORE
      ? entitiesOfLines(text).map((e: Entity) => canonicalEntity(e, policy))
      : relationsOfLines(text).map((r: Relation) => canonicalRelation(r, policy));
  for (const record of records) digest.add(record.key, digestOf(record));
  return digest;
}

describe('the GraphML reader thread: rows only, or records', () => {
  for (const sample of sampleWorkspaces()) {
    if (!existsSync(join(sample.directory, FILE))) continue;
    it(`gives the same sums, ids and findings for ${sample.label}`, async () => {
      const rowsCtx = context(sample.directory, 'w');
      const recordsCtx = context(sample.directory);
      const rows = await pass(rowsCtx);
      const records = await pass(recordsCtx);
      const entities = records.digests.get(ENTITY_STORE)?.records ?? 0;
      assert.equal((rows.text.get(ENTITY_STORE) ?? '').split('\n').length - 1, entities);
      for (const [store, digest] of records.digests) {
        assert.equal(rows.digests.get(store)?.checksum(), digest.checksum(), store);
        assert.equal(rows.digests.get(store)?.records, digest.records, store);
        assert.equal(rows.ids.get(store)?.checksum(), records.ids.get(store)!.checksum(), store);
        const decoded = decodedDigest(store, rows.text.get(store)!);
        assert.deepEqual(decoded.differingBuckets(digest), [], `${store} text decodes back`);
      }
      assert.deepEqual(rowsCtx.findings.list(), recordsCtx.findings.list());
    });
  }

  it('writes the same COPY text as the main thread would', async () => {
    const sample = sampleWorkspaces().find((s) => s.label === 'lennyhub')!;
    const rows = await pass(context(sample.directory, 'w'));
    const text = rows.text.get(ENTITY_STORE)!;
    const again = entityLines('w', entitiesOfLines(text), newPolicy('w'));
    // updated_at is the time of writing; everything before it must match.
    const strip = (lines: string) => lines.replace(/\t[^\t\n]*\n/g, '\n');
    assert.equal(strip(again), strip(text));
    const relations = rows.text.get('graph_relations') ?? '';
    assert.equal(
      strip(relationLines('w', relationsOfLines(relations), newPolicy('w'))),
      strip(relations),
    );
  });
});
