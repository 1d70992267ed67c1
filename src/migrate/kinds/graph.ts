import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GraphmlError, type GraphmlEdge, type GraphmlNode } from '../../formats/graphml.ts';
import { GraphBuffer, updateDegrees } from '../../storage/postgres/graph.ts';
import { COPY_MIN_ROWS } from '../../storage/postgres/copy.ts';
import { inTransaction } from '../../storage/postgres/pool.ts';
import { ENTITIES_TABLE, RELATIONS_TABLE } from '../../storage/postgres/tables.ts';
import type { Entity, Relation } from '../../storage/types.ts';
import type { StorePlan } from '../plan.ts';
import {
  canonicalEntity,
  canonicalRelation,
  checkGraphId,
  checkSelfLoop,
  ENTITY_STORE,
  RELATION_STORE,
} from '../records/graph.ts';
import { newPolicy } from '../records/text.ts';
import { readGraphBatches, type GraphBatch } from '../source/graph.ts';
import type { GraphRows } from '../source/graph-worker.ts';
import {
  abandonBulk,
  copyRelations,
  edgeEndsOf,
  finishBulk,
  graphIsEmpty,
  stageEntities,
  startBulk,
  startEntityInsert,
  type BulkGraph,
} from './graph-bulk.ts';
import { copyOutPages } from '../copy-out.ts';
import { DigestThreadError, digestGraphTable, digestThreadsPay } from './graph-digest.ts';
import { abandonEarly, readEntitiesEarly, type EarlyEntities } from './graph-early.ts';
import { digestPages, earlyDigestKey } from '../digest.ts';
import { keysetPages } from '../keyset.ts';
import { sessionFor, withClient } from '../target.ts';
import {
  canonicalGraphRow,
  edgeEndLines,
  entitiesOfLines,
  entityLines,
  readBackOf,
  relationLines,
  relationsOfLines,
} from './graph-lines.ts';
import {
  drainNotices,
  recordCount,
  type PassContext,
  type SourceBatch,
  type StoreKindModule,
  type TargetContext,
} from './types.ts';

/**
 * The GraphML file into ragspace_entities / ragspace_relations through the backend's own
 * upsert (GraphBuffer: COPY into a staging table then INSERT ... ON CONFLICT on a real
 * server, multi-row INSERTs on PGlite), which merges attributes as networkx does, so a
 * repeated run, or a reciprocal duplicate edge in the file, leaves one row per key.
 * Degrees are recounted once, after the last batch.
 */
const PAGE = 2000;

function unreadable(ctx: PassContext, error: unknown): void {
  if (!(error instanceof GraphmlError)) throw error;
  const at = error.offset === undefined ? '' : ` (at byte ${error.offset})`;
  ctx.findings.add({
    severity: 'error',
    store: ENTITY_STORE,
    code: 'unreadable',
    message: `the GraphML file cannot be read: ${error.reason}${at}`,
  });
}

function directed(ctx: PassContext): void {
  ctx.findings.add({
    severity: 'source',
    store: RELATION_STORE,
    code: 'directed_graph',
    message: 'the file declares a directed graph; LightRAG keeps undirected edges, and so do we',
  });
}

function checkEdge(ctx: PassContext, edge: GraphmlEdge): void {
  checkGraphId(edge.source, RELATION_STORE, ctx.policy, ctx.findings);
  checkGraphId(edge.target, RELATION_STORE, ctx.policy, ctx.findings);
  checkSelfLoop(edge.source, edge.target, ctx.findings);
}

/** The batch's edge ends for `ctx.edgeEnds`: from the reader thread, or made here. */
function endsOf(batch: GraphBatch): string {
  if (batch.ends !== undefined) return batch.ends;
  let text = '';
  for (const edge of batch.edges) text += edgeEndLines(edge.source, edge.target);
  return text;
}

/**
 * A structural pass (values not decoded): well-formed XML, ids, counts, self-loops; and,
 * when a migration asks (`ctx.edgeEnds`), every edge's ends.
 */
