import { parentPort, workerData } from 'node:worker_threads';
import {
  GraphmlError,
  readGraphml,
  type GraphmlEdge,
  type GraphmlNode,
} from '../../formats/graphml.ts';
import type { CanonicalRecord } from '../canonical.ts';
import { pairedId } from '../consistency.ts';
import { digestOf, PackedDigests, recordDigest } from '../digest.ts';
import { Findings, type FindingGroup } from '../findings.ts';
import { edgeEndLines, entityLines, relationLines } from '../kinds/graph-lines.ts';
import {
  canonicalEntity,
  canonicalRelation,
  ENTITY_STORE,
  RELATION_STORE,
} from '../records/graph.ts';
import { newPolicy } from '../records/text.ts';
import { isStorableText, type WriteNotice } from '../../storage/postgres/text.ts';

/**
 * Runs the GraphML reader off the main thread. The reader pushes nodes and edges into
 * synchronous callbacks, so on the main thread it could not wait for PostgreSQL: a slow
 * database would let the whole graph pile up in memory. Here the callbacks may block:
 * once `maxInFlight` batches wait unread, the worker sleeps on a shared counter until the
 * main thread takes one. The parsing here (and, when asked, checksums and COPY text)
 * overlaps the main thread's work and the database's.
 */
export interface GraphWorkerInput {
  path: string;
  wantsAttributes: boolean;
  batchSize: number;
  maxInFlight: number;
  /**
   * Also digest every record (`digestOf` of its canonical form), so the main thread, which
   * sends the rows, does not have to: the two threads share the work.
   */
  digests: boolean;
  /** Post only records whose ids could be refused, or self-loops (and every count). */
  problemsOnly: boolean;
  /**
   * Post rows (`GraphRows`: COPY text keyed by this workspace column, packed digests)
   * instead of records, so the records never cross to the main thread, which only sends
   * the text and adds the digests.
   */
  copyWs: string | undefined;
  /** With `copyWs`: also digest each record's vector id, for the consistency check. */
  pairedIds: boolean;
  /** Also post every edge's ends as COPY text (`edgeEndLines`) with each batch. */
  ends: boolean;
  /** Int32Array[0] = batches posted and not yet taken by the main thread. */
  inFlight: SharedArrayBuffer;
}

/** A batch of `copyWs` mode: everything the copy pass needs of its records. */
export interface GraphRows {
  nodeCount: number;
  edgeCount: number;
  /** COPY text (graph-lines.ts) of the nodes and of the edges. */
  nodeCopy: string;
  edgeCopy: string;
  /** `PackedDigests.words` of the records' canonical digests, and of their vector ids. */
  nodeDigests: Uint32Array;
  edgeDigests: Uint32Array;
  nodeIds?: Uint32Array;
  edgeIds?: Uint32Array;
  /** What digesting the records found (usually nothing), for the main thread's report. */
  findings: FindingGroup[];
  notices: WriteNotice[];
}

export type GraphWorkerMessage =
  /** JSON of {nodes, edges}: one string crosses threads far cheaper than object graphs. */
  | { kind: 'batch'; json: string; ends?: string }
  /** Strings and typed arrays are copied between threads as they are: no JSON. */
  | { kind: 'rows'; rows: GraphRows }
  | { kind: 'directed' }
  /** The first node delivered under its entity_id instead of its id (B04). */
  | { kind: 'renamed' }
  | { kind: 'end' }
  | { kind: 'error'; reason: string; offset: number | undefined };

interface GraphBatchOut {
  nodes: GraphmlNode[];
  edges: GraphmlEdge[];
  nodeCount: number;
  edgeCount: number;
  nodeDigests?: string[];
  edgeDigests?: string[];
}

const input = workerData as GraphWorkerInput;
const counter = new Int32Array(input.inFlight);
/** A batch also ends at this many characters of text, whatever its record count (B19). */
const BATCH_CHARS = 8 * 1024 * 1024;
let nodes: GraphmlNode[] = [];
let edges: GraphmlEdge[] = [];
let chars = 0;
let nodeCount = 0;
let edgeCount = 0;
/** Whether the batch holds a number JSON cannot carry (NaN, ±Infinity, -0). */
let oddNumbers = false;
/** With `ends`: the batch's edge ends as COPY text. */
let ends = '';
let renamed = false;
/** Canonical forms need the text policy's replacements; its notices are the main thread's. */
const policy = newPolicy('');

const isOdd = (value: number) => !Number.isFinite(value) || Object.is(value, -0);

/** NaN, infinities and -0 (GraphML doubles may hold them) survive JSON as tagged strings. */
function numbers(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || !isOdd(value)) return value;
  return { $number: Object.is(value, -0) ? '-0' : String(value) };
}

function relationOf(edge: GraphmlEdge) {
  return { source: edge.source, target: edge.target, properties: edge.attributes };
}

/** Each record's digest, in batch order: the same `digestOf` the main thread would take. */
function digestsOf(batch: GraphBatchOut): void {
  batch.nodeDigests = batch.nodes.map((node) =>
    digestOf(canonicalEntity({ name: node.id, properties: node.attributes }, policy)),
  );
  batch.edgeDigests = batch.edges.map((edge) =>
    digestOf(canonicalRelation(relationOf(edge), policy)),
  );
  policy.notices.length = 0;
}

