import { constants, existsSync, type BigIntStats } from 'node:fs';
import {
  copyFile,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TextSink } from '../../formats/sink.ts';
import { isTempFile } from './layout.ts';

/**
 * Crash-safe file replacement, as LightRAG's `atomic_write` does it: write a sibling temp
 * file `<file>.tmp.<pid>.<n>.<time_ns>`, fsync it, rename it over the target, fsync the
 * directory. A crash leaves the old file or the new one, never half of one.
 *
 * One `write()` may replace several files. Renames cannot be grouped, so a commit of more
 * than one file first records its renames in a journal (itself written atomically); the
 * journal's arrival is the commit point. After a crash, `recoverCommit` finishes the
 * renames it lists, so the files are all old or all new once ragspace next opens the
 * workspace. A program that reads in between (LightRAG itself) can still see a mix.
 *
 * A write that only adds to a large file (`prepareAppend`) builds the same kind of temp
 * file from a copy of the current one, cut before its closing text, plus the new text;
 * it is renamed into place exactly as a rewritten one is.
 */
export interface Fingerprint {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
}

export interface PreparedFile {
  target: string;
  temp: string;
}

/** How to build a file by appending to the current one (see append.ts). */
export interface AppendPlan {
  /**
   * Where the kept part of the file ends, found in its last bytes (`tail`, which ends at
   * byte `size`); undefined when the file does not end as expected (then it is rewritten).
   */
  cut(tail: Buffer, size: number): number | undefined;
  /** Writes what follows the kept part: the new items and the closing text. */
  write(sink: TextSink): Promise<void>;
}

export const JOURNAL_FILE = '.ragspace-commit.json';
const TEMP_REAP_AGE_MS = 3600 * 1000;
const FLUSH_BYTES = 1024 * 1024;
const TAIL_BYTES = 64 * 1024;
// Shares the blocks where the file system can (btrfs, XFS), else the kernel copies them.
const COPY_FLAGS = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE;
let tempCounter = 0;

function fingerprintFrom(stats: BigIntStats): Fingerprint {
  return { size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs, ino: stats.ino };
}

