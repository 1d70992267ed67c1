import type { Logger } from '../../log.ts';
import type { TextPolicy, WriteNotice } from '../../storage/postgres/text.ts';
import type { CanonicalRecord } from '../canonical.ts';
import type { StoreDigest } from '../digest.ts';
import type { EarlyEntities } from './graph-early.ts';
import type { Findings } from '../findings.ts';
import type { StorePlan } from '../plan.ts';
import type { TargetDb } from '../target.ts';

/**
 * What the three kinds of store (graph, key-value, vector) provide to the passes over a
 * workspace: a check of the source file, its records in canonical form (each with what the
 * writer needs), a writer into PostgreSQL, and the rows read back in canonical form.
 */
export interface PassContext {
  workspace: string;
  /** Directory the source files are read from. */
  directory: string;
  policy: TextPolicy;
  findings: Findings;
  log: Logger;
  /** The target's vector dimension (EMBEDDING_DIM), when vectors move. */
  vectorDim: number | undefined;
  /** Whether each vector table stores halfvec (float16) rather than vector. */
  halfvec: (store: string) => boolean;
  /**
   * Set by a migration into a real server: the target's workspace column, so a reader that
   * can (the GraphML reader thread) also writes each batch as COPY text.
   */
  copyWs?: string;
  /** With `copyWs`: the reader also digests graph records' vector ids (consistency.ts). */
  pairedIds?: boolean;
  /**
   * Set by a migration on the bulk graph path, for the check pass: it hands over every
   * edge's ends, so the entities' degrees are known before any entity is written.
   */
  edgeEnds?: EdgeEnds;
  /** Set with `edgeEnds`: the copy pass's reader, started beside the check (graph-early.ts). */
  earlyEntities?: EarlyEntities;
}

export interface EdgeEnds {
  /** Takes `edgeEndLines` text. */
  write(text: string): Promise<void>;
  /** After the check pass's last edge. */
  close(): Promise<void>;
  /** The copy pass renamed a node (B04): the ends the check read name its old id. */
  renamed(): void;
}

export interface SourceItem {
  record: CanonicalRecord;
  /** The record as the writer takes it (kind-specific). */
  write: unknown;
  /** `digestOf(record)`, when the reader thread computed it already. */
  digest?: string;
}

export interface SourceBatch {
  store: string;
  /** The records; empty when they were `digested` on the reader thread instead. */
  items: SourceItem[];
  /** Records that never left the reader thread: only their digests and COPY text came. */
  digested?: DigestedRecords;
  /** Records written before the copy pass began (graph-early.ts): only their sums come. */
  summed?: SummedRecords;
}

export interface SummedRecords {
  count: number;
  digest: StoreDigest;
  /** The digest of their vector ids, for the consistency check. */
  pairedIds: StoreDigest;
}

export interface DigestedRecords {
  count: number;
  /** The records as COPY text (which the writer decodes if it ever needs the records). */
  lines: string;
  /** `PackedDigests.words` of the records' digests. */
  digests: Uint32Array;
  /** The same of each record's paired vector id, when the consistency check needs them. */
  pairedIds?: Uint32Array;
}

/** The records a batch stands for, whichever form they came in. */
export function recordCount(batch: SourceBatch): number {
  return batch.digested?.count ?? batch.summed?.count ?? batch.items.length;
}

export interface CheckResult {
  /** Records per store, for progress totals and the summary. */
  counts: Record<string, number>;
  /** Kind-specific facts the later passes reuse (vector file shapes). */
  facts?: unknown;
}

export interface TargetContext {
  db: TargetDb;
  workspace: string;
  ws: string;
  log: Logger;
  /** Per-run scratch of the writers (COPY batching, fallbacks). */
  state: Map<string, unknown>;
}

export interface StoreKindModule {
  /** The stores one plan yields (the graph file yields entities and relations). */
  stores(plan: StorePlan): string[];
  check(ctx: PassContext, plan: StorePlan): Promise<CheckResult>;
  source(ctx: PassContext, plan: StorePlan, facts: unknown): AsyncGenerator<SourceBatch>;
  /** Before the check pass of a migration (it may set up `ctx.edgeEnds`). */
  prepare?(target: TargetContext, ctx: PassContext, plan: StorePlan): Promise<void>;
  write(target: TargetContext, plan: StorePlan, batch: SourceBatch): Promise<void>;
  /** After every batch of the plan is written (graph degrees). */
  finish?(target: TargetContext, plan: StorePlan): Promise<void>;
  /**
   * After a failed or refused run: lets go of what `prepare` and `write` hold (connections
   * kept across batches).
   */
  abandon?(target: TargetContext): Promise<void>;
  target(target: TargetContext, plan: StorePlan, store: string): AsyncGenerator<CanonicalRecord[]>;
  /**
   * The digest of `target`'s rows, where the kind has a faster way than digesting them one
   * by one here; `sourceRows` says how many to expect.
   */
  digest?(
    target: TargetContext,
    plan: StorePlan,
    store: string,
    sourceRows: number,
  ): Promise<StoreDigest>;
  /** Tables and row counts of the workspace, for rollback. */
  tables(target: TargetContext, plan: StorePlan): string[];
}

const NOTICE_TEXT: Record<WriteNotice['kind'], string> = {
  nul_replaced: 'NUL characters replaced by U+FFFD (PostgreSQL text and JSONB cannot hold NUL)',
  surrogate_replaced: 'lone UTF-16 surrogates replaced by U+FFFD (not valid UTF-8)',
  field_not_stored:
    "no column in LightRAG's table for this field: not stored (LightRAG's own PostgreSQL " +
    'backend drops it too)',
};

/** Moves the policy's notices into the findings (as warnings), emptying the policy. */
export function drainNotices(ctx: PassContext): void {
  for (const notice of ctx.policy.notices) {
    ctx.findings.add({
      severity: 'warning',
      store: notice.store,
      code: notice.kind === 'field_not_stored' ? 'not_stored' : notice.kind,
      record: notice.record,
      field: notice.field.replace(/\[\d+\]/g, '[]'),
      message: NOTICE_TEXT[notice.kind],
    });
  }
  ctx.policy.notices.length = 0;
}
