import type { Worker } from 'node:worker_threads';
import { ENTITIES_TABLE, RELATIONS_TABLE } from '../../storage/postgres/tables.ts';
import { copyOutText } from '../copy-out.ts';
import { StoreDigest } from '../digest.ts';
import { ENTITY_STORE } from '../records/graph.ts';
import { startTsWorker } from '../threads.ts';
import type {
  GraphDigestInput,
  GraphDigestReply,
  GraphDigestRequest,
} from './graph-digest-worker.ts';
import { ENTITY_SELECT, RELATION_SELECT } from './graph-lines.ts';
import type { TargetContext } from './types.ts';

/**
 * Verify's digest of a large graph table on a real server, taken on a worker thread: this
 * thread only reads the COPY out text and hands it over in pieces. Hashing millions of
 * rows here was the longest step at the end of a migration, and it now runs beside the
 * other table's (a migration reads the relations back while it finishes the entities).
 * One thread per table: two halved the time of one table alone, but cost 100 MB more
 * and gained nothing in a migration, where both tables are read back at once.
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

class DigestThread {
  private readonly worker: Worker;
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private failure: unknown;
  private readonly result: Promise<StoreDigest>;

  constructor(input: GraphDigestInput) {
    this.worker = startTsWorker(WORKER_URL, input, { maxYoungGenerationSizeMb: 16 });
    this.result = new Promise((resolve, reject) => {
      this.worker.on('message', (reply: GraphDigestReply) => {
        if (reply.kind === 'digest') resolve(digestOfReply(reply));
        else this.settle();
      });
      const fail = (error: unknown) => {
        this.failure ??= error;
        reject(this.failure);
        this.settle();
      };
      this.worker.on('error', fail);
      this.worker.on('exit', (code) => fail(new Error(`a digest thread stopped (exit ${code})`)));
    });
    this.result.catch(() => undefined); // awaited by finish; a failed read never gets there
  }

  private settle(): void {
    this.inFlight--;
    this.waiting?.();
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
    this.post({ kind: 'end' });
    return this.result;
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

/** The digest of a graph store's rows, read by COPY here and digested on a worker thread. */
export async function digestGraphTable(target: TargetContext, store: string) {
  const entities = store === ENTITY_STORE;
  const source = {
    table: entities ? ENTITIES_TABLE : RELATIONS_TABLE,
    ws: target.ws,
    columns: entities ? ENTITY_SELECT : RELATION_SELECT,
  };
  const thread = new DigestThread({ store, workspace: target.workspace });
  try {
    for await (const text of copyOutText(target.db, target.log, source, PIECE_CHARS)) {
      await thread.send(text);
    }
    return await thread.finish();
  } finally {
    await thread.stop();
  }
}
