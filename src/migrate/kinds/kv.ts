import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { JsonFormatError } from '../../formats/json-stream.ts';
import { inTransaction } from '../../storage/postgres/pool.ts';
import type { Session } from '../../storage/postgres/session.ts';
import { DOC_STATUS_SPEC } from '../../storage/postgres/doc-status.ts';
import { KV_SPECS } from '../../storage/postgres/kv.ts';
import { getRecords, upsertRecords, type RecordTable } from '../../storage/postgres/records.ts';
import type { KvNamespace, KvRecord } from '../../storage/types.ts';
import type { CanonicalRecord } from '../canonical.ts';
import type { StorePlan } from '../plan.ts';
import { canonicalKv, canonicalKvRow, fileUpdateTime, recordForWrite } from '../records/kv.ts';
import { newPolicy } from '../records/text.ts';
import { isNestedCache, readKvEntries } from '../source/kv.ts';
import { keysetPages } from '../keyset.ts';
import { sessionFor, withClient } from '../target.ts';
import {
  drainNotices,
  type PassContext,
  type SourceBatch,
  type StoreKindModule,
  type TargetContext,
} from './types.ts';

/**
 * Key-value stores and doc status, through the backend's own field specs and upsert
 * (multi-row INSERT ... ON CONFLICT (workspace, id) DO UPDATE, one short transaction per
 * batch). Every check happens in `check`; the copy pass only converts and writes.
 */
const BATCH = 500;
const BATCH_BYTES = 16 * 1024 * 1024;
const PAGE = 1000;

export function specOf(namespace: KvNamespace): RecordTable {
  return namespace === 'doc_status' ? DOC_STATUS_SPEC : KV_SPECS[namespace];
}

function unreadable(ctx: PassContext, plan: StorePlan, error: unknown): void {
  if (!(error instanceof JsonFormatError)) throw error;
  ctx.findings.add({
    severity: 'error',
    store: plan.store,
    code: 'unreadable',
    message: `${plan.file} cannot be read: ${error.reason} (at byte ${error.offset})`,
  });
}

async function check(ctx: PassContext, plan: StorePlan) {
  const path = join(ctx.directory, plan.file);
  const spec = specOf(plan.namespace as KvNamespace);
  const llmCache = plan.namespace === 'llm_response_cache';
  let count = 0;
  if (!existsSync(path)) return { counts: { [plan.store]: 0 } };
  if (llmCache && (await isNestedCache(path).catch(() => false))) legacyLayout(ctx, plan);
  try {
    for await (const entry of readKvEntries(path, llmCache)) {
      canonicalKv(spec, entry.id, entry.value, ctx.policy, ctx.findings);
      if (++count % BATCH === 0) drainNotices(ctx);
    }
  } catch (error) {
    unreadable(ctx, plan, error);
  }
  drainNotices(ctx);
  return { counts: { [plan.store]: count } };
}

function legacyLayout(ctx: PassContext, plan: StorePlan): void {
  ctx.findings.add({
    severity: 'source',
    store: plan.store,
    code: 'nested_cache',
    message:
      'the old nested layout {mode: {hash: record}}; keys are flattened to ' +
      'mode:cache_type:hash, as LightRAG flattens them on load',
  });
}

async function* source(ctx: PassContext, plan: StorePlan): AsyncGenerator<SourceBatch> {
  const path = join(ctx.directory, plan.file);
  if (!existsSync(path)) return;
  const spec = specOf(plan.namespace as KvNamespace);
  // Checks were reported by `check`; this pass only needs the canonical form.
  const quiet = newPolicy(ctx.workspace);
  let items: SourceBatch['items'] = [];
  let bytes = 0;
  let last = 0;
  for await (const entry of readKvEntries(path, plan.namespace === 'llm_response_cache')) {
    // Records are as large as they come (whole documents): a batch ends at BATCH_BYTES too.
    bytes += entry.offset - last;
    last = entry.offset;
    const fields = canonicalKv(spec, entry.id, entry.value, quiet);
    quiet.notices.length = 0;
    const write = recordForWrite(spec, entry.value as KvRecord);
    items.push({ record: { key: entry.id, label: entry.id, fields }, write });
    if (items.length >= BATCH || bytes >= BATCH_BYTES) {
      yield { store: plan.store, items };
      items = [];
      bytes = 0;
    }
  }
  if (items.length > 0) yield { store: plan.store, items };
}

/**
 * The backend stamps update_time with "now", as JsonKVStorage does on every write; a copy
 * keeps the file's instead, set right after the upsert in the same transaction.
 */
async function keepUpdateTimes(
  session: Session,
  spec: RecordTable,
  records: Map<string, KvRecord>,
) {
  if (spec.stamps.format !== 'seconds') return;
  const ids = [...records.keys()];
  const times = ids.map((id) => fileUpdateTime(spec, records.get(id)!));
  const column = spec.stamps.columns[1];
  await session.client.query(
    `UPDATE ${spec.table} AS t SET ${column} = timezone('UTC', to_timestamp(v.u))
       FROM unnest($2::text[], $3::float8[]) AS v(id, u)
      WHERE t.workspace = $1 AND t.id = v.id`,
    [session.ws, ids, times],
  );
}

async function write(target: TargetContext, plan: StorePlan, batch: SourceBatch) {
  const spec = specOf(plan.namespace as KvNamespace);
  const records = new Map<string, KvRecord>();
  for (const item of batch.items) records.set(item.record.key, item.write as KvRecord);
  await withClient(target.db, target.log, (client) =>
    inTransaction(client, 'BEGIN', async () => {
      const session = sessionFor(target.db, client, target.workspace, target.log);
      await upsertRecords(session, spec, records);
      await keepUpdateTimes(session, spec, records);
    }),
  );
}

async function* targetRecords(
  target: TargetContext,
  plan: StorePlan,
): AsyncGenerator<CanonicalRecord[]> {
  const spec = specOf(plan.namespace as KvNamespace);
  const query = { table: spec.table, ws: target.ws, keys: ['id'], columns: 'id', pageSize: PAGE };
  for await (const rows of keysetPages(target.db, target.log, query)) {
    const ids = rows.map((row) => row.id as string);
    const records = await withClient(target.db, target.log, (client) =>
      getRecords(sessionFor(target.db, client, target.workspace, target.log), spec, ids),
    );
    yield ids.map((id) => canonicalRow(spec, id, records.get(id)));
  }
}

function canonicalRow(spec: RecordTable, id: string, record: KvRecord | undefined) {
  const fields = record ? canonicalKvRow(spec, record) : { $unreadable: true };
  return { key: id, label: id, fields };
}

export const kvKind: StoreKindModule = {
  stores: (plan) => [plan.store],
  check,
  source,
  write,
  target: targetRecords,
  tables: (_target, plan) => [specOf(plan.namespace as KvNamespace).table],
};
