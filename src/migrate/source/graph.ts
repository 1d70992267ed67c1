import { stat } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import {
  GraphmlError,
  readGraphml,
  type GraphmlEdge,
  type GraphmlNode,
} from '../../formats/graphml.ts';
import { startTsWorker } from '../threads.ts';
import type { GraphRows, GraphWorkerInput, GraphWorkerMessage } from './graph-worker.ts';

/**
 * The graph file as a stream of batches. A large file is read by `graph-worker.ts` on its
 * own thread with back-pressure: at most `maxInFlight` batches wait in memory, whatever
 * the file's size (the reader's callbacks are synchronous, so on this thread nothing
 * could make it wait for PostgreSQL).
 */
export interface GraphBatch {
  nodes: GraphmlNode[];
  edges: GraphmlEdge[];
  /** With `digests`, from the reader thread: `digestOf` each node's canonical form. */
  nodeDigests?: string[];
  edgeDigests?: string[];
  /** The records read; with `problemsOnly`, more than the batch holds. */
  nodeCount?: number;
  edgeCount?: number;
  /** With `copyWs`, from the reader thread, instead of nodes and edges. */
  rows?: GraphRows;
  /** With `ends`, from the reader thread: every edge's ends (`edgeEndLines`). */
  ends?: string;
}

export interface GraphReadOptions {
  /** False skips decoding `<data>` values (a well-formedness and id pass). */
  wantsAttributes: boolean;
  batchSize?: number;
  maxInFlight?: number;
  /** Digest every record on the reader thread (only large files have one). */
  digests?: boolean;
  /**
   * Hand over only records the check pass reports (ids not storable, self-loops), but
   * count them all: most records then never cross from the reader thread.
   */
  problemsOnly?: boolean;
  /**
   * On the reader thread, hand over `rows` (COPY text with this workspace column, packed
   * digests, findings) and never the records themselves. Small files, read on this
   * thread, still yield records.
   */
  copyWs?: string;
  /** With `copyWs`: digest each record's vector id as well (for consistency.ts). */
  pairedIds?: boolean;
  /**
   * On the reader thread, also write every edge's ends as COPY text (`GraphBatch.ends`),
   * even with `problemsOnly`. Files read on this thread have every edge in the batch.
   */
  ends?: boolean;
  /** Called when the file declares `edgedefault="directed"`. */
  onDirected?: () => void;
  /** Called (once) when a node is delivered under its entity_id instead of its id (B04). */
  onRenamed?: () => void;
}

const WORKER_URL = new URL('./graph-worker.ts', import.meta.url).href;

function startWorker(input: GraphWorkerInput): Worker {
  // The young generation is where the reader's garbage dies. At 8 MB, scavenges took a
  // quarter of its time on the 1.4 GB bench graph; 32 MB took 12 s off the migration for
  // 7 MB more RSS (64 MB gained nothing more). The old generation stays capped, so the
  // heap does not grow into what V8 would otherwise allow itself.
  const resourceLimits = { maxYoungGenerationSizeMb: 32, maxOldGenerationSizeMb: 512 };
  return startTsWorker(WORKER_URL, input, resourceLimits);
}

/** Queues worker messages and hands them out one `await` at a time. */
class Mailbox {
  private readonly queue: GraphWorkerMessage[] = [];
  private wake: (() => void) | undefined;
  private failure: unknown;

  put(message: GraphWorkerMessage): void {
    this.queue.push(message);
    this.wake?.();
  }

  fail(error: unknown): void {
    this.failure ??= error;
    this.wake?.();
  }

