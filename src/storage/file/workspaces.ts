import { readdirSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { errors } from '../../errors.ts';
import { listingsAnswered } from '../../workspace/query.ts';
import type {
  WorkspaceDetail,
  WorkspaceFile,
  WorkspaceProblem,
  WorkspaceSummary,
} from '../types.ts';
import { inspectFile, type FileFacts } from './inspect.ts';
import {
  DOC_STATUS_FILE,
  GRAPH_FILE,
  isLightragFile,
  kvFile,
  type WorkspaceLocation,
} from './layout.ts';

/**
 * Statistics of file workspaces. Each file is inspected once per (size, mtime, inode):
 * a second listing only stats files, and re-reads just those that changed.
 *
 * Two races are closed. A file written in place twice within one tick of the file
 * system's clock can keep its size and mtime, so facts read from a file modified less
 * than RACY_MS before we looked at it are served once but re-read on the next call (the
 * trick git uses for its index). And a file that changes while it is read is read again,
 * or reported, never cached.
 */
const RACY_MS = 2000;
const READ_ATTEMPTS = 2;

interface Fingerprint {
  size: number;
  mtimeMs: number;
  ino: number;
}

interface CachedFacts extends Fingerprint {
  facts: FileFacts;
  /** Whether the file was old enough when read that an unchanged fingerprint proves it. */
  settled: boolean;
}

interface PresentFile {
  name: string;
  stats: Stats;
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

function currentStats(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}

/** I/O failures (permissions, a file removed mid-read) become a problem of that file. */
function unreadable(file: string, error: unknown): FileFacts {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') throw error;
  const reason = `cannot read the file (${code}); check its permissions, or retry if it moved`;
  return { records: 0, errors: [{ file, reason }], warnings: [] };
}

const CHANGED_DURING_READ =
  'the file kept changing while it was read (a writer is active); counts may be off, ' +
  'retry in a moment';

interface Watch {
  watcher: FSWatcher;
  /** Bumped by every event in the directory; a summary is valid for one generation. */
  generation: number;
  ino: number;
}

/**
 * Change events per workspace directory (inotify on Linux), so a listing can skip the
 * stat of every file in a directory where nothing happened: 12,000 stats cost tens of
 * ms, far more than a listing may take. Any event, error or doubt (the directory renamed
 * or replaced) marks the directory changed; where watching is impossible (no inotify
 * watches left, unsupported file system) the directory is simply always checked.
 */
class DirectoryWatches {
  private readonly watches = new Map<string, Watch>();
  private readonly unwatchable = new Set<string>();
  /** One clock for all watches: a restarted watch never matches an older summary. */
  private clock = 0;

  /** The directory's watch, started if needed; undefined when it cannot be watched. */
  get(directory: string): Watch | undefined {
    const known = this.watches.get(directory);
    if (known || this.unwatchable.has(directory)) return known;
    return this.start(directory);
  }

  private start(directory: string): Watch | undefined {
    const ino = currentStats(directory)?.ino;
    if (ino === undefined) return undefined;
    try {
      const watcher = watch(directory, { persistent: false });
      const entry: Watch = { watcher, generation: ++this.clock, ino };
      watcher.on('change', (type) => this.changed(directory, entry, type));
      watcher.on('error', () => this.stop(directory, entry));
      this.watches.set(directory, entry);
      return entry;
    } catch {
      this.unwatchable.add(directory);
      return undefined;
    }
  }

  private changed(directory: string, entry: Watch, type: string): void {
    entry.generation = ++this.clock;
    // A rename may concern the directory itself: then the watch follows the old inode.
    if (type === 'rename' && currentStats(directory)?.ino !== entry.ino)
      this.stop(directory, entry);
  }

  private stop(directory: string, entry: Watch): void {
    entry.generation = ++this.clock;
    entry.watcher.close();
    if (this.watches.get(directory) === entry) this.watches.delete(directory);
  }

  close(): void {
    for (const [directory, entry] of this.watches) this.stop(directory, entry);
  }
}

interface Memo {
  generation: number;
  /** The summary without the location's own problems, which discovery recomputes. */
  summary: WorkspaceSummary;
  fileProblems: WorkspaceProblem[];
}

/**
 * Lets the event loop handle the change events the kernel has queued. Two turns: the
 * first may end in this very iteration's check phase; the second follows a poll phase,
 * which reads every event queued before this call.
 */
function handlePendingEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * One wait for pending events per listing, not per workspace (1,000 waits cost more than
 * the whole listing may). A wait is reused only while both hold: the code runs in the
 * same chain of microtasks that followed it (a new request, or any real I/O, starts a new
 * chain, and a queued tick clears the wait when the chain ends), and no listing has been
 * answered since it began (`listingsAnswered`), which covers several listings in a row.
 */
class EventSettling {
  private settledAt: number | undefined;

  async settle(): Promise<void> {
    if (this.settledAt !== undefined && this.settledAt === listingsAnswered()) return;
    const listings = listingsAnswered();
    await handlePendingEvents();
    this.settledAt = listings;
    process.nextTick(() => (this.settledAt = undefined));
  }
}

export class FileStatsCache {
  private readonly cache = new Map<string, CachedFacts>();
  private readonly inFlight = new Map<string, Promise<CachedFacts | FileFacts>>();
  /** How many files were actually read (not served from cache); tests assert on it. */
  reads = 0;
  readonly watches = new DirectoryWatches();
  private readonly memos = new Map<string, Memo>();
  private readonly settling = new EventSettling();

  /** The workspace summary remembered for `directory`, if no event has touched it since. */
  async remembered(directory: string): Promise<Memo | undefined> {
    const memo = this.memos.get(directory);
    if (!memo) return undefined;
    await this.settling.settle();
    const watch = this.watches.get(directory);
    return watch && watch.generation === memo.generation ? memo : undefined;
  }

  remember(directory: string, generation: number | undefined, memo: Omit<Memo, 'generation'>) {
    if (generation === undefined) this.memos.delete(directory);
    else this.memos.set(directory, { generation, ...memo });
  }

  /** The facts of one file, from cache when its fingerprint is unchanged and settled. */
  async facts(path: string, name: string, stats: Stats): Promise<FileFacts> {
    const hit = this.cached(path, stats);
    if (hit) return hit;
    const running = this.inFlight.get(path);
    if (running) return unwrap(await running);
    const reading = this.read(path, name, stats);
    this.inFlight.set(path, reading);
    try {
      return unwrap(await reading);
    } finally {
      this.inFlight.delete(path);
    }
  }

  /** The cached facts when they still hold for `stats`; no I/O. */
  cached(path: string, stats: Fingerprint): FileFacts | undefined {
    const hit = this.cache.get(path);
    return hit && hit.settled && sameFingerprint(hit, stats) ? hit.facts : undefined;
  }

  private async read(path: string, name: string, stats: Stats): Promise<CachedFacts | FileFacts> {
    let before: Stats = stats;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const startedAt = Date.now();
      this.reads++;
      const facts = await inspectFile(path, name).catch((error) => unreadable(name, error));
      const after = currentStats(path);
      if (after && sameFingerprint(before, after))
        return this.rememberFile(path, after, facts, startedAt);
      if (!after) return facts;
      before = after;
    }
    return { records: 0, errors: [{ file: name, reason: CHANGED_DURING_READ }], warnings: [] };
  }

  private rememberFile(path: string, stats: Stats, facts: FileFacts, readAt: number) {
    const entry: CachedFacts = {
      size: stats.size,
      mtimeMs: stats.mtimeMs,
      ino: stats.ino,
      facts,
      settled: readAt - stats.mtimeMs > RACY_MS,
    };
    this.cache.set(path, entry);
    return entry;
  }

  forget(directory: string): void {
    for (const path of this.cache.keys()) if (path.startsWith(directory)) this.cache.delete(path);
    this.memos.delete(directory);
  }
}

function unwrap(result: CachedFacts | FileFacts): FileFacts {
  return 'facts' in result ? result.facts : result;
}

function listFiles(location: WorkspaceLocation): PresentFile[] {
  let names: string[];
  try {
    names = readdirSync(location.directory);
  } catch {
    return [];
  }
  const files: PresentFile[] = [];
  for (const name of names) {
    if (!isLightragFile(name)) continue;
    // Missing means removed between readdir and stat (a writer's rename): simply not there.
    const stats = currentStats(`${location.directory}/${name}`);
    if (stats?.isFile()) files.push({ name, stats });
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : 1));
}

