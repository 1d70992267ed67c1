import { parentPort, workerData } from 'node:worker_threads';
import { StoreDigest } from '../digest.ts';
import { newPolicy } from '../records/text.ts';
import { digestGraphLines } from './graph-lines.ts';

/**
 * Digests pieces of a graph table's COPY out text off the main thread (graph-digest.ts):
 * each piece is answered with `done`, and `end` with the digest of every piece.
 */
export interface GraphDigestInput {
  store: string;
  workspace: string;
}

export type GraphDigestRequest = { kind: 'text'; text: string } | { kind: 'end' };

export type GraphDigestReply =
  { kind: 'done' } | { kind: 'digest'; counts: Uint32Array; sums: Uint32Array; records: number };

const input = workerData as GraphDigestInput;
const digest = new StoreDigest();
// Rows read back are taken as they are: what the policy would replace is only counted.
const policy = newPolicy(input.workspace);

function reply(message: GraphDigestReply): void {
  parentPort!.postMessage(message);
}

parentPort!.on('message', (request: GraphDigestRequest) => {
  if (request.kind === 'end') {
    reply({ kind: 'digest', counts: digest.counts, sums: digest.sums, records: digest.records });
    return;
  }
  digestGraphLines(input.store, request.text, policy, digest);
  policy.notices.length = 0;
  reply({ kind: 'done' });
});