  async take(): Promise<GraphWorkerMessage> {
    while (this.queue.length === 0) {
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.queue.shift() as GraphWorkerMessage;
  }
}

function numbers(_key: string, value: unknown): unknown {
  const tagged = value as { $number?: unknown } | null;
  if (typeof tagged !== 'object' || tagged === null || typeof tagged.$number !== 'string') {
    return value;
  }
  return Number(tagged.$number);
}

function workerExit(code: number): Error {
  return new Error(`the GraphML reader thread stopped unexpectedly (exit code ${code})`);
}

/**
 * Below this size the file is parsed on this thread into memory (a few times its size at
 * most): starting the reader thread costs most of a second, more than such a file takes.
 * RAGSPACE_GRAPH_THREAD_MIN_BYTES moves the line (the tests send every sample through the
 * reader thread with 0).
 */
const IN_THREAD_BYTES = 8 * 1024 * 1024;

function inThreadBytes(): number {
  const configured = Number(process.env.RAGSPACE_GRAPH_THREAD_MIN_BYTES);
  return Number.isInteger(configured) && configured >= 0 ? configured : IN_THREAD_BYTES;
}

async function* inThread(path: string, options: GraphReadOptions): AsyncGenerator<GraphBatch> {
  const all: GraphBatch = { nodes: [], edges: [] };
  await readGraphml(path, {
    wantsAttributes: options.wantsAttributes,
    onNode: (node) => all.nodes.push(node),
    onEdge: (edge) => all.edges.push(edge),
    onDirected: () => options.onDirected?.(),
    onRenamedNode: () => options.onRenamed?.(),
  });
  const size = options.batchSize ?? 2000;
  for (let i = 0; i < all.nodes.length; i += size) {
    yield { nodes: all.nodes.slice(i, i + size), edges: [] };
  }
  for (let i = 0; i < all.edges.length; i += size) {
    yield { nodes: [], edges: all.edges.slice(i, i + size) };
  }
}

/** Yields the graph in batches; throws GraphmlError for a damaged file. */
export async function* readGraphBatches(
  path: string,
  options: GraphReadOptions,
): AsyncGenerator<GraphBatch> {
  if ((await stat(path)).size < inThreadBytes()) {
    yield* inThread(path, options);
    return;
  }
  yield* inWorker(path, options);
}

async function* inWorker(path: string, options: GraphReadOptions): AsyncGenerator<GraphBatch> {
  const inFlight = new SharedArrayBuffer(4);
  const counter = new Int32Array(inFlight);
  const worker = startWorker({
    path,
    wantsAttributes: options.wantsAttributes,
    // Small batches, several waiting: both threads' young generations stay small (less
    // garbage collection, lower RSS) while the reader keeps ahead of the main thread.
    batchSize: options.batchSize ?? 250,
    maxInFlight: options.maxInFlight ?? 8,
    digests: options.digests === true,
    problemsOnly: options.problemsOnly === true,
    copyWs: options.copyWs,
    pairedIds: options.pairedIds === true,
    ends: options.ends === true,
    inFlight,
  });
  const mailbox = new Mailbox();
  worker.on('message', (message: GraphWorkerMessage) => mailbox.put(message));
  worker.on('error', (error) => mailbox.fail(error));
  worker.on('exit', (code) => mailbox.fail(workerExit(code)));
  try {
    yield* drain(mailbox, counter, options);
  } finally {
    await worker.terminate();
  }
}

async function* drain(
  mailbox: Mailbox,
  counter: Int32Array,
  options: GraphReadOptions,
): AsyncGenerator<GraphBatch> {
  for (;;) {
    const message = await mailbox.take();
    if (message.kind === 'end') return;
    if (message.kind === 'error') throw new GraphmlError(message.reason, message.offset);
    if (message.kind === 'directed') {
      options.onDirected?.();
      continue;
    }
    if (message.kind === 'renamed') {
      options.onRenamed?.();
      continue;
    }
    Atomics.sub(counter, 0, 1);
    Atomics.notify(counter, 0);
    if (message.kind === 'rows') {
      yield { nodes: [], edges: [], rows: message.rows };
      continue;
    }
    // A reviver slows parsing several times over; only batches that need one get it.
    const tagged = message.json.includes('"$number"');
    const batch = (
      tagged ? JSON.parse(message.json, numbers) : JSON.parse(message.json)
    ) as GraphBatch;
    if (message.ends !== undefined) batch.ends = message.ends;
    yield batch;
  }
}
