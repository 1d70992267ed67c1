import { errors, isRagspaceError } from '../errors.ts';
import { applyWorkspaceQuery, MAX_LIMIT } from '../workspace/query.ts';
import type { StoreSet } from './postgres/schema.ts';
import type { PostgresStorage } from './postgres/index.ts';
import type { WriteNotice } from './postgres/text.ts';
import type {
  KvNamespace,
  StorageBackend,
  WorkspaceDetail,
  WorkspacePage,
  WorkspaceQuery,
  WorkspaceReader,
  WorkspaceSummary,
  WorkspaceWriter,
} from './types.ts';

/**
 * Stores split between PostgreSQL and files (e.g. LIGHTRAG_GRAPH_STORAGE=PGGraphStorage
 * with LIGHTRAG_VECTOR_STORAGE=NanoVectorDBStorage): each call goes to the backend that
 * keeps its store. A write runs the file write inside the PostgreSQL transaction, so a
 * failure in `fn` or in the file commit rolls PostgreSQL back; only a PostgreSQL commit
 * failing after the files were committed leaves the two apart (there is no two-phase
 * commit between a database and a directory).
 */
type Store = keyof StoreSet;

function storeOf(namespace: KvNamespace): Store {
  return namespace === 'doc_status' ? 'docStatus' : 'kv';
}

/** Answers every read as an empty store: a workspace not (yet) in one of the backends. */
const EMPTY_READER: WorkspaceReader = {
  entityNames: async () => [],
  popularLabels: async () => [],
  searchLabels: async () => [],
  knowledgeGraph: async () => ({ nodes: [], edges: [], is_truncated: false }),
  getEntity: async () => undefined,
  getRelation: async () => undefined,
  relationsOf: async () => [],
  entities: async () => ({ items: [], total: 0 }),
  relations: async () => ({ items: [], total: 0 }),
  getKv: async () => new Map(),
  getVectors: async () => [],
  pendingVectors: async () => [],
  vectorDimension: async () => undefined,
};

function composeReader(pick: (store: Store) => WorkspaceReader): WorkspaceReader {
  return {
    entityNames: () => pick('graph').entityNames(),
    popularLabels: (limit) => pick('graph').popularLabels(limit),
    searchLabels: (query, limit) => pick('graph').searchLabels(query, limit),
    knowledgeGraph: (label, depth, nodes) => pick('graph').knowledgeGraph(label, depth, nodes),
    getEntity: (name) => pick('graph').getEntity(name),
    getRelation: (source, target) => pick('graph').getRelation(source, target),
    relationsOf: (name) => pick('graph').relationsOf(name),
    entities: (offset, limit) => pick('graph').entities(offset, limit),
    relations: (offset, limit) => pick('graph').relations(offset, limit),
    getKv: (namespace, ids) => pick(storeOf(namespace)).getKv(namespace, ids),
    getVectors: (namespace, ids) => pick('vector').getVectors(namespace, ids),
    pendingVectors: (namespace) => pick('vector').pendingVectors(namespace),
    vectorDimension: (namespace) => pick('vector').vectorDimension(namespace),
  };
}

function composeWriter(pick: (store: Store) => WorkspaceWriter, both: WorkspaceWriter[]) {
  const writer: WorkspaceWriter & { notices(): WriteNotice[] } = {
    ...composeReader(pick),
    upsertEntity: (entity) => pick('graph').upsertEntity(entity),
    deleteEntity: (name) => pick('graph').deleteEntity(name),
    upsertRelation: (relation) => pick('graph').upsertRelation(relation),
    deleteRelation: (source, target) => pick('graph').deleteRelation(source, target),
    upsertKv: (namespace, records) => pick(storeOf(namespace)).upsertKv(namespace, records),
    deleteKv: (namespace, ids) => pick(storeOf(namespace)).deleteKv(namespace, ids),
    upsertVectors: (namespace, rows) => pick('vector').upsertVectors(namespace, rows),
    deleteVectors: (namespace, ids) => pick('vector').deleteVectors(namespace, ids),
    clear: async () => {
      for (const part of both) await part.clear();
    },
    notices: () => both.flatMap((part) => noticesOf(part)),
  };
  return writer;
}

function noticesOf(writer: WorkspaceWriter): WriteNotice[] {
  const withNotices = writer as WorkspaceWriter & { notices?: () => WriteNotice[] };
  return typeof withNotices.notices === 'function' ? withNotices.notices() : [];
}

export class MixedStorage implements StorageBackend {
  readonly kind = 'mixed';

  constructor(
    private readonly files: StorageBackend,
    private readonly postgres: PostgresStorage,
  ) {}

