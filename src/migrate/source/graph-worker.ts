import { parentPort, workerData } from 'node:worker_threads';
import {
  GraphmlError,
  readGraphml,
  type GraphmlEdge,
  type GraphmlNode,
} from '../../formats/graphml.ts';

/**
 * Runs the GraphML reader off the main thread. The reader pushes nodes and edges into
 * synchronous callbacks, so on the main thread it could not wait for PostgreSQL: a slow
 * database would let the whole graph pile up in memory. Here the callbacks may block:
 * once `maxInFlight` batches wait unread, the worker sleeps on a shared counter until the
 * main thread takes one. Parsing also overlaps with the main thread's encoding and I/O.
 */
export interface GraphWorkerInput {
  path: string;
  wantsAttributes: boolean;
  batchSize: number;
  maxInFlight: number;
  /** Int32Array[0] = batches posted and not yet taken by the main thread. */
  inFlight: SharedArrayBuffer;
}

export type GraphWorkerMessage =
  /** JSON of {nodes, edges}: one string crosses threads far cheaper than object graphs. */
  | { kind: 'batch'; json: string }
  | { kind: 'directed' }
  | { kind: 'end' }
  | { kind: 'error'; reason: string; offset: number | undefined };

const input = workerData as GraphWorkerInput;
const counter = new Int32Array(input.inFlight);
/** A batch also ends at this many characters of text, whatever its record count (B19). */
const BATCH_CHARS = 8 * 1024 * 1024;
let nodes: GraphmlNode[] = [];
let edges: GraphmlEdge[] = [];
let chars = 0;

/** NaN and infinities (GraphML doubles may hold them) survive JSON as tagged strings. */
function numbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? { $number: String(value) } : value;
}

function post(message: GraphWorkerMessage): void {
  parentPort?.postMessage(message);
}

function flush(): void {
  if (nodes.length === 0 && edges.length === 0) return;
  for (;;) {
    const waiting = Atomics.load(counter, 0);
    if (waiting < input.maxInFlight) break;
    Atomics.wait(counter, 0, waiting);
  }
  Atomics.add(counter, 0, 1);
  const batch = { nodes, edges };
  // A replacer slows stringifying; only batches holding NaN or infinities need one.
  const plain = JSON.stringify(batch);
  post({ kind: 'batch', json: plain.includes('null') ? JSON.stringify(batch, numbers) : plain });
  nodes = [];
  edges = [];
  chars = 0;
}

function full(attributes: Record<string, unknown>): boolean {
  for (const value of Object.values(attributes)) {
    if (typeof value === 'string') chars += value.length;
  }
  return nodes.length + edges.length >= input.batchSize || chars >= BATCH_CHARS;
}

async function run(): Promise<void> {
  try {
    await readGraphml(input.path, {
      wantsAttributes: input.wantsAttributes,
      onNode: (node) => {
        nodes.push(node);
        if (full(node.attributes)) flush();
      },
      onEdge: (edge) => {
        edges.push(edge);
        if (full(edge.attributes)) flush();
      },
      onDirected: () => post({ kind: 'directed' }),
    });
    flush();
    post({ kind: 'end' });
  } catch (error) {
    if (!(error instanceof GraphmlError)) throw error;
    post({ kind: 'error', reason: error.reason, offset: error.offset });
  }
}

await run();