interface WorkspaceFacts {
  files: PresentFile[];
  byName: Map<string, FileFacts>;
}

/** Stats every file, then reads only those the cache cannot answer. */
async function gatherFacts(
  cache: FileStatsCache,
  location: WorkspaceLocation,
): Promise<WorkspaceFacts> {
  const files = listFiles(location);
  const byName = new Map<string, FileFacts>();
  for (const file of files) {
    const path = `${location.directory}/${file.name}`;
    const facts =
      cache.cached(path, file.stats) ?? (await cache.facts(path, file.name, file.stats));
    byName.set(file.name, facts);
  }
  return { files, byName };
}

function newestChange(files: PresentFile[]): string | null {
  let newest = 0;
  for (const file of files) newest = Math.max(newest, file.stats.mtimeMs);
  return newest === 0 ? null : new Date(newest).toISOString();
}

function fileProblems(facts: WorkspaceFacts): WorkspaceProblem[] {
  const problems: WorkspaceProblem[] = [];
  for (const fileFacts of facts.byName.values()) problems.push(...fileFacts.errors);
  return problems;
}

function summarise(location: WorkspaceLocation, facts: WorkspaceFacts): WorkspaceSummary {
  const graph = facts.byName.get(GRAPH_FILE);
  const docStatus = facts.byName.get(DOC_STATUS_FILE);
  const fullDocs = facts.byName.get(kvFile('full_docs'));
  return withProblems(
    {
      name: location.name,
      entity_count: graph?.nodes ?? 0,
      relation_count: graph?.edges ?? 0,
      document_count: (docStatus ?? fullDocs)?.records ?? 0,
      chunk_count: facts.byName.get(kvFile('text_chunks'))?.records ?? 0,
      updated_at: newestChange(facts.files),
    },
    location,
    fileProblems(facts),
  );
}