/** Digests of `records` (and of their vector ids, when asked), packed to cross threads. */
function packed(store: string, records: CanonicalRecord[]) {
  const digests = new PackedDigests(records.length);
  const ids = input.pairedIds ? new PackedDigests(records.length) : undefined;
  for (const record of records) {
    digests.add(record.key, digestOf(record));
    if (!ids) continue;
    const id = pairedId(store, record);
    ids.add(id, recordDigest(id, ''));
  }
  return { digests: digests.words, ids: ids?.words };
}

/**
 * The batch as rows: canonical forms (findings kept for the main thread), digests, then
 * COPY text (whose policy notices repeat the canonical forms' and are dropped).
 */
function rowsOf(ws: string): GraphRows {
  const findings = new Findings();
  const entities = nodes.map((node) => ({ name: node.id, properties: node.attributes }));
  const relations = edges.map(relationOf);
  const nodeDigests = packed(
    ENTITY_STORE,
    entities.map((entity) => canonicalEntity(entity, policy, findings)),
  );
  const edgeDigests = packed(
    RELATION_STORE,
    relations.map((relation) => canonicalRelation(relation, policy, findings)),
  );
  const notices = policy.notices.splice(0);
  const rows: GraphRows = {
    nodeCount,
    edgeCount,
    nodeCopy: entityLines(ws, entities, policy),
    edgeCopy: relationLines(ws, relations, policy),
    nodeDigests: nodeDigests.digests,
    edgeDigests: edgeDigests.digests,
    findings: findings.list(),
    notices,
  };
  if (nodeDigests.ids) rows.nodeIds = nodeDigests.ids;
  if (edgeDigests.ids) rows.edgeIds = edgeDigests.ids;
  policy.notices.length = 0;
  return rows;
}

function post(message: GraphWorkerMessage): void {
  parentPort?.postMessage(message);
}

/** Blocks until fewer than `maxInFlight` batches wait unread, then claims a place. */
function claimPlace(): void {
  for (;;) {
    const waiting = Atomics.load(counter, 0);
    if (waiting < input.maxInFlight) break;
    Atomics.wait(counter, 0, waiting);
  }
  Atomics.add(counter, 0, 1);
}

/** The batch as JSON of its records (and their digests, if asked for). */
function recordsMessage(): GraphWorkerMessage {
  const batch: GraphBatchOut = { nodes, edges, nodeCount, edgeCount };
  if (input.digests) digestsOf(batch);
  // A replacer slows stringifying; only batches holding odd numbers need one.
  const json = JSON.stringify(batch, oddNumbers ? numbers : undefined);
  return input.ends ? { kind: 'batch', json, ends } : { kind: 'batch', json };
}

function flush(): void {
  if (nodeCount === 0 && edgeCount === 0) return;
  // The batch is digested and encoded before waiting for a place, so this work overlaps
  // the main thread's instead of following it.
  const message =
    input.copyWs !== undefined
      ? { kind: 'rows' as const, rows: rowsOf(input.copyWs) }
      : recordsMessage();
  claimPlace();
  post(message);
  nodes = [];
  edges = [];
  chars = 0;
  ends = '';
  nodeCount = edgeCount = 0;
  oddNumbers = false;
}

function full(attributes: Record<string, unknown>): boolean {
  for (const key in attributes) {
    const value = attributes[key];
    if (typeof value === 'string') chars += value.length;
    else if (typeof value === 'number' && isOdd(value)) oddNumbers = true;
  }
  return nodeCount + edgeCount >= input.batchSize || chars >= BATCH_CHARS;
}

/**
 * Whether the check pass must see a record: one of its ids is not storable as it is, or
 * an edge is a self-loop. The rest only count, and never cross to the main thread.
 */
function suspect(...ids: string[]): boolean {
  return !ids.every(isStorableText) || (ids.length === 2 && ids[0] === ids[1]);
}

function onNode(node: GraphmlNode): void {
  nodeCount++;
  if (!input.problemsOnly || suspect(node.id)) nodes.push(node);
  if (full(node.attributes)) flush();
}

function onEdge(edge: GraphmlEdge): void {
  edgeCount++;
  if (!input.problemsOnly || suspect(edge.source, edge.target)) edges.push(edge);
  if (input.ends) ends += edgeEndLines(edge.source, edge.target);
  if (full(edge.attributes)) flush();
}

function onRenamedNode(): void {
  if (!renamed) post({ kind: 'renamed' });
  renamed = true;
}

async function run(): Promise<void> {
  try {
    await readGraphml(input.path, {
      wantsAttributes: input.wantsAttributes,
      onNode,
      onEdge,
      onDirected: () => post({ kind: 'directed' }),
      onRenamedNode,
    });
    flush();
    post({ kind: 'end' });
  } catch (error) {
    if (!(error instanceof GraphmlError)) throw error;
    post({ kind: 'error', reason: error.reason, offset: error.offset });
  }
}

void run();
