import type { WriteNotice } from '../../storage/postgres/text.ts';
import { StoreDigest } from '../digest.ts';
import { Findings } from '../findings.ts';
import type { GraphBatch } from '../source/graph.ts';
import type { GraphRows } from '../source/graph-worker.ts';
import { CopyBatches, stageEntities, type BulkGraph } from './graph-bulk.ts';

/**
 * On the bulk graph path the copy pass starts reading with the check pass: the two read
 * the file at once, on two threads, and the entities (which come first in the file) are
 * staged into the temporary table meanwhile, where nothing is visible. Reading stops at
 * the first batch holding an edge, since relations are written to their table. What the
 * copy pass needs of the staged entities (their count, checksums, vector-id checksums,
 * findings and text notices) is summed as they go, in a fixed size whatever their number.
 * If the check refuses the workspace, that is all thrown away with the temporary table.
 */
export interface EarlyEntities {
  count: number;
  digest: StoreDigest;
  pairedIds: StoreDigest;
  findings: Findings;
  notices: WriteNotice[];
  /** The batch reading stopped at (it holds an edge), if the file did not end first. */
  held: GraphBatch | undefined;
  /** The same reader, after `held`. */
  rest: AsyncGenerator<GraphBatch>;
  /** Settles when reading stopped and everything read is staged. */
  done: Promise<void>;
}

/** Characters of entity rows per COPY into the stage (some 3,000 rows of the bench). */
const STAGE_CHARS = 1 << 20;

export function readEntitiesEarly(bulk: BulkGraph, read: AsyncGenerator<GraphBatch>) {
  const early: EarlyEntities = {
    count: 0,
    digest: new StoreDigest(),
    pairedIds: new StoreDigest(),
    findings: new Findings(),
    notices: [],
    held: undefined,
    rest: read,
    done: Promise.resolve(),
  };
  early.done = pump(bulk, read, early);
  early.done.catch(() => undefined); // awaited by the copy pass, or let go by abandon
  return early;
}

/** Stages entity batches until one holds an edge (or is records, from a small file). */
async function pump(bulk: BulkGraph, read: AsyncGenerator<GraphBatch>, early: EarlyEntities) {
  const stage = new CopyBatches((lines) => stageEntities(bulk, lines), STAGE_CHARS);
  for (;;) {
    const next = await read.next();
    if (next.done) break;
    const rows = next.value.rows;
    if (!rows || rows.edgeCount > 0) {
      early.held = next.value;
      break;
    }
    sum(early, rows);
    await stage.add(rows.nodeCopy);
  }
  await stage.flush();
}

function sum(early: EarlyEntities, rows: GraphRows): void {
  early.count += rows.nodeCount;
  early.digest.addPacked(rows.nodeDigests);
  if (rows.nodeIds) early.pairedIds.addPacked(rows.nodeIds);
  early.findings.mergeGroups(rows.findings);
  early.notices.push(...rows.notices);
}

/**
 * Lets go of the reader after a refused or failed run: once the stage's connection is
 * closed, staging fails and reading stops; the reader thread is then ended.
 */
export async function abandonEarly(early: EarlyEntities): Promise<void> {
  await early.done.catch(() => undefined);
  await early.rest.return(undefined);
}
