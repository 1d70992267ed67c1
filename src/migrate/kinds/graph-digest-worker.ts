import { parentPort } from 'node:worker_threads';
import { StoreDigest } from '../digest.ts';
import { newPolicy } from '../records/text.ts';
import { digestGraphLines } from './graph-lines.ts';

/**
 * Digests pieces of a graph table's COPY out text off the main thread (graph-digest.ts),
 * one table at a time: `start` names the store, each piece is answered with `done`, and
 * `end` with the digest of every piece since `start`.
 */
export interface GraphDigestJob {
  store: string;
  workspace: string;
}

export type GraphDigestRequest =
  { kind: 'start'; job: GraphDigestJob } | { kind: 'text'; text: string } | { kind: 'end' };

export type GraphDigestReply =
  { kind: 'done' } | { kind: 'digest'; counts: Uint32Array; sums: Uint32Array; records: number };

interface Running {
  store: string;
  digest: StoreDigest;
  // Rows read back are taken as they are: what the policy would replace is only counted.
  policy: ReturnType<typeof newPolicy>;
}

let running: Running | undefined;

function reply(message: GraphDigestReply): void {
  parentPort!.postMessage(message);
}

function start(job: GraphDigestJob): void {
  running = { store: job.store, digest: new StoreDigest(), policy: newPolicy(job.workspace) };
}

function end(): void {
  const { counts, sums, records } = running!.digest;
  running = undefined;
  reply({ kind: 'digest', counts, sums, records });
}

parentPort!.on('message', (request: GraphDigestRequest) => {
  if (request.kind === 'start') return start(request.job);
  if (request.kind === 'end') return end();
  const job = running!;
  digestGraphLines(job.store, request.text, job.policy, job.digest);
  job.policy.notices.length = 0;
  reply({ kind: 'done' });
});