async function check(ctx: PassContext, plan: StorePlan) {
  const counts = { [ENTITY_STORE]: 0, [RELATION_STORE]: 0 };
  const path = join(ctx.directory, plan.file);
  if (!existsSync(path)) return { counts };
  const ends = ctx.edgeEnds;
  try {
    const onDirected = () => directed(ctx);
    const options = { wantsAttributes: false, problemsOnly: true, onDirected, ends: !!ends };
    for await (const batch of readGraphBatches(path, options)) {
      for (const node of batch.nodes) checkGraphId(node.id, ENTITY_STORE, ctx.policy, ctx.findings);
      for (const edge of batch.edges) checkEdge(ctx, edge);
      counts[ENTITY_STORE] += batch.nodeCount ?? batch.nodes.length;
      counts[RELATION_STORE] += batch.edgeCount ?? batch.edges.length;
      await ends?.write(endsOf(batch));
    }
    await ends?.close();
  } catch (error) {
    unreadable(ctx, error);
  }
  return { counts };
}

function entityItems(ctx: PassContext, nodes: GraphmlNode[], digests?: string[]): SourceBatch {
  const items = nodes.map((node, i) => {
    const entity: Entity = { name: node.id, properties: node.attributes };
    const record = canonicalEntity(entity, ctx.policy, ctx.findings);
    return { record, write: entity, digest: digests?.[i] };
  });
  return { store: ENTITY_STORE, items };
}

function relationItems(ctx: PassContext, edges: GraphmlEdge[], digests?: string[]): SourceBatch {
  const items = edges.map((edge, i) => {
    const relation: Relation = {
      source: edge.source,
      target: edge.target,
      properties: edge.attributes,
    };
    const record = canonicalRelation(relation, ctx.policy, ctx.findings);
    return { record, write: relation, digest: digests?.[i] };
  });
  return { store: RELATION_STORE, items };
}

/** A reader-thread batch of rows: its findings reported, one source batch per store. */
function* rowBatches(ctx: PassContext, rows: GraphRows): Generator<SourceBatch> {
  ctx.findings.mergeGroups(rows.findings);
  ctx.policy.notices.push(...rows.notices);
  drainNotices(ctx);
  const batch = (store: string, count: number, lines: string, ids: DigestedIds) => ({
    store,
    items: [],
    digested: { count, lines, digests: ids.digests, pairedIds: ids.paired },
  });
  if (rows.nodeCount > 0) {
    const ids = { digests: rows.nodeDigests, paired: rows.nodeIds };
    yield batch(ENTITY_STORE, rows.nodeCount, rows.nodeCopy, ids);
  }
  if (rows.edgeCount > 0) {
    const ids = { digests: rows.edgeDigests, paired: rows.edgeIds };
    yield batch(RELATION_STORE, rows.edgeCount, rows.edgeCopy, ids);
  }
}

interface DigestedIds {
  digests: Uint32Array;
  paired: Uint32Array | undefined;
}

/** The copy pass's reader of the graph file. */
function readSource(ctx: PassContext, path: string) {
  const options = { wantsAttributes: true, digests: true, copyWs: ctx.copyWs };
  const onRenamed = () => ctx.edgeEnds?.renamed();
  return readGraphBatches(path, { ...options, pairedIds: ctx.pairedIds === true, onRenamed });
}

function* batchesOf(ctx: PassContext, batch: GraphBatch): Generator<SourceBatch> {
  if (batch.rows) {
    yield* rowBatches(ctx, batch.rows);
    return;
  }
  if (batch.nodes.length > 0) yield entityItems(ctx, batch.nodes, batch.nodeDigests);
  if (batch.edges.length > 0) yield relationItems(ctx, batch.edges, batch.edgeDigests);
  drainNotices(ctx);
}

/** The entities read and staged during the check, as one batch of their sums. */
function earlyBatch(ctx: PassContext, early: EarlyEntities): SourceBatch {
  ctx.findings.mergeGroups(early.findings.list());
  ctx.policy.notices.push(...early.notices);
  drainNotices(ctx);
  const { count, digest, pairedIds } = early;
  return { store: ENTITY_STORE, items: [], summed: { count, digest, pairedIds } };
}

