import { existsSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { checkWorkspaceName, DEFAULT_WORKSPACE } from '../../workspace/name.ts';
import type { WorkspaceProblem } from '../types.ts';

/**
 * Where LightRAG's file backends keep a workspace: `WORKING_DIR/<name>/`, or the root of
 * WORKING_DIR for the default (empty) workspace. ragspace names the root workspace
 * "default", the value LightRAG writes in PostgreSQL's `workspace` column for it.
 */
export const GRAPH_FILE = 'graph_chunk_entity_relation.graphml';
export const KV_NAMESPACES = [
  'full_docs',
  'text_chunks',
  'llm_response_cache',
  'full_entities',
  'full_relations',
  'entity_chunks',
  'relation_chunks',
] as const;
export const DOC_STATUS_FILE = 'kv_store_doc_status.json';
export const VECTOR_NAMESPACES = ['entities', 'relationships', 'chunks'] as const;

export type KvNamespace = (typeof KV_NAMESPACES)[number];
export type VectorNamespace = (typeof VECTOR_NAMESPACES)[number];

export const kvFile = (namespace: string): string => `kv_store_${namespace}.json`;
export const vectorFile = (namespace: string): string => `vdb_${namespace}.json`;

/** LightRAG's atomic writer leaves `<file>.tmp.<pid>.<thread>.<ns>` siblings; never read. */
export function isTempFile(name: string): boolean {
  return /\.tmp\./.test(name);
}

/** Files that belong to a LightRAG workspace (any kv store, vector store or graph). */
export function isLightragFile(name: string): boolean {
  if (isTempFile(name)) return false;
  return (
    (name.startsWith('kv_store_') && name.endsWith('.json')) ||
    (name.startsWith('vdb_') && name.endsWith('.json')) ||
    (name.startsWith('graph_') && name.endsWith('.graphml'))
  );
}

export interface WorkspaceLocation {
  name: string;
  directory: string;
  /** Problems with where the workspace lives (name conflicts), not with its files. */
  problems: WorkspaceProblem[];
}

export interface Discovery {
  workspaces: WorkspaceLocation[];
  invalid: { directory: string; reason: string }[];
}

function listEntries(workingDir: string): Dirent[] {
  if (!existsSync(workingDir)) return [];
  return readdirSync(workingDir, { withFileTypes: true });
}

function defaultConflict(workingDir: string): WorkspaceProblem {
  return {
    file: `${DEFAULT_WORKSPACE}/`,
    reason:
      `both LightRAG files at the root of ${workingDir} and a "${DEFAULT_WORKSPACE}/" ` +
      'directory exist; the root files are served as the default workspace and the ' +
      `"${DEFAULT_WORKSPACE}/" directory is ignored. Merge or rename one of them by hand.`,
  };
}

/** Finds every workspace in WORKING_DIR, as LightRAG lays them out. */
export function discoverWorkspaces(workingDir: string): Discovery {
  const entries = listEntries(workingDir);
  const rootHasFiles = entries.some((e) => e.isFile() && isLightragFile(e.name));
  const result: Discovery = { workspaces: [], invalid: [] };
  const defaultDir = entries.some((e) => e.isDirectory() && e.name === DEFAULT_WORKSPACE);
  if (rootHasFiles) {
    const problems = defaultDir ? [defaultConflict(workingDir)] : [];
    result.workspaces.push({ name: DEFAULT_WORKSPACE, directory: workingDir, problems });
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (entry.name === DEFAULT_WORKSPACE && rootHasFiles) continue;
    const check = checkWorkspaceName(entry.name);
    if (!check.ok) {
      result.invalid.push({ directory: entry.name, reason: check.reason });
      continue;
    }
    result.workspaces.push({
      name: entry.name,
      directory: join(workingDir, entry.name),
      problems: [],
    });
  }
  return result;
}

/**
 * The directory of one workspace, whether or not it exists yet. "default" is the root
 * unless only a `default/` directory holds data (a LightRAG started with WORKSPACE=default).
 */
export function workspaceDirectory(workingDir: string, name: string): string {
  if (name !== DEFAULT_WORKSPACE) return join(workingDir, name);
  const entries = listEntries(workingDir);
  const rootHasFiles = entries.some((e) => e.isFile() && isLightragFile(e.name));
  const defaultDir = join(workingDir, DEFAULT_WORKSPACE);
  return !rootHasFiles && existsSync(defaultDir) ? defaultDir : workingDir;
}

// ---- Added for the file writer (issue 3) ----

/** The meta fields LightRAG's nano-vectordb stores keep per row; other fields are dropped. */
export const VECTOR_META_FIELDS: Record<VectorNamespace, readonly string[]> = {
  entities: ['entity_name', 'source_id', 'content', 'file_path'],
  relationships: ['src_id', 'tgt_id', 'source_id', 'content', 'file_path'],
  chunks: ['full_doc_id', 'content', 'file_path'],
};

/** ragspace's own files in a workspace; hidden, so LightRAG and discovery ignore them. */
export const PENDING_VECTORS_FILE = '.ragspace-pending-vectors.json';

/** Per-workspace writer locks, under WORKING_DIR (hidden, so never taken for a workspace). */
export const LOCK_DIRECTORY = '.ragspace-locks';

/** Whether a workspace has a place in WORKING_DIR, without listing every workspace. */
export function workspaceExists(workingDir: string, name: string): boolean {
  if (name !== DEFAULT_WORKSPACE) {
    const directory = join(workingDir, name);
    return existsSync(directory) && statSync(directory).isDirectory();
  }
  const entries = listEntries(workingDir);
  if (entries.some((e) => e.isFile() && isLightragFile(e.name))) return true;
  return entries.some((e) => e.isDirectory() && e.name === DEFAULT_WORKSPACE);
}
