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
  /** The table behind each store (PostgreSQL), e.g. `{"vdb_chunks": "lightrag_vdb_chunks_..."}`. */
  tables?: Record<string, string>;
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

export type KvNamespace =
  | 'full_docs'
  | 'text_chunks'
  | 'llm_response_cache'
  | 'full_entities'
  | 'full_relations'
  | 'entity_chunks'
  | 'relation_chunks'
  | 'doc_status';

export type VectorNamespace = 'entities' | 'relationships' | 'chunks';

/** A key-value record as LightRAG's JSON stores hold it (without the outer id). */
export type KvRecord = Record<string, unknown>;

/**
 * One row of a vector store. `fields` are the meta fields LightRAG keeps for the store
 * (entities: entity_name, source_id, content, file_path; relationships: src_id, tgt_id,
 * source_id, content, file_path; chunks: full_doc_id, content, file_path).
 * `vector` is the raw (not normalised) embedding; null means "not computed yet": the
 * backend records the row as pending and `reembed` fills it in later.
 */
export interface VectorRecord {
  id: string;
  fields: Record<string, unknown>;
  vector: Float32Array | null;
  /** Unix seconds. */
  createdAt: number;
}

/** Reads of one workspace. Entity names compare by Unicode code point, as in Python. */
export interface WorkspaceReader {
  entityNames(): Promise<string[]>;
  popularLabels(limit: number): Promise<string[]>;
  searchLabels(query: string, limit: number): Promise<string[]>;
  knowledgeGraph(label: string, maxDepth: number, maxNodes: number): Promise<KnowledgeGraph>;
  getEntity(name: string): Promise<Entity | undefined>;
  getRelation(source: string, target: string): Promise<Relation | undefined>;
  relationsOf(name: string): Promise<Relation[]>;
  entities(offset: number, limit: number): Promise<Page<Entity>>;
  relations(offset: number, limit: number): Promise<Page<Relation>>;
  getKv(namespace: KvNamespace, ids: string[]): Promise<Map<string, KvRecord>>;
  getVectors(namespace: VectorNamespace, ids: string[]): Promise<VectorRecord[]>;
  /** Rows recorded without a vector, waiting for `reembed`. */
  pendingVectors(namespace: VectorNamespace): Promise<VectorRecord[]>;
  /** The dimension of vectors already stored, or undefined when there are none. */
  vectorDimension(namespace: VectorNamespace): Promise<number | undefined>;
}

/**
 * Writes to one workspace inside `StorageBackend.write`: all of them land together or
 * none does. Graph upserts merge properties into an existing node or edge, as networkx's
 * `add_node`/`add_edge` do; relations are undirected (one per unordered pair).
 */
export interface WorkspaceWriter extends WorkspaceReader {
  upsertEntity(entity: Entity): Promise<void>;
  /** Removes the entity and every relation touching it. */
  deleteEntity(name: string): Promise<void>;
  upsertRelation(relation: Relation): Promise<void>;
  deleteRelation(source: string, target: string): Promise<void>;
  upsertKv(namespace: KvNamespace, records: Map<string, KvRecord>): Promise<void>;
  deleteKv(namespace: KvNamespace, ids: string[]): Promise<void>;
  upsertVectors(namespace: VectorNamespace, rows: VectorRecord[]): Promise<void>;
  deleteVectors(namespace: VectorNamespace, ids: string[]): Promise<void>;
  /** Empties every store of the workspace (graph, key-value, vectors, doc status). */
  clear(): Promise<void>;
}

export interface StorageBackend {
  readonly kind: string;
  listWorkspaces(query: WorkspaceQuery): Promise<WorkspacePage>;
  /** Throws WORKSPACE_NOT_FOUND when the workspace has no data. */
  describeWorkspace(name: string): Promise<WorkspaceDetail>;
  hasWorkspace(name: string): Promise<boolean>;
  /** Runs `fn` on a consistent view; throws WORKSPACE_NOT_FOUND for an unknown workspace. */
  read<T>(workspace: string, fn: (reader: WorkspaceReader) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` as one unit: serialised with every other writer of the workspace, in this
   * process and in others sharing the storage; applied all or nothing. Creates the
   * workspace when it does not exist.
   */
  write<T>(workspace: string, fn: (writer: WorkspaceWriter) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
