import { existsSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.ts';
import type { GraphAttributes, GraphmlEdge } from '../formats/graphml.ts';
import { writeGraphml, type GraphmlSource } from '../formats/graphml-writer.ts';
import { newCleanReport, writePrettyJsonObject } from '../formats/json-writer.ts';
import { float16ToNumber } from '../formats/nano-vdb.ts';
import { float16Bits, writeNanoVdb, type NanoRowOut } from '../formats/nano-vdb-writer.ts';
import type { TextSink } from '../formats/sink.ts';
import { isRagspaceError, migrationErrors } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import {
  commitPrepared,
  discardPrepared,
  prepareFile,
  type PreparedFile,
} from '../storage/file/atomic.ts';
import { PENDING_VECTORS_FILE } from '../storage/file/layout.ts';
import { metaFields, nanoRow, PendingStore, writePending } from '../storage/file/vectors.ts';
import { toEntity, toRelation } from '../storage/postgres/graph.ts';
import { getRecords } from '../storage/postgres/records.ts';
import { getVectors } from '../storage/postgres/vectors.ts';
import type { KvNamespace, VectorNamespace, VectorRecord } from '../storage/types.ts';
import { workspaceName } from '../workspace/name.ts';
import type { TargetContext } from './kinds/types.ts';
import { graphRows } from './kinds/graph.ts';
import { specOf } from './kinds/kv.ts';
import { keysetPages } from './keyset.ts';
import { ENTITY_STORE, RELATION_STORE } from './records/graph.ts';
import { lockWorkspace } from './lock.ts';
import { storePlans, type StorePlan } from './plan.ts';
import type { MigrationReport } from './report.ts';
import { Spill } from './spill.ts';
import {
  anyStore,
  inspectVectorTables,
  openTarget,
  plannedVectorTables,
  selectedStores,
  tableExists,
  sessionFor,
  withClient,
  type TargetDb,
} from './target.ts';
import { KINDS } from './passes.ts';
import { verify } from './verify.ts';

/**
 * `ragspace export`: a workspace from PostgreSQL back into LightRAG's files, in a
 * directory LightRAG can be pointed at. Rows are spilled to a temporary file first, then
 * each store is written by the file writers into a temp file next to its target, and all
 * of them are renamed into place together (storage/file/atomic.ts). The export is then
 * verified against the rows. Vector rows without a vector cannot be in a nano-vectordb
 * file; they go to the file backend's sidecar of pending rows, as ragspace keeps them.
 */
export interface ExportOptions {
  workspace: string;
  out: string;
  verify?: boolean;
  log?: Logger;
}

export interface ExportReport {
  workspace: string;
  column: string;
  directory: string;
  files: { file: string; records: number }[];
  verification?: MigrationReport;
}

const PAGE = 2000;

interface Exported {
  spill: Spill;
  target: TargetContext;
  counts: Map<string, number>;
}

async function spillGraph(run: Exported): Promise<void> {
  for await (const rows of graphRows(run.target, ENTITY_STORE)) {
    for (const row of rows) {
      const entity = toEntity(row);
      const node = { name: entity.name, properties: entity.properties, types: row.attr_types };
      run.spill.append('nodes', node);
    }
    run.counts.set('graph', (run.counts.get('graph') ?? 0) + rows.length);
  }
  for await (const rows of graphRows(run.target, RELATION_STORE)) {
    for (const row of rows)
      run.spill.append('edges', { ...toRelation(row), types: row.attr_types });
  }
}

interface SpilledNode {
  name: string;
  properties: GraphAttributes;
  types: Record<string, string>;
}

interface SpilledEdge {
  source: string;
  target: string;
  properties: GraphAttributes;
  types: Record<string, string>;
}

/** GraphML types: the columns' (weight double, created_at long), else what `extra` recorded. */
function graphSource(spill: Spill): GraphmlSource {
  let types: Record<string, string> = {};
  const declared = (name: string): 'long' | 'double' | undefined => {
    const type = types[name];
    if (type === 'long' || type === 'double') return type;
    return name === 'weight' ? 'double' : name === 'created_at' ? 'long' : undefined;
  };
  return {
    *nodes() {
      for (const node of spill.read<SpilledNode>('nodes')) {
        types = node.types ?? {};
        yield [node.name, node.properties];
      }
    },
    *edges(): Generator<GraphmlEdge> {
      for (const edge of spill.read<SpilledEdge>('edges')) {
        types = edge.types ?? {};
        yield { source: edge.source, target: edge.target, attributes: edge.properties };
      }
    },
    numberType: (_scope, name) => declared(name),
  };
}

function idPages(run: Exported, table: string) {
  const query = { table, ws: run.target.ws, keys: ['id'], columns: 'id', pageSize: PAGE };
  return keysetPages(run.target.db, run.target.log, query);
}

function session(run: Exported, client: pg.PoolClient) {
  return sessionFor(run.target.db, client, run.target.workspace, run.target.log);
}

async function spillKv(run: Exported, plan: StorePlan): Promise<void> {
  const spec = specOf(plan.namespace as KvNamespace);
  for await (const rows of idPages(run, spec.table)) {
    const ids = rows.map((row) => row.id as string);
    const { db, log } = run.target;
    const found = await withClient(db, log, (client) =>
      getRecords(session(run, client), spec, ids),
    );
    for (const id of ids) run.spill.append(plan.store, [id, found.get(id)]);
    run.counts.set(plan.store, (run.counts.get(plan.store) ?? 0) + ids.length);
  }
}

interface SpilledVector {
  id: string;
  fields: Record<string, unknown>;
  vector: string | null;
  createdAt: number;
}

async function spillVectors(run: Exported, plan: StorePlan): Promise<void> {
  const namespace = plan.namespace as VectorNamespace;
  const table = plannedVectorTables(run.target.db)[namespace]!;
  for await (const page of idPages(run, table)) {
    const ids = page.map((row) => row.id as string);
    const { db, log } = run.target;
    const rows = await withClient(db, log, (client) =>
      getVectors(session(run, client), namespace, ids),
    );
    for (const row of rows) run.spill.append(plan.store, spilledVector(row));
    run.counts.set(plan.store, (run.counts.get(plan.store) ?? 0) + rows.length);
  }
}

function spilledVector(row: VectorRecord): SpilledVector {
  const vector = row.vector
    ? Buffer.from(row.vector.buffer, row.vector.byteOffset, row.vector.byteLength)
    : null;
  return {
    id: row.id,
    fields: row.fields,
    vector: vector?.toString('base64') ?? null,
    createdAt: row.createdAt,
  };
}

function vectorOf(spilled: SpilledVector): Float32Array | null {
  if (spilled.vector === null) return null;
  const bytes = Buffer.from(spilled.vector, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

const isHalfExact = (raw: Float32Array) => raw.every((x) => float16ToNumber(float16Bits(x)) === x);

function isUnit(raw: Float32Array): boolean {
  let sum = 0;
  for (const x of raw) sum += x * x;
  return Math.abs(Math.sqrt(sum) - 1) < 1e-5;
}

/**
 * A row as its source file had it. A vector that is exactly float16 came from a `vector`
 * field: written back there (and normalised into the matrix), bit for bit. A unit vector
 * that is not came from a matrix row of a file without `vector` fields: written back to
 * the matrix as it is, without a float16 copy that would not equal it. Any other vector
 * (written through the API) gets both, the float16 copy then rounding it, as LightRAG's
 * own files do.
 */
function exportRow(namespace: VectorNamespace, record: VectorRecord, raw: Float32Array) {
  if (isHalfExact(raw) || !isUnit(raw)) return nanoRow(namespace, record, raw);
  const data = {
    __id__: record.id,
    __created_at__: record.createdAt,
    ...metaFields(namespace, record.fields),
  };
  return { data, matrix: raw };
}

function* nanoRows(spill: Spill, plan: StorePlan): Generator<NanoRowOut> {
  const namespace = plan.namespace as VectorNamespace;
  for (const spilled of spill.read<SpilledVector>(plan.store)) {
    const raw = vectorOf(spilled);
    if (raw) yield exportRow(namespace, { ...spilled, vector: raw }, raw);
  }
}

function pendingOf(spill: Spill, plans: StorePlan[]): PendingStore {
  const pending = new PendingStore();
  for (const plan of plans.filter((p) => p.kind === 'vector')) {
    for (const spilled of spill.read<SpilledVector>(plan.store)) {
      if (spilled.vector !== null) continue;
      pending.set(plan.namespace as VectorNamespace, { ...spilled, vector: null });
    }
  }
  return pending;
}

async function spillStore(run: Exported, plan: StorePlan): Promise<void> {
  if (plan.kind === 'graph') await spillGraph(run);
  else if (plan.kind === 'kv') await spillKv(run, plan);
  else await spillVectors(run, plan);
}

function producer(run: Exported, plan: StorePlan, dim: number): (sink: TextSink) => Promise<void> {
  if (plan.kind === 'graph') return (sink) => writeGraphml(graphSource(run.spill), sink);
  if (plan.kind === 'kv') return (sink) => writePrettyJsonObject(run.spill.read(plan.store), sink);
  return (sink) => writeNanoVdb({ embeddingDim: dim, rows: () => nanoRows(run.spill, plan) }, sink);
}

async function writeFiles(run: Exported, plans: StorePlan[], out: string): Promise<void> {
  const dim = run.target.db.vectors?.dim ?? 0;
  const prepared: PreparedFile[] = [];
  try {
    for (const plan of plans)
      prepared.push(await prepareFile(join(out, plan.file), producer(run, plan, dim)));
    const pending = pendingOf(run.spill, plans);
    if (pending.size > 0) {
      const report = newCleanReport();
      const path = join(out, PENDING_VECTORS_FILE);
      prepared.push(await prepareFile(path, (sink) => writePending(pending, sink, report)));
    }
    await commitPrepared(out, prepared);
  } catch (error) {
    await discardPrepared(prepared);
    throw error;
  }
}

/**
 * Export writes only into a new or empty directory outside WORKING_DIR: anywhere inside
 * it, the files would replace a workspace's (or become one) under a running server, and
 * files already in the directory would be overwritten or mixed with the exported ones.
 */
function checkOut(config: Config, out: string): string {
  const directory = resolve(out);
  try {
    if (inside(realPathOf(directory), realPathOf(resolve(config.workingDir)))) {
      const reason = `it is inside WORKING_DIR (${config.workingDir})`;
      throw migrationErrors.exportTarget(directory, reason);
    }
    if (existsSync(directory) && readdirSync(directory).length > 0) {
      throw migrationErrors.exportTarget(directory, 'it is not empty');
    }
    mkdirSync(directory, { recursive: true });
  } catch (error) {
    if (isRagspaceError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'an unknown error';
    throw migrationErrors.exportTarget(directory, `it cannot be used as a directory (${code})`);
  }
  return directory;
}

/** The real path of a directory that may not exist yet (through its nearest parent). */
function realPathOf(directory: string): string {
  if (existsSync(directory)) return realpathSync(directory);
  const parent = resolve(directory, '..');
  if (parent === directory) return directory;
  return join(realPathOf(parent), relative(parent, directory));
}

function inside(path: string, root: string): boolean {
  const rest = relative(root, path);
  const above = rest === '..' || rest.startsWith('..' + sep);
  return !above && !isAbsolute(rest);
}

async function exportOn(db: TargetDb, name: string, out: string, log: Logger) {
  const target: TargetContext = {
    db,
    workspace: name,
    ws: db.columnOf(name),
    log,
    state: new Map(),
  };
  const plans = storePlans(db.stores);
  const run: Exported = { spill: new Spill(), target, counts: new Map() };
  try {
    for (const plan of plans) {
      // A table that was never created holds no rows: the store is written empty.
      if (await tableExists(db, log, KINDS[plan.kind].tables(target, plan))) {
        await spillStore(run, plan);
      }
    }
    run.spill.seal();
    // Most likely a mistyped name: empty files would look like a successful export.
    if ([...run.counts.values()].every((n) => n === 0)) {
      throw migrationErrors.exportEmpty(name, db.where);
    }
    await writeFiles(run, plans, out);
  } finally {
    run.spill.remove();
  }
  const files = plans.map((plan) => ({
    file: plan.file,
    records: run.counts.get(plan.store) ?? 0,
  }));
  return { workspace: name, column: target.ws, directory: out, files };
}

export async function exportWorkspace(
  config: Config,
  options: ExportOptions,
): Promise<ExportReport> {
  const log = options.log ?? createLogger({ command: 'export' });
  if (!anyStore(selectedStores(config))) throw migrationErrors.nothingToMigrate();
  const name = workspaceName(options.workspace);
  const out = checkOut(config, options.out);
  const db = await openTarget(config, log, false);
  let report: ExportReport;
  try {
    await inspectVectorTables(db, log);
    const lock = await lockWorkspace(db, name, db.columnOf(name), log);
    try {
      report = await exportOn(db, name, out, log);
    } finally {
      await lock.release();
    }
  } finally {
    await db.close();
  }
  if (options.verify !== false)
    report.verification = await verify(config, { workspace: name, directory: out, log });
  return report;
}
