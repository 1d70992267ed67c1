import { errors } from '../errors.ts';
import {
  discoverWorkspaces,
  DOC_STATUS_FILE,
  GRAPH_FILE,
  kvFile,
  KV_NAMESPACES,
  PENDING_VECTORS_FILE,
  vectorFile,
  VECTOR_NAMESPACES,
  type WorkspaceLocation,
} from '../storage/file/layout.ts';
import type { StoreSet } from '../storage/postgres/schema.ts';
import type { KvNamespace, VectorNamespace } from '../storage/types.ts';
import { workspaceName } from '../workspace/name.ts';
import { listSourceFiles } from './snapshot.ts';

/**
 * Which stores of a workspace move, from which file. A store moves when the configuration
 * keeps it in PostgreSQL (LIGHTRAG_*_STORAGE=PG*); the others stay in files and are
 * listed as skipped. A missing file is an empty store, and is still verified (the target
 * must hold no rows for it either).
 */
export type StoreKind = 'graph' | 'kv' | 'vector';

export interface StorePlan {
  kind: StoreKind;
  /** Display name; also the key of its counts and checksum in reports. */
  store: string;
  file: string;
  namespace?: KvNamespace | VectorNamespace;
}

export interface WorkspacePlan {
  name: string;
  directory: string;
  stores: StorePlan[];
  /** LightRAG files in the directory that no PostgreSQL table holds. */
  unmigrated: string[];
}

export function storePlans(stores: StoreSet): StorePlan[] {
  const plans: StorePlan[] = [];
  if (stores.graph) plans.push({ kind: 'graph', store: 'graph', file: GRAPH_FILE });
  if (stores.kv) {
    for (const namespace of KV_NAMESPACES) {
      plans.push({ kind: 'kv', store: namespace, file: kvFile(namespace), namespace });
    }
  }
  if (stores.docStatus) {
    plans.push({ kind: 'kv', store: 'doc_status', file: DOC_STATUS_FILE, namespace: 'doc_status' });
  }
  if (stores.vector) {
    for (const namespace of VECTOR_NAMESPACES) {
      plans.push({
        kind: 'vector',
        store: `vdb_${namespace}`,
        file: vectorFile(namespace),
        namespace,
      });
    }
  }
  return plans;
}

function knownFiles(): Set<string> {
  const names = [GRAPH_FILE, DOC_STATUS_FILE, PENDING_VECTORS_FILE];
  for (const namespace of KV_NAMESPACES) names.push(kvFile(namespace));
  for (const namespace of VECTOR_NAMESPACES) names.push(vectorFile(namespace));
  return new Set(names);
}

/** Where a workspace's files are; an unknown workspace is refused with the usual error. */
export function locateWorkspace(workingDir: string, raw: string): WorkspaceLocation {
  const name = workspaceName(raw);
  const found = discoverWorkspaces(workingDir).workspaces.find((w) => w.name === name);
  if (!found) throw errors.workspaceNotFound(name);
  return found;
}

export function planWorkspace(name: string, directory: string, stores: StoreSet): WorkspacePlan {
  const known = knownFiles();
  const unmigrated = listSourceFiles(directory).filter((file) => !known.has(file));
  return { name, directory, stores: storePlans(stores), unmigrated };
}

/** Every workspace of WORKING_DIR, for --all. */
export function allWorkspaces(workingDir: string): string[] {
  return discoverWorkspaces(workingDir).workspaces.map((w) => w.name);
}

/** Directories --all leaves out: no workspace can have their names (nor can be served). */
export function skippedDirectories(workingDir: string): { directory: string; reason: string }[] {
  const skipped = discoverWorkspaces(workingDir).invalid;
  return skipped.sort((a, b) => (a.directory < b.directory ? -1 : 1));
}
