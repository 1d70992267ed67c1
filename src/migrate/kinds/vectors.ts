import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { JsonFormatError } from '../../formats/json-stream.ts';
import { NanoVdbError } from '../../formats/nano-vdb-loader.ts';
import { decodeFloat16Vector } from '../../formats/nano-vdb.ts';
import { inTransaction } from '../../storage/postgres/pool.ts';
import { PENDING_VECTORS_FILE } from '../../storage/file/layout.ts';
import { loadPending, pendingRecord } from '../../storage/file/vectors.ts';
import { getVectors, upsertVectors } from '../../storage/postgres/vectors.ts';
import type { VectorNamespace, VectorRecord } from '../../storage/types.ts';
import type { CanonicalRecord } from '../canonical.ts';
import type { StorePlan } from '../plan.ts';
import { canonicalVector, checkVectorRow, vectorRecord } from '../records/vectors.ts';
import {
  readVectorRows,
  scanVectorFile,
  vectorFileProblems,
  type VectorFileFacts,
} from '../source/vectors.ts';
import { keysetPages } from '../keyset.ts';
import { plannedVectorTables, sessionFor, withClient } from '../target.ts';
import {
  drainNotices,
  type PassContext,
  type SourceBatch,
  type StoreKindModule,
  type TargetContext,
} from './types.ts';

/**
 * nano-vectordb files into LightRAG's suffixed vector tables, through the backend's upsert
 * (binary vectors in multi-row INSERTs, 200 rows a batch). The check pass proves every file
 * pairs its rows with its matrix and has the target's dimension before anything is written.
 */
const BATCH = 200;
const PAGE = 500;

function fail(ctx: PassContext, plan: StorePlan, code: string, message: string, record?: string) {
  const finding = { severity: 'error' as const, store: plan.store, code, message };
  ctx.findings.add(record === undefined ? finding : { ...finding, record });
}

function checkRow(ctx: PassContext, plan: StorePlan, item: unknown, index: number): void {
  const row = item as Record<string, unknown> | null;
  if (typeof row !== 'object' || row === null || typeof row.__id__ !== 'string') {
    fail(ctx, plan, 'bad_row', `data row ${index} is not an object with a string "__id__"`);
    return;
  }
  const namespace = plan.namespace as VectorNamespace;
  checkVectorRow(namespace, row.__id__, row, ctx.policy, ctx.findings);
  if (typeof row.vector !== 'string') return;
  try {
    decodeFloat16Vector(row.vector);
  } catch {
    fail(ctx, plan, 'bad_vector', 'the "vector" field is not base64 zlib float16', row.__id__);
  }
}

function checkShape(ctx: PassContext, plan: StorePlan, facts: VectorFileFacts): void {
  for (const problem of vectorFileProblems(facts)) fail(ctx, plan, 'matrix_mismatch', problem);
  const dim = facts.embeddingDim;
  if (dim === undefined || ctx.vectorDim === undefined || dim === ctx.vectorDim) return;
  fail(
    ctx,
    plan,
    'dimension_mismatch',
    `${plan.file} holds ${dim}-dimension vectors but the target tables hold ${ctx.vectorDim} ` +
      '(EMBEDDING_DIM); set EMBEDDING_DIM and EMBEDDING_MODEL to the model these vectors ' +
      'came from, or re-embed after migrating',
  );
}

/** Rows ragspace's file backend keeps without a vector (its hidden sidecar). */
async function pendingRows(ctx: PassContext, plan: StorePlan): Promise<VectorRecord[]> {
  const path = join(ctx.directory, PENDING_VECTORS_FILE);
  if (!existsSync(path)) return [];
  const store = await loadPending(path);
  return [...store.of(plan.namespace as VectorNamespace)].map(([id, row]) =>
    pendingRecord(id, row),
  );
}

async function checkPending(ctx: PassContext, plan: StorePlan): Promise<number> {
  try {
    const rows = await pendingRows(ctx, plan);
    for (const row of rows) {
      checkVectorRow(
        plan.namespace as VectorNamespace,
        row.id,
        row.fields,
        ctx.policy,
        ctx.findings,
      );
    }
    drainNotices(ctx);
    return rows.length;
  } catch (error) {
    if (!(error instanceof JsonFormatError)) throw error;
    fail(ctx, plan, 'unreadable', `${PENDING_VECTORS_FILE} cannot be read: ${error.reason}`);
    return 0;
  }
}

