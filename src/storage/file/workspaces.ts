import { readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { errors } from '../../errors.ts';
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
 */
interface CachedFacts {
  size: number;
  mtimeMs: number;
  ino: number;
  facts: FileFacts;
}

interface PresentFile {
  name: string;
  stats: Stats;
}

export class FileStatsCache {
  private readonly cache = new Map<string, CachedFacts>();
  /** How many files were actually read (not served from cache); tests assert on it. */
  reads = 0;

  async facts(path: string, name: string, stats: Stats): Promise<FileFacts> {
    const hit = this.cache.get(path);
    if (hit && hit.size === stats.size && hit.mtimeMs === stats.mtimeMs && hit.ino === stats.ino) {
      return hit.facts;
    }
    this.reads++;
    const facts = await inspectFile(path, name);
    this.cache.set(path, { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino, facts });
    return facts;
  }

  forget(directory: string): void {
    for (const path of this.cache.keys()) if (path.startsWith(directory)) this.cache.delete(path);
  }
}

function listFiles(location: WorkspaceLocation): PresentFile[] {
  const files: PresentFile[] = [];
  let names: string[];
  try {
    names = readdirSync(location.directory);
  } catch {
    return files;
  }
  for (const name of names) {
    if (!isLightragFile(name)) continue;
    try {
      const stats = statSync(join(location.directory, name));
      if (stats.isFile()) files.push({ name, stats });
    } catch {
      // Removed between readdir and stat (a writer's rename); it is simply not there.
    }
  }
  return files;
}

interface WorkspaceFacts {
  files: PresentFile[];
  byName: Map<string, FileFacts>;
}

async function gatherFacts(
  cache: FileStatsCache,
  location: WorkspaceLocation,
): Promise<WorkspaceFacts> {
  const files = listFiles(location);
  const byName = new Map<string, FileFacts>();
  for (const file of files) {
    byName.set(
      file.name,
      await cache.facts(join(location.directory, file.name), file.name, file.stats),
    );
  }
  return { files, byName };
}

function newestChange(files: PresentFile[]): string | null {
  let newest = 0;
  for (const file of files) newest = Math.max(newest, file.stats.mtimeMs);
  return newest === 0 ? null : new Date(newest).toISOString();
}

function summarise(location: WorkspaceLocation, facts: WorkspaceFacts): WorkspaceSummary {
  const graph = facts.byName.get(GRAPH_FILE);
  const docStatus = facts.byName.get(DOC_STATUS_FILE);
  const fullDocs = facts.byName.get(kvFile('full_docs'));
  const problems: WorkspaceProblem[] = [...location.problems];
  for (const fileFacts of facts.byName.values()) problems.push(...fileFacts.errors);
  const summary: WorkspaceSummary = {
    name: location.name,
    entity_count: graph?.nodes ?? 0,
    relation_count: graph?.edges ?? 0,
    document_count: (docStatus ?? fullDocs)?.records ?? 0,
    chunk_count: facts.byName.get(kvFile('text_chunks'))?.records ?? 0,
    updated_at: newestChange(facts.files),
  };
  if (problems.length > 0) summary.errors = problems;
  return summary;
}

export async function summariseWorkspace(
  cache: FileStatsCache,
  location: WorkspaceLocation,
): Promise<WorkspaceSummary> {
  return summarise(location, await gatherFacts(cache, location));
}

function storeName(file: string): string {
  if (file === GRAPH_FILE) return 'graph';
  return file.replace(/^kv_store_/, '').replace(/\.json$/, '');
}

function describeFiles(files: PresentFile[]): WorkspaceFile[] {
  return files
    .map((f) => ({ name: f.name, size: f.stats.size, modified_at: f.stats.mtime.toISOString() }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
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