async function* source(ctx: PassContext, plan: StorePlan): AsyncGenerator<SourceBatch> {
  const path = join(ctx.directory, plan.file);
  if (!existsSync(path)) return;
  const early = ctx.earlyEntities;
  ctx.earlyEntities = undefined;
  if (early) {
    await early.done;
    if (early.count > 0) yield earlyBatch(ctx, early);
    if (early.held) yield* batchesOf(ctx, early.held);
  }
  for await (const batch of early?.rest ?? readSource(ctx, path)) yield* batchesOf(ctx, batch);
}

/**
 * Rows per write transaction: on a real server enough for the backend to take its COPY
 * path (COPY_MIN_ROWS); on the PGlite socket few, as an open transaction there stalls
 * every other connection.
 */
const batchRows = (target: TargetContext) => (target.db.canCopy ? 5 * COPY_MIN_ROWS : 500);
/** Rows per COPY transaction into an empty graph: two of these are held at a time. */
const BULK_ROWS = 2500;

async function upsertBatch(target: TargetContext, store: string, writes: unknown[]) {
  await withClient(target.db, target.log, (client) =>
    inTransaction(client, 'BEGIN', async () => {
      const session = sessionFor(target.db, client, target.workspace, target.log);
      const buffer = new GraphBuffer();
      for (const item of writes) {
        if (store === ENTITY_STORE) buffer.addEntity(session, item as Entity);
        else buffer.addRelation(session, item as Relation);
      }
      await buffer.flush(session);
    }),
  );
}

/**
 * The bulk path's state, decided before the check pass (or, failing that, at the first
 * batch): only into an empty graph.
 */
async function bulkOf(target: TargetContext): Promise<BulkGraph | undefined> {
  if (!target.state.has('graph:bulk')) {
    const fresh = target.db.canCopy && (await graphIsEmpty(target));
    const upsert = (entities: Entity[]) => upsertBatch(target, ENTITY_STORE, entities);
    target.state.set('graph:bulk', fresh ? await startBulk(target, upsert) : undefined);
  }
  return target.state.get('graph:bulk') as BulkGraph | undefined;
}

/**
 * On the bulk path, the check pass hands the edge ends over for the degrees, and the copy
 * pass starts reading beside it, staging the entities (graph-early.ts).
 */
async function prepare(target: TargetContext, ctx: PassContext, plan: StorePlan) {
  const path = join(ctx.directory, plan.file);
  if (!existsSync(path)) return;
  const bulk = await bulkOf(target);
  if (!bulk) return;
  ctx.edgeEnds = edgeEndsOf(bulk);
  if (ctx.copyWs === undefined) return;
  const early = readEntitiesEarly(bulk, readSource(ctx, path));
  ctx.earlyEntities = early;
  target.state.set('graph:early', early);
}

/**
 * A store's records waiting for their transaction: as records (`writes`), or as the COPY
 * text the reader thread wrote (`lines`). One run gets one of the two forms.
 */
interface Pending {
  writes: unknown[];
  lines: string;
  rows: number;
  chars: number;
}

function pendingOf(target: TargetContext, store: string): Pending {
  let pending = target.state.get(`pending:${store}`) as Pending | undefined;
  if (!pending) {
    pending = { writes: [], lines: '', rows: 0, chars: 0 };
    target.state.set(`pending:${store}`, pending);
  }
  return pending;
}

/** The pending records, decoded from their COPY text when only that came. */
function recordsOf(store: string, pending: Pending): unknown[] {
  if (pending.writes.length > 0) return pending.writes;
  const lines = pending.lines;
  return store === ENTITY_STORE ? entitiesOfLines(lines) : relationsOfLines(lines);
}

/** The pending records as COPY text, written here when the reader thread did not. */
function linesOf(target: TargetContext, store: string, pending: Pending): string {
  if (pending.writes.length === 0) return pending.lines;
  const policy = newPolicy(target.workspace);
  return store === ENTITY_STORE
    ? entityLines(target.ws, pending.writes as Entity[], policy)
    : relationLines(target.ws, pending.writes as Relation[], policy);
}

