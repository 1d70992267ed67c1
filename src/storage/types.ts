import type { GraphAttributes } from '../formats/graphml.ts';

/**
 * The storage interface. Every backend (files in `file/`, PostgreSQL in `postgres/`)
 * implements it with the same file names, and the HTTP layer and CLI only ever talk to
 * it. Workspace names reaching a backend have already passed `workspaceName()`.
 */

/** One row of the workspace list; the same contract on every backend. */
export interface WorkspaceSummary {
  name: string;
  entity_count: number;
  relation_count: number;
  document_count: number;
  chunk_count: number;
  /** ISO-8601 UTC of the newest change seen, or null when the workspace is empty. */
  updated_at: string | null;
  errors?: WorkspaceProblem[];
}

/** Something wrong with one file or record; listed, never fatal to the list. */
export interface WorkspaceProblem {
  file?: string;
  record?: string;
  reason: string;
  offset?: number;
}

export interface WorkspaceFile {
  name: string;
  size: number;
  modified_at: string;
}

export interface WorkspaceDetail extends WorkspaceSummary {
  /** Where the data lives: a directory for files, a database for PostgreSQL. */
  location: string;
  files?: WorkspaceFile[];
  /** Row or record count per store (namespace), e.g. `{"text_chunks": 12}`. */
  stores: Record<string, number>;
  /** Embedding dimension per vector store, where known. */
  vector_dimensions?: Record<string, number>;
  entity_types?: Record<string, number>;
  /** Documents per status; unknown statuses are counted under "other". */
  document_statuses?: Record<string, number>;
  errors: WorkspaceProblem[];
  /** Record-level findings that do not stop reading (lone surrogates, NUL characters). */
  warnings?: WorkspaceProblem[];
}

export type WorkspaceSortKey = 'name' | 'entity_count' | 'relation_count' | 'updated_at';

export interface WorkspaceQuery {
  q?: string;
  prefix?: string;
  minEntities?: number;
  maxEntities?: number;
  minRelations?: number;
  maxRelations?: number;
  hasDocuments?: boolean;
  updatedSince?: string;
  sort: WorkspaceSortKey;
  descending: boolean;
  limit: number;
  offset: number;
  /** Opaque cursor from a previous page; replaces `offset` when given. */
  cursor?: string;
}

export interface WorkspacePage {
  workspaces: WorkspaceSummary[];
  count: number;
  next_cursor?: string | null;
  /** Directories that look like workspaces but whose names fail validation (files only). */
  invalid_workspaces?: { directory: string; reason: string }[];
}

export interface Entity {
  name: string;
  properties: GraphAttributes;
}

export interface Relation {
  source: string;
  target: string;
  properties: GraphAttributes;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface KnowledgeGraph {
  nodes: { id: string; labels: string[]; properties: GraphAttributes }[];
  edges: {
    id: string;
    type: string;
    source: string;
    target: string;
    properties: GraphAttributes;
  }[];
  is_truncated: boolean;
}

export interface StorageBackend {
  readonly kind: string;
  listWorkspaces(query: WorkspaceQuery): Promise<WorkspacePage>;
  /** Throws WORKSPACE_NOT_FOUND when the workspace has no data. */
  describeWorkspace(name: string): Promise<WorkspaceDetail>;
  close(): Promise<void>;
}
