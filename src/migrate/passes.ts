import type { CanonicalRecord } from './canonical.ts';
import { digestOf, digestPages, earlyDigestKey, StoreDigest } from './digest.ts';
import { Findings } from './findings.ts';
import { graphKind } from './kinds/graph.ts';
import { kvKind } from './kinds/kv.ts';
import {
  recordCount,
  type PassContext,
  type SourceBatch,
  type StoreKindModule,
  type TargetContext,
} from './kinds/types.ts';
import { vectorKind } from './kinds/vectors.ts';
import type { StoreKind, StorePlan, WorkspacePlan } from './plan.ts';
import type { Progress } from './progress.ts';
import { newPolicy } from './records/text.ts';
import type { VectorFileFacts } from './source/vectors.ts';

/**
 * The passes over a workspace, shared by migrate, verify and export: check every source
 * file; stream every record (digesting it, and handing batches to a writer); read the
 * target back into digests; and re-read either side for the records of a few buckets.
 */
export const KINDS: Record<StoreKind, StoreKindModule> = {
  graph: graphKind,
  kv: kvKind,
  vector: vectorKind,
};

export interface Checked {
  counts: Record<string, number>;
  /** Per plan (by its store name): what the check learnt for the copy pass. */
  facts: Map<string, unknown>;
}

/** Every store a plan list yields, in order (the graph file yields two). */
export function storesOf(plans: StorePlan[]): string[] {
  return plans.flatMap((plan) => KINDS[plan.kind].stores(plan));
}

function checkDimensions(ctx: PassContext, checked: Checked, plans: StorePlan[]): void {
  const dims = new Map<string, number>();
  for (const plan of plans.filter((p) => p.kind === 'vector')) {
    const dim = (checked.facts.get(plan.store) as VectorFileFacts | undefined)?.embeddingDim;
    if (dim !== undefined) dims.set(plan.file, dim);
  }
  if (new Set(dims.values()).size <= 1) return;
  ctx.findings.add({
    severity: 'error',
    store: 'vectors',
    code: 'dimensions_differ',
    message:
      'the vector files disagree on the dimension (' +
      [...dims].map(([file, dim]) => `${file}: ${dim}`).join(', ') +
      '); they come from different embedding models and cannot share one set of tables',
  });
}

export async function checkWorkspace(
  ctx: PassContext,
  plan: WorkspacePlan,
  progress: Progress,
): Promise<Checked> {
  const checked: Checked = { counts: {}, facts: new Map() };
  for (const store of plan.stores) {
    progress.note(ctx.workspace, `checking ${store.file}`);
    const started = performance.now();
    const result = await KINDS[store.kind].check(ctx, store);
    const ms = Math.round(performance.now() - started);
    ctx.log.debug('migrate.file_checked', { file: store.file, ms });
    Object.assign(checked.counts, result.counts);
    checked.facts.set(store.store, result.facts);
  }
  checkDimensions(ctx, checked, plan.stores);
  return checked;
}

/** Receives each batch of the source pass (to write it) and the end of each plan. */
export interface BatchHandler {
  batch(plan: StorePlan, batch: SourceBatch): Promise<void>;
  done(plan: StorePlan): Promise<void>;
}

export interface SourceTotals {
  digests: Map<string, StoreDigest>;
  /** Milliseconds per store, reading and writing included. */
  times: Map<string, number>;
}

/** Streams every record, digesting per store; `handler` writes (or observes) each batch. */
export async function sourcePass(
  ctx: PassContext,
  plan: WorkspacePlan,
  checked: Checked,
  progress: Progress,
  phase: string,
  handler?: BatchHandler,
): Promise<SourceTotals> {
  const totals: SourceTotals = { digests: new Map(), times: new Map() };
  for (const store of plan.stores) {
    const names = KINDS[store.kind].stores(store);
    for (const name of names) {
      totals.digests.set(name, new StoreDigest());
      totals.times.set(name, 0);
      progress.start(ctx.workspace, phase, name, checked.counts[name] ?? 0);
    }
    await passOverPlan(ctx, store, checked, totals, progress, handler);
    for (const name of names) progress.end(ctx.workspace, name);
  }
  return totals;
}

async function passOverPlan(
  ctx: PassContext,
  store: StorePlan,
  checked: Checked,
  totals: SourceTotals,
  progress: Progress,
  handler: BatchHandler | undefined,
): Promise<void> {
  const facts = checked.facts.get(store.store);
  let mark = Date.now();
  const charge = (name: string) => {
    const now = Date.now();
    totals.times.set(name, (totals.times.get(name) ?? 0) + now - mark);
    mark = now;
  };
  for await (const batch of KINDS[store.kind].source(ctx, store, facts)) {
    const digest = totals.digests.get(batch.store)!;
    if (batch.digested) digest.addPacked(batch.digested.digests);
    if (batch.summed) digest.merge(batch.summed.digest);
    for (const item of batch.items) {
      digest.add(item.record.key, item.digest ?? digestOf(item.record));
    }
    await handler?.batch(store, batch);
    progress.advance(ctx.workspace, batch.store, recordCount(batch));
    charge(batch.store);
  }
  await handler?.done(store);
  charge(KINDS[store.kind].stores(store).at(-1)!);
}

/**
 * The target's rows of one store, digested; or the digest a writer took early, once that
 * store's rows were final (see `earlyDigestKey`).
 */
export async function targetDigest(
  target: TargetContext,
  plan: StorePlan,
  store: string,
  sourceRows: number,
): Promise<StoreDigest> {
  const early = target.state.get(earlyDigestKey(store)) as Promise<StoreDigest> | undefined;
  target.state.delete(earlyDigestKey(store));
  if (early) return early;
  const kind = KINDS[plan.kind];
  if (kind.digest) return kind.digest(target, plan, store, sourceRows);
  return digestPages(kind.target(target, plan, store));
}

/** A context for re-reading: the same files, with findings and notices thrown away. */
export function quietContext(ctx: PassContext): PassContext {
  const quiet = { findings: new Findings(), policy: newPolicy(ctx.workspace) };
  return { ...ctx, ...quiet, copyWs: undefined, edgeEnds: undefined, earlyEntities: undefined };
}

/** One store's source records again (for drill-down), as canonical pages. */
export async function* sourceRecords(
  ctx: PassContext,
  plan: StorePlan,
  facts: unknown,
  store: string,
): AsyncGenerator<CanonicalRecord[]> {
  for await (const batch of KINDS[plan.kind].source(quietContext(ctx), plan, facts)) {
    if (batch.store === store) yield batch.items.map((item) => item.record);
  }
}

export function planOf(plan: WorkspacePlan, store: string): StorePlan {
  const found = plan.stores.find((p) => KINDS[p.kind].stores(p).includes(store));
  if (!found) throw new Error(`no plan holds store ${store}`);
  return found;
}