/**
 * At the first relation: the entities read before it (LightRAG writes every node first)
 * are all staged, and their INSERT starts, to run beside the relations' COPY.
 */
async function beginRelations(target: TargetContext, bulk: BulkGraph): Promise<void> {
  target.state.set('graph:relations-begun', true);
  target.log.debug('migrate.graph_step', { step: 'relations_begun' });
  await target.state.get('graph:sending');
  const pending = target.state.get(`pending:${ENTITY_STORE}`) as Pending | undefined;
  target.state.delete(`pending:${ENTITY_STORE}`);
  if (pending?.rows) await sendBatch(target, ENTITY_STORE, pending);
  startEntityInsert(bulk);
}

async function sendBatch(target: TargetContext, store: string, pending: Pending) {
  const bulk = await bulkOf(target);
  if (!bulk) return upsertBatch(target, store, recordsOf(store, pending));
  if (store === ENTITY_STORE) return stageEntities(bulk, linesOf(target, store, pending));
  const copied =
    !bulk.relationsByUpsert && (await copyRelations(bulk, linesOf(target, store, pending)));
  if (copied) return;
  // The upsert also writes the relations' endpoints into the entities table: beside the
  // entities' INSERT, the two deadlock. The rest of the relations follow it.
  await bulk.entityInsert;
  await upsertBatch(target, store, recordsOf(store, pending));
}

/** Characters of text a pending batch may hold, however few its records (B19). */
const BATCH_CHARS = 16 * 1024 * 1024;

function textSize(item: unknown): number {
  let size = 0;
  for (const value of Object.values((item as Entity | Relation).properties)) {
    if (typeof value === 'string') size += value.length;
  }
  return size;
}

function collect(pending: Pending, batch: SourceBatch): void {
  for (const item of batch.items) {
    pending.writes.push(item.write);
    pending.chars += textSize(item.write);
  }
  pending.rows += recordCount(batch);
  if (batch.digested) {
    pending.lines += batch.digested.lines;
    pending.chars += batch.digested.lines.length;
  }
}

/** Records handed to the writer: how many rows the early read-back will find. */
function countRows(target: TargetContext, store: string, rows: number): void {
  const written = (target.state.get(`graph:written:${store}`) as number | undefined) ?? 0;
  target.state.set(`graph:written:${store}`, written + rows);
}

/** Collects a store's records into transactions of `batchRows` rows (or BATCH_CHARS). */
async function write(target: TargetContext, _plan: StorePlan, batch: SourceBatch) {
  countRows(target, batch.store, recordCount(batch));
  if (batch.summed) return; // staged while the check ran
  const bulk = await bulkOf(target);
  if (bulk && batch.store === RELATION_STORE && !target.state.has('graph:relations-begun')) {
    await beginRelations(target, bulk);
  }
  const pending = pendingOf(target, batch.store);
  collect(pending, batch);
  const size = bulk ? BULK_ROWS : batchRows(target);
  if (pending.rows < size && pending.chars < BATCH_CHARS) return;
  target.state.delete(`pending:${batch.store}`);
  // The next batches are read and converted while this one is being sent.
  await target.state.get('graph:sending');
  const sending = sendBatch(target, batch.store, pending);
  sending.catch(() => undefined); // awaited by the next send or by finish
  target.state.set('graph:sending', sending);
}

/**
 * After the last relation is written, nothing changes the relations (what follows writes
 * entities only), so verify's read-back of them starts here, on another connection, while
 * the server finishes the entities.
 */
function readRelationsEarly(target: TargetContext): void {
  const rows = (target.state.get(`graph:written:${RELATION_STORE}`) as number | undefined) ?? 0;
  const digest = graphDigest(target, RELATION_STORE, rows);
  digest.catch(() => undefined); // awaited by verify; a run that fails first never asks
  target.state.set(earlyDigestKey(RELATION_STORE), digest);
}