async function checkFile(ctx: PassContext, plan: StorePlan) {
  const path = join(ctx.directory, plan.file);
  if (!existsSync(path)) return { rows: 0, facts: undefined };
  try {
    const facts = await scanVectorFile(path, (item, index) => {
      checkRow(ctx, plan, item, index);
      if (index % BATCH === 0) drainNotices(ctx);
    });
    drainNotices(ctx);
    checkShape(ctx, plan, facts);
    return { rows: facts.rows, facts };
  } catch (error) {
    if (!(error instanceof JsonFormatError)) throw error;
    const where = `(at byte ${error.offset})`;
    fail(ctx, plan, 'unreadable', `${plan.file} cannot be read: ${error.reason} ${where}`);
    return { rows: 0, facts: undefined };
  }
}

async function check(ctx: PassContext, plan: StorePlan) {
  const file = await checkFile(ctx, plan);
  const pending = await checkPending(ctx, plan);
  return { counts: { [plan.store]: file.rows + pending }, facts: file.facts };
}

async function* fileRecords(
  ctx: PassContext,
  plan: StorePlan,
  facts: unknown,
): AsyncGenerator<VectorRecord> {
  const shape = facts as VectorFileFacts | undefined;
  const dim = shape?.embeddingDim;
  if (!shape || dim === undefined || shape.rows === 0) return;
  const namespace = plan.namespace as VectorNamespace;
  for await (const row of readVectors(join(ctx.directory, plan.file), shape)) {
    yield vectorRecord(namespace, row, dim, ctx.findings);
  }
}

async function* source(
  ctx: PassContext,
  plan: StorePlan,
  facts: unknown,
): AsyncGenerator<SourceBatch> {
  const namespace = plan.namespace as VectorNamespace;
  const halfvec = ctx.halfvec(plan.store);
  let items: SourceBatch['items'] = [];
  const all = [fileRecords(ctx, plan, facts), (await pendingRows(ctx, plan)).values()];
  for (const records of all) {
    for await (const write of records) {
      const fields = canonicalVector(namespace, write, halfvec);
      items.push({ record: { key: write.id, label: write.id, fields }, write });
      if (items.length < BATCH) continue;
      yield { store: plan.store, items };
      items = [];
    }
  }
  if (items.length > 0) yield { store: plan.store, items };
}

/** The row pass; a file the check pass passed fails here only if it changed since. */
async function* readVectors(path: string, facts: VectorFileFacts) {
  try {
    yield* readVectorRows(path, facts);
  } catch (error) {
    if (error instanceof NanoVdbError || error instanceof JsonFormatError) {
      throw new Error(`${path} no longer reads as it did when checked: ${error.message}`);
    }
    throw error;
  }
}

async function write(target: TargetContext, plan: StorePlan, batch: SourceBatch) {
  const rows = batch.items.map((item) => item.write as VectorRecord);
  await withClient(target.db, target.log, (client) =>
    inTransaction(client, 'BEGIN', () => {
      const session = sessionFor(target.db, client, target.workspace, target.log);
      return upsertVectors(session, plan.namespace as VectorNamespace, rows);
    }),
  );
}

function tableOf(target: TargetContext, plan: StorePlan): string {
  const namespace = plan.namespace as VectorNamespace;
  const found = target.db.schema.vectorTables[namespace]?.table;
  return found ?? (plannedVectorTables(target.db)[namespace] as string);
}

async function* targetRecords(
  target: TargetContext,
  plan: StorePlan,
): AsyncGenerator<CanonicalRecord[]> {
  const namespace = plan.namespace as VectorNamespace;
  const halfvec = target.db.schema.vectorTables[namespace]?.type === 'halfvec';
  const table = tableOf(target, plan);
  const query = { table, ws: target.ws, keys: ['id'], columns: 'id', pageSize: PAGE };
  for await (const page of keysetPages(target.db, target.log, query)) {
    const ids = page.map((row) => row.id as string);
    const rows = await withClient(target.db, target.log, (client) =>
      getVectors(sessionFor(target.db, client, target.workspace, target.log), namespace, ids),
    );
    yield rows.map((row) => ({
      key: row.id,
      label: row.id,
      fields: canonicalVector(namespace, row, halfvec),
    }));
  }
}

export const vectorKind: StoreKindModule = {
  stores: (plan) => [plan.store],
  check,
  source,
  write,
  target: targetRecords,
  tables: (target, plan) => [tableOf(target, plan)],
};