/** Size, times and inode of a file, or null when it does not exist. */
export async function fingerprintOf(path: string): Promise<Fingerprint | null> {
  try {
    return fingerprintFrom(await stat(path, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export function sameFingerprint(a: Fingerprint | null, b: Fingerprint | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

export function tempPathFor(target: string): string {
  const nanoseconds = BigInt(Date.now()) * 1_000_000n;
  return `${target}.tmp.${process.pid}.${++tempCounter}.${nanoseconds}`;
}

/** Buffers pieces and writes them to an open file in large blocks. */
class FileSink implements TextSink {
  private pieces: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly handle: FileHandle) {}

  async write(piece: string | Uint8Array): Promise<void> {
    const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece);
    this.pieces.push(bytes);
    this.buffered += bytes.length;
    if (this.buffered >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const block = Buffer.concat(this.pieces);
    this.pieces = [];
    this.buffered = 0;
    await this.handle.write(block, 0, block.length);
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function modeOf(target: string): Promise<number> {
  try {
    return (await stat(target)).mode & 0o7777;
  } catch {
    return 0o644;
  }
}

/** Writes a durable temp file next to `target`; nothing visible changes yet. */
export async function prepareFile(
  target: string,
  produce: (sink: TextSink) => Promise<void>,
): Promise<PreparedFile> {
  const temp = tempPathFor(target);
  const mode = await modeOf(target);
  const handle = await open(temp, 'wx', mode);
  try {
    const sink = new FileSink(handle);
    await produce(sink);
    await sink.flush();
    // The old file's mode, as LightRAG keeps it (open() applied the umask).
    await handle.chmod(mode);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await removeQuietly(temp);
    throw error;
  }
  return { target, temp };
}

/** The last bytes of an open file (all of a small one); undefined if it came up short. */
async function readTail(handle: FileHandle, size: number): Promise<Buffer | undefined> {
  const tail = Buffer.alloc(Math.min(size, TAIL_BYTES));
  let filled = 0;
  while (filled < tail.length) {
    const position = size - tail.length + filled;
    const { bytesRead } = await handle.read(tail, filled, tail.length - filled, position);
    if (bytesRead === 0) return undefined;
    filled += bytesRead;
  }
  return tail;
}

/** Where to cut `target`, if it is still the `expected` file and ends as the plan expects. */
async function findCut(target: string, expected: Fingerprint, plan: AppendPlan) {
  let handle: FileHandle;
  try {
    handle = await open(target, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat({ bigint: true });
    if (!sameFingerprint(expected, fingerprintFrom(stats))) return undefined;
    const size = Number(stats.size);
    const tail = await readTail(handle, size);
    return tail && plan.cut(tail, size);
  } finally {
    await handle.close();
  }
}

/** Cuts the copy, appends the plan's text, and makes it durable with the old mode. */
async function finishAppend(temp: string, cut: number, mode: number, plan: AppendPlan) {
  // O_APPEND: after the truncate every write lands at the end, where the cut was.
  const handle = await open(temp, 'a');
  try {
    await handle.truncate(cut);
    const sink = new FileSink(handle);
    await plan.write(sink);
    await sink.flush();
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Copies `target` to a new temp file if it is still the `expected` file; the temp path,
 * or undefined (nothing left behind) when it is not or the copy failed. An append can
 * start this while the operation is still running, so the copy overlaps its work.
 */
export async function copyAside(
  target: string,
  expected: Fingerprint,
): Promise<string | undefined> {
  const temp = tempPathFor(target);
  try {
    if (!sameFingerprint(expected, await fingerprintOf(target))) return undefined;
    await copyFile(target, temp, COPY_FLAGS);
    return temp;
  } catch {
    await removeQuietly(temp).catch(() => undefined);
    return undefined;
  }
}

/** Where to cut, and the early copy once it is done; the copy is removed on failure. */
async function cutAndCopy(
  target: string,
  expected: Fingerprint,
  plan: AppendPlan,
  early: Promise<string | undefined> | undefined,
) {
  try {
    return { cut: await findCut(target, expected, plan), copied: await early };
  } catch (error) {
    await discardCopy(early);
    throw error;
  }
}

/**
 * prepareFile for a write that only adds to `target`: the temp file starts as a copy of
 * `target` (made by the kernel; `early` when `copyAside` made it already), cut where the
 * plan says, then the plan writes the rest. Undefined, with nothing left behind, when
 * `target` is not the `expected` file any more or does not end as the plan expects: the
 * caller then rewrites the file whole. If the file is replaced while it is copied, the
 * commit's check of what it read (commit.ts) refuses the commit, as for a rewrite.
 */
export async function prepareAppend(
  target: string,
  expected: Fingerprint,
  plan: AppendPlan,
  early?: Promise<string | undefined>,
): Promise<PreparedFile | undefined> {
  const { cut, copied } = await cutAndCopy(target, expected, plan, early);
  if (cut === undefined) {
    if (copied) await removeQuietly(copied);
    return undefined;
  }
  const temp = copied ?? tempPathFor(target);
  try {
    if (!copied) await copyFile(target, temp, COPY_FLAGS);
    await finishAppend(temp, cut, await modeOf(target), plan);
  } catch (error) {
    await removeQuietly(temp);
    throw error;
  }
  return { target, temp };
}

export async function discardPrepared(files: PreparedFile[]): Promise<void> {
  for (const file of files) await removeQuietly(file.temp);
}

/** Removes a temp file made by `copyAside` once it resolves (if it made one). */
export async function discardCopy(copy: Promise<string | undefined> | undefined): Promise<void> {
  const temp = await copy;
  if (temp) await removeQuietly(temp);
}

export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeJournal(directory: string, files: PreparedFile[]): Promise<string> {
  const path = join(directory, JOURNAL_FILE);
  const renames = files.map((f) => ({ temp: basename(f.temp), target: basename(f.target) }));
  const body = JSON.stringify({ pid: process.pid, renames });
  const prepared = await prepareFile(path, (sink) => sink.write(body));
  await rename(prepared.temp, path);
  await fsyncDirectory(directory);
  return path;
}

/**
 * Handles on the files about to be replaced. Renaming over a file frees its blocks inside
 * rename() (about 50 ms for 150 MB on ext4) unless the file is still open somewhere; with
 * a handle held, that work happens when the handle is closed, after the commit.
 */
async function holdReplaced(files: PreparedFile[]): Promise<FileHandle[]> {
  const handles: FileHandle[] = [];
  for (const file of files) {
    const handle = await open(file.target, 'r').catch(() => undefined);
    if (handle) handles.push(handle);
  }
  return handles;
}

function releaseInBackground(handles: FileHandle[]): void {
  for (const handle of handles) void handle.close().catch(() => undefined);
}

/** Moves every prepared file into place; all of them, or (after recovery) all of them. */
export async function commitPrepared(directory: string, files: PreparedFile[]): Promise<void> {
  if (files.length === 0) return;
  const replaced = await holdReplaced(files);
  try {
    const journal = files.length > 1 ? await writeJournal(directory, files) : undefined;
    for (const file of files) await rename(file.temp, file.target);
    await fsyncDirectory(directory);
    if (journal) await removeQuietly(journal);
  } finally {
    releaseInBackground(replaced);
  }
}

export function hasPendingCommit(directory: string): boolean {
  return existsSync(join(directory, JOURNAL_FILE));
}

interface JournalEntry {
  temp: string;
  target: string;
}

function parseJournal(text: string): JournalEntry[] {
  const parsed = JSON.parse(text) as { renames?: unknown };
  if (!Array.isArray(parsed.renames)) throw new Error('journal without "renames"');
  return parsed.renames.filter(
    (e): e is JournalEntry =>
      typeof e?.temp === 'string' && typeof e?.target === 'string' && !e.temp.includes('/'),
  );
}

/**
 * Finishes a commit that a crash interrupted; returns how many renames it finished, or
 * undefined when there was nothing to finish. Call with the workspace lock held.
 */
export async function recoverCommit(directory: string): Promise<number | undefined> {
  const path = join(directory, JOURNAL_FILE);
  let entries: JournalEntry[];
  try {
    entries = parseJournal(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let finished = 0;
  for (const entry of entries) {
    const temp = join(directory, entry.temp);
    if (!existsSync(temp)) continue;
    await rename(temp, join(directory, entry.target));
    finished++;
  }
  await fsyncDirectory(directory);
  await removeQuietly(path);
  return finished;
}

/** Deletes temp files a crashed writer left, once they are an hour old (as LightRAG). */
export async function reapTempFiles(directory: string, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return 0;
  }
  let reaped = 0;
  for (const name of names.filter(isTempFile)) {
    const path = join(directory, name);
    const stats = await stat(path).catch(() => undefined);
    if (!stats?.isFile() || now - stats.mtimeMs < TEMP_REAP_AGE_MS) continue;
    await removeQuietly(path);
    reaped++;
  }
  return reaped;
}