/** Sends what batching still holds, then settles entities and degrees. */
async function finish(target: TargetContext): Promise<void> {
  await target.state.get('graph:sending');
  target.state.delete('graph:sending');
  // Relations first: entities still pending came after the first edge, and wait for the
  // entities' INSERT, which the last relations need not.
  for (const store of [RELATION_STORE, ENTITY_STORE]) {
    const pending = target.state.get(`pending:${store}`) as Pending | undefined;
    target.state.delete(`pending:${store}`);
    if (pending?.rows) await sendBatch(target, store, pending);
  }
  const bulk = await bulkOf(target);
  target.state.delete('graph:bulk');
  target.state.delete('graph:relations-begun');
  target.state.delete('graph:early');
  if (!bulk) return recountDegrees(target);
  target.log.debug('migrate.graph_step', { step: 'relations_written' });
  readRelationsEarly(target);
  await finishBulk(bulk);
}

/** After a failed or refused run: the batch being sent is waited for, the bulk path let go. */
async function abandon(target: TargetContext): Promise<void> {
  await Promise.resolve(target.state.get('graph:sending')).catch(() => undefined);
  target.state.delete('graph:sending');
  const bulk = target.state.get('graph:bulk') as BulkGraph | undefined;
  target.state.delete('graph:bulk');
  target.state.delete('graph:relations-begun');
  if (bulk) abandonBulk(bulk);
  // After the connections: staging then fails, and the early reader stops.
  const early = target.state.get('graph:early') as EarlyEntities | undefined;
  target.state.delete('graph:early');
  if (early) await abandonEarly(early);
}

/**
 * Every entity's degree recounted, a page of names at a time. Statistics first: taken
 * while the workspace was empty, they make the planner scan every relation per name.
 */
async function recountDegrees(target: TargetContext): Promise<void> {
  await withClient(target.db, target.log, (client) =>
    client.query(`ANALYZE ${ENTITIES_TABLE}, ${RELATIONS_TABLE}`),
  );
  const query = { table: ENTITIES_TABLE, ws: target.ws, keys: ['name'], columns: 'name' };
  for await (const rows of keysetPages(target.db, target.log, { ...query, pageSize: 5000 })) {
    const names = rows.map((row) => row.name as string);
    await withClient(target.db, target.log, (client) =>
      updateDegrees(sessionFor(target.db, client, target.workspace, target.log), names),
    );
  }
}

/** The graph tables' rows of a workspace, raw, in key order. */
export function graphRows(target: TargetContext, store: string) {
  const { table, columns } = readBackOf(store);
  return keysetPages(target.db, target.log, {
    table,
    ws: target.ws,
    keys: store === ENTITY_STORE ? ['name'] : ['source', 'target'],
    columns: columns.join(', '),
    pageSize: PAGE,
  });
}

/**
 * The graph tables' rows for a digest, in any order: streamed by COPY on a real server,
 * keyset pages on PGlite.
 */
function unorderedGraphRows(target: TargetContext, store: string) {
  if (!target.db.canCopy) return graphRows(target, store);
  return copyOutPages(target.db, target.log, {
    ...readBackOf(store),
    ws: target.ws,
    pageSize: PAGE,
  });
}

async function* targetRows(target: TargetContext, store: string) {
  const quiet = newPolicy(target.workspace);
  for await (const rows of unorderedGraphRows(target, store)) {
    yield rows.map((row) => canonicalGraphRow(store, row, quiet));
  }
}

/** A graph store's digest: on worker threads for a large table on a real server. */
async function graphDigest(target: TargetContext, store: string, rows: number) {
  if (!target.db.canCopy || !digestThreadsPay(rows)) return digestPages(targetRows(target, store));
  try {
    return await digestGraphTable(target, store);
  } catch (error) {
    if (!(error instanceof DigestThreadError)) throw error;
    // A row too large for a thread's heap: this thread has the room.
    target.log.warn('migrate.digest_thread_failed', { store, reason: error.message });
    return digestPages(targetRows(target, store));
  }
}

export const graphKind: StoreKindModule = {
  stores: () => [ENTITY_STORE, RELATION_STORE],
  check,
  source,
  prepare,
  write,
  finish,
  abandon,
  target: (target, _plan, store) => targetRows(target, store),
  digest: (target, _plan, store, sourceRows) => graphDigest(target, store, sourceRows),
  tables: () => [RELATIONS_TABLE, ENTITIES_TABLE],
};
