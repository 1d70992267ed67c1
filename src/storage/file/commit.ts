import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileErrors } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import {
  commitPrepared,
  discardCopy,
  discardPrepared,
  fingerprintOf,
  prepareAppend,
  prepareFile,
  sameFingerprint,
  type PreparedFile,
} from './atomic.ts';
import type { LockHandle } from './lock.ts';
import type { StagedStore, ViewStores } from './view.ts';
import type { TextRepairs } from './writer.ts';

/**
 * Persists one writer's staged stores: every changed file is written to a durable temp
 * file first, then all are renamed into place together (atomic.ts). Before anything is
 * renamed, each file the writer read must still be the file it read: if another program
 * changed one (ragspace writers hold the lock, so this means LightRAG or a hand edit),
 * the commit is refused with StaleView and `write()` runs the operation again on fresh
 * data, so a stale copy never replaces a newer file (issue B02).
 *
 * A store that only grew is written by appending to a copy of its file when it can
 * (append.ts); the temp file, the journal and the checks are the same either way.
 */
export class StaleView extends Error {
  constructor(readonly file: string) {
    super(`${file} changed since it was read`);
    this.name = 'StaleView';
  }
}

async function checkExpectations(directory: string, stores: ViewStores): Promise<void> {
  for (const expected of stores.expectations()) {
    const now = await fingerprintOf(join(directory, expected.file));
    if (!sameFingerprint(expected.fingerprint, now)) throw new StaleView(expected.file);
  }
}

/** An empty store is only written over an existing file (never creates a new one). */
function needsWrite(stores: ViewStores, staged: StagedStore): boolean {
  if (!staged.kind.isEmpty(staged.value)) return true;
  return (stores.expectationOf(staged.kind.id)?.fingerprint ?? null) !== null;
}

/** The file built by appending to the one the store was read from, when that works. */
async function prepareAppended(
  target: string,
  staged: StagedStore,
  repairs: TextRepairs,
): Promise<PreparedFile | undefined> {
  const { kind, value, base, early } = staged;
  // The commit owns the early copy from here: prepareAppend uses or removes it.
  staged.early = undefined;
  const expected = base?.fingerprint;
  const plan = base && expected && kind.appendPlan?.(value, base.value, repairs);
  if (!plan || !expected) {
    await discardCopy(early);
    return undefined;
  }
  return prepareAppend(target, expected, plan, early);
}

async function prepareOne(directory: string, staged: StagedStore, repairs: TextRepairs) {
  const target = join(directory, staged.kind.file);
  const appended = await prepareAppended(target, staged, repairs);
  if (appended) return appended;
  return prepareFile(target, (sink) => staged.kind.write(staged.value, sink, repairs));
}

/** Prepares every file at once: the copies, writes and fsyncs overlap in the thread pool. */
async function prepareAll(directory: string, writes: StagedStore[], repairs: TextRepairs) {
  const outcomes = await Promise.allSettled(
    writes.map((staged) => prepareOne(directory, staged, repairs)),
  );
  const prepared: PreparedFile[] = [];
  for (const outcome of outcomes) if (outcome.status === 'fulfilled') prepared.push(outcome.value);
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure) {
    await discardPrepared(prepared);
    throw failure.reason;
  }
  return prepared;
}

async function install(stores: ViewStores, writes: StagedStore[]): Promise<void> {
  const state = stores.state;
  for (const { kind, value } of writes) {
    const fingerprint = await fingerprintOf(join(state.directory, kind.file));
    const bytes = kind.estimateBytes(value, Number(fingerprint?.size ?? 0n));
    state.replace(kind, { value, file: kind.file, fingerprint, bytes });
  }
}

function logRepairs(logger: Logger, repairs: TextRepairs): void {
  const { xmlCharacters, strippedSurrogates, keptSurrogateIds } = repairs;
  if (xmlCharacters + strippedSurrogates + keptSurrogateIds === 0) return;
  logger.warn('write.text_repaired', {
    xml_illegal_characters_removed: xmlCharacters,
    lone_surrogates_removed: strippedSurrogates,
    ids_with_lone_surrogates_kept: keptSurrogateIds,
  });
}

/** Writes every file aside, then renames them all in, unless something moved meanwhile. */
async function persist(
  stores: ViewStores,
  writes: StagedStore[],
  lock: LockHandle,
  repairs: TextRepairs,
) {
  const directory = stores.state.directory;
  // Serialising cleans again (records read from files may hold bad text), same counters.
  const prepared = await prepareAll(directory, writes, repairs);
  try {
    if (!(await lock.stillHeld())) throw fileErrors.lockLost(stores.state.name);
    await checkExpectations(directory, stores);
    await commitPrepared(directory, prepared);
  } catch (error) {
    await discardPrepared(prepared);
    throw error;
  }
}

export async function commitView(
  stores: ViewStores,
  lock: LockHandle,
  repairs: TextRepairs,
  logger: Logger,
): Promise<void> {
  const directory = stores.state.directory;
  await checkExpectations(directory, stores);
  await mkdir(directory, { recursive: true });
  const writes = stores.stagedStores().filter((staged) => needsWrite(stores, staged));
  if (writes.length === 0) return;

  await persist(stores, writes, lock, repairs);
  await install(stores, writes);
  logRepairs(logger, repairs);
}