/** A fresh copy of `base` with the location's and the files' problems, if any. */
function withProblems(
  base: WorkspaceSummary,
  location: WorkspaceLocation,
  files: WorkspaceProblem[],
): WorkspaceSummary {
  const summary: WorkspaceSummary = { ...base };
  delete summary.errors;
  const problems = [...location.problems, ...files];
  return problems.length > 0 ? { ...summary, errors: problems } : summary;
}

/**
 * One row of the list. A directory with no change event since its last summary reuses it
 * without touching the disk; otherwise every file is stat'ed and only changed ones read.
 */
export async function summariseWorkspace(
  cache: FileStatsCache,
  location: WorkspaceLocation,
): Promise<WorkspaceSummary> {
  const memo = await cache.remembered(location.directory);
  if (memo)
    return withProblems({ ...memo.summary, name: location.name }, location, memo.fileProblems);
  const generation = cache.watches.get(location.directory)?.generation;
  const facts = await gatherFacts(cache, location);
  const summary = summarise(location, facts);
  cache.remember(location.directory, generation, { summary, fileProblems: fileProblems(facts) });
  return summary;
}

function storeName(file: string): string {
  if (file === GRAPH_FILE) return 'graph';
  return file.replace(/^kv_store_/, '').replace(/\.json$/, '');
}

function describeFiles(files: PresentFile[]): WorkspaceFile[] {
  return files.map((f) => ({
    name: f.name,
    size: f.stats.size,
    modified_at: f.stats.mtime.toISOString(),
  }));
}

export async function describeWorkspace(
  cache: FileStatsCache,
  location: WorkspaceLocation | undefined,
  name: string,
): Promise<WorkspaceDetail> {
  if (!location) throw errors.workspaceNotFound(name);
  const facts = await gatherFacts(cache, location);
  const summary = summarise(location, facts);
  const dimensions: Record<string, number> = {};
  const detail: WorkspaceDetail = {
    ...summary,
    location: location.directory,
    files: describeFiles(facts.files),
    stores: {},
    vector_dimensions: dimensions,
    errors: summary.errors ?? [],
  };
  const warnings: WorkspaceProblem[] = [];
  for (const [file, fileFacts] of facts.byName) {
    detail.stores[storeName(file)] = fileFacts.records;
    if (fileFacts.embeddingDim !== undefined) dimensions[storeName(file)] = fileFacts.embeddingDim;
    if (fileFacts.statuses) detail.document_statuses = fileFacts.statuses;
    warnings.push(...fileFacts.warnings);
  }
  detail.warnings = warnings;
  return detail;
}
