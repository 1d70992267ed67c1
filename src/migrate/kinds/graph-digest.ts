import type { Worker } from 'node:worker_threads';
import { copyOutText } from '../copy-out.ts';
import { StoreDigest } from '../digest.ts';
import { startTsWorker } from '../threads.ts';
import type {
  GraphDigestJob,
  GraphDigestReply,
  GraphDigestRequest,
} from './graph-digest-worker.ts';
import { readBackOf } from './graph-lines.ts';
import type { TargetContext } from './types.ts';

/**
 * Verify's digest of a large graph table on a real server, taken on worker threads: this
 * thread only reads the COPY out text and hands it round in pieces. Hashing millions of
 * rows here was the longest step at the end of a migration.
 */
/** Small pieces: with 1 MB pieces, reading back 2M relations peaked 50 MB higher. */
const PIECE_CHARS = 32 * 1024;
/** Pieces handed to a thread and not yet digested: bounds the memory the text holds. */
const PIECES_PER_THREAD = 8;
/** Below this many rows (the source's count) starting threads costs more than it saves. */
const THREAD_MIN_ROWS = 100_000;

const WORKER_URL = new URL('./graph-digest-worker.ts', import.meta.url).href;

/** RAGSPACE_DIGEST_THREAD_MIN_ROWS moves the line (tests send small tables through threads). */
export function digestThreadsPay(rows: number): boolean {
  const configured = Number(process.env.RAGSPACE_DIGEST_THREAD_MIN_ROWS);
  const min = Number.isInteger(configured) && configured >= 0 ? configured : THREAD_MIN_ROWS;
  return rows >= min;
}

/**
 * A thread's heap: small, as two run at once at the end of a migration (a 16 MB young
 * generation and no limit took the migration's peak from 250 to 316 MB). 128 MB holds
 * rows of many megabytes; a thread that still runs out stops with DigestThreadError.
 */
const LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 128 };

/** A digest thread stopped (out of memory, say): the caller may digest on its own thread. */
export class DigestThreadError extends Error {
  constructor(cause: unknown) {
    super(`a digest thread stopped: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * A digest thread, kept for the next table once it is done with one (starting a thread
 * costs a few hundred milliseconds, and a new one adds its memory before the old one's is
 * returned). An idle thread does not keep the process alive.
 */
class DigestThread {
  private readonly worker: Worker;
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private failure: unknown;
  private result: ((digest: StoreDigest) => void) | undefined;
  private reject: ((error: unknown) => void) | undefined;

  constructor() {
    this.worker = startTsWorker(WORKER_URL, undefined, LIMITS);
    this.worker.on('message', (reply: GraphDigestReply) => {
      if (reply.kind === 'digest') this.result?.(digestOfReply(reply));
      else this.settle();
    });
    const fail = (error: unknown) => {
      this.failure ??= new DigestThreadError(error);
      this.reject?.(this.failure);
      this.settle();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  get broken(): boolean {
    return this.failure !== undefined;
  }

  private settle(): void {
    this.inFlight--;
    this.waiting?.();
  }

  begin(job: GraphDigestJob): void {
    this.worker.ref();
    this.post({ kind: 'start', job });
  }

  /** Hands over a piece, once the thread has room for it. */
  async send(text: string): Promise<void> {
    while (this.inFlight >= PIECES_PER_THREAD && this.failure === undefined) {
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    if (this.failure !== undefined) throw this.failure;
    this.inFlight++;
    this.post({ kind: 'text', text });
  }

  finish(): Promise<StoreDigest> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const digest = new Promise<StoreDigest>((resolve, reject) => {
      this.result = resolve;
      this.reject = reject;
    });
    this.post({ kind: 'end' });
    return digest;
  }

  /** Idle: waits for the next table without keeping the process alive. */
  rest(): void {
    this.result = this.reject = undefined;
    this.worker.unref();
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }

  private post(request: GraphDigestRequest): void {
    this.worker.postMessage(request);
  }
}

function digestOfReply(reply: Extract<GraphDigestReply, { kind: 'digest' }>): StoreDigest {
  const digest = new StoreDigest();
  digest.merge(reply);
  return digest;
}

/**
 * Digest threads alive in this process (idle or at work). A migration reads both tables
 * back at once at its end, a thread each; a table's digest takes a second thread once the
 * other table is done with its own. Each thread holds some 50 MB at work: never more than
 * two, unless two tables want their first thread at once.
 */
const THREADS_AT_ONCE = 2;
const idle: DigestThread[] = [];
let alive = 0;

function takeThread(first: boolean): DigestThread | undefined {
  for (let thread = idle.pop(); thread; thread = idle.pop()) {
    if (!thread.broken) return thread;
    alive--; // it ended while idle
  }
  if (!first && alive >= THREADS_AT_ONCE) return undefined;
  alive++;
  return new DigestThread();
}

/** A thread back to the idle list; one that failed, or stopped mid-table, is ended. */
async function giveBack(thread: DigestThread, done: boolean): Promise<void> {
  if (done && !thread.broken) {
    thread.rest();
    idle.push(thread);
    return;
  }
  alive--;
  await thread.stop();
}

/** The threads of one table's digest, handed pieces in turn. */
class DigestThreads {
  private readonly threads: DigestThread[] = [];
  private next = 0;

  constructor(private readonly job: GraphDigestJob) {
    this.grow();
  }

  /** Takes a thread: the first always, a second if the process has one to spare. */
  private grow(): void {
    if (this.threads.length >= THREADS_AT_ONCE) return;
    const thread = takeThread(this.threads.length === 0);
    if (!thread) return;
    thread.begin(this.job);
    this.threads.push(thread);
  }

  async send(text: string): Promise<void> {
    this.grow();
    await this.threads[this.next++ % this.threads.length]!.send(text);
  }

  async finish(): Promise<StoreDigest> {
    const digest = new StoreDigest();
    for (const part of await Promise.all(this.threads.map((thread) => thread.finish()))) {
      digest.merge(part);
    }
    return digest;
  }

  async release(done: boolean): Promise<void> {
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((thread) => giveBack(thread, done)));
  }
}

/** The digest of a graph store's rows, read by COPY here and digested on worker threads. */
export async function digestGraphTable(target: TargetContext, store: string) {
  const source = { ...readBackOf(store), ws: target.ws };
  const threads = new DigestThreads({ store, workspace: target.workspace });
  let done = false;
  try {
    for await (const text of copyOutText(target.db, target.log, source, PIECE_CHARS)) {
      await threads.send(text);
    }
    const digest = await threads.finish();
    done = true;
    return digest;
  } finally {
    await threads.release(done);
  }
}