  private inPostgres(store: Store): boolean {
    return this.postgres.stores[store];
  }

  async listWorkspaces(query: WorkspaceQuery): Promise<WorkspacePage> {
    const fromFiles = await everySummary(this.files);
    const fromPostgres = await everySummary(this.postgres);
    const merged = mergeSummaries(fromFiles.summaries, fromPostgres.summaries, this.postgres);
    const page = applyWorkspaceQuery(merged, query);
    if (fromFiles.invalid.length > 0) page.invalid_workspaces = fromFiles.invalid;
    return page;
  }

  async describeWorkspace(name: string): Promise<WorkspaceDetail> {
    const files = await unlessMissing(this.files.describeWorkspace(name));
    const postgres = await unlessMissing(this.postgres.describeWorkspace(name));
    if (!files && !postgres) throw errors.workspaceNotFound(name);
    const [summary] = mergeSummaries(
      files ? [files] : [],
      postgres ? [postgres] : [],
      this.postgres,
    );
    return {
      ...(files ?? postgres)!,
      ...summary!,
      location: [files?.location, postgres?.location].filter(Boolean).join(' + '),
      stores: { ...files?.stores, ...postgres?.stores },
      vector_dimensions: { ...files?.vector_dimensions, ...postgres?.vector_dimensions },
      errors: [...(files?.errors ?? []), ...(postgres?.errors ?? [])],
      warnings: [...(files?.warnings ?? []), ...(postgres?.warnings ?? [])],
    };
  }

  async hasWorkspace(name: string): Promise<boolean> {
    return (await this.postgres.hasWorkspace(name)) || (await this.files.hasWorkspace(name));
  }

  async read<T>(workspace: string, fn: (reader: WorkspaceReader) => Promise<T>): Promise<T> {
    if (!(await this.hasWorkspace(workspace))) throw errors.workspaceNotFound(workspace);
    const inFiles = await this.files.hasWorkspace(workspace);
    return this.postgres.readAny(workspace, false, (pgReader) => {
      const withFiles = (fileReader: WorkspaceReader) =>
        fn(composeReader((store) => (this.inPostgres(store) ? pgReader : fileReader)));
      return inFiles ? this.files.read(workspace, withFiles) : withFiles(EMPTY_READER);
    });
  }

  async write<T>(workspace: string, fn: (writer: WorkspaceWriter) => Promise<T>): Promise<T> {
    return this.postgres.write(workspace, (pgWriter) =>
      this.files.write(workspace, (fileWriter) => {
        const pick = (store: Store) => (this.inPostgres(store) ? pgWriter : fileWriter);
        return fn(composeWriter(pick, [pgWriter, fileWriter]));
      }),
    );
  }

  async close(): Promise<void> {
    await this.files.close();
    await this.postgres.close();
  }
}

async function unlessMissing<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (isRagspaceError(error) && error.code === 'WORKSPACE_NOT_FOUND') return undefined;
    throw error;
  }
}

async function everySummary(backend: StorageBackend) {
  const query: WorkspaceQuery = { sort: 'name', descending: false, limit: MAX_LIMIT, offset: 0 };
  const summaries: WorkspaceSummary[] = [];
  let page = await backend.listWorkspaces(query);
  summaries.push(...page.workspaces);
  const invalid = page.invalid_workspaces ?? [];
  while (page.next_cursor) {
    page = await backend.listWorkspaces({ ...query, cursor: page.next_cursor });
    summaries.push(...page.workspaces);
  }
  return { summaries, invalid };
}

/** Each count from the backend that keeps its store; the newest change of either. */
function mergeSummaries(
  files: WorkspaceSummary[],
  postgres: WorkspaceSummary[],
  pg: PostgresStorage,
): WorkspaceSummary[] {
  const byName = new Map<string, { f?: WorkspaceSummary; p?: WorkspaceSummary }>();
  for (const f of files) byName.set(f.name, { f });
  for (const p of postgres) byName.set(p.name, { ...byName.get(p.name), p });
  return [...byName.entries()].map(([name, { f, p }]) => {
    const from = (store: Store) => (pg.stores[store] ? p : f);
    const stamps = [f?.updated_at, p?.updated_at].filter((u): u is string => !!u).sort();
    const summary: WorkspaceSummary = {
      name,
      entity_count: from('graph')?.entity_count ?? 0,
      relation_count: from('graph')?.relation_count ?? 0,
      document_count: from('docStatus')?.document_count || from('kv')?.document_count || 0,
      chunk_count: from('kv')?.chunk_count ?? 0,
      updated_at: stamps.at(-1) ?? null,
    };
    if (f?.errors) summary.errors = f.errors;
    return summary;
  });
}
