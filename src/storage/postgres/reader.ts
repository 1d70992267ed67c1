import { knowledgeGraph } from '../../graph/subgraph.ts';
import type {
  Entity,
  KnowledgeGraph,
  KvNamespace,
  KvRecord,
  Page,
  Relation,
  VectorNamespace,
  VectorRecord,
  WorkspaceReader,
} from '../types.ts';
import { DOC_STATUS_SPEC } from './doc-status.ts';
import * as graph from './graph.ts';
import { KV_SPECS } from './kv.ts';
import type { RecordTable } from './records.ts';
import { getRecords } from './records.ts';
import type { StoreSet } from './schema.ts';
import type { Session } from './session.ts';
import * as vectors from './vectors.ts';

/** Reads of one workspace, all on the session's client inside its transaction. */
export class PostgresReader implements WorkspaceReader {
  constructor(protected readonly session: Session) {}

  /** Called before every read; the writer sends its buffered upserts here. */
  protected async ready(): Promise<void> {}

  protected need(store: keyof StoreSet): void {
    // Reaching this is a routing fault in the caller (mixed.ts), not bad input.
    if (!this.session.stores[store]) throw new Error(`the ${store} store is not in PostgreSQL`);
  }

  protected async graphRead<T>(read: () => Promise<T>): Promise<T> {
    this.need('graph');
    await this.ready();
    return read();
  }

  entityNames(): Promise<string[]> {
    return this.graphRead(() => graph.entityNames(this.session));
  }

  popularLabels(limit: number): Promise<string[]> {
    return this.graphRead(() => graph.popularLabels(this.session, limit));
  }

  searchLabels(query: string, limit: number): Promise<string[]> {
    return this.graphRead(() => graph.searchLabels(this.session, query, limit));
  }

  knowledgeGraph(label: string, maxDepth: number, maxNodes: number): Promise<KnowledgeGraph> {
    return this.graphRead(() =>
      knowledgeGraph(graph.subgraphSource(this.session), label, maxDepth, maxNodes),
    );
  }

  getEntity(name: string): Promise<Entity | undefined> {
    return this.graphRead(() => graph.getEntity(this.session, name));
  }

  getRelation(source: string, target: string): Promise<Relation | undefined> {
    return this.graphRead(() => graph.getRelation(this.session, source, target));
  }

  relationsOf(name: string): Promise<Relation[]> {
    return this.graphRead(() => graph.relationsOf(this.session, name));
  }

  entities(offset: number, limit: number): Promise<Page<Entity>> {
    return this.graphRead(() => graph.entityPage(this.session, offset, limit));
  }

  relations(offset: number, limit: number): Promise<Page<Relation>> {
    return this.graphRead(() => graph.relationPage(this.session, offset, limit));
  }

  protected recordTable(namespace: KvNamespace): RecordTable {
    this.need(namespace === 'doc_status' ? 'docStatus' : 'kv');
    return namespace === 'doc_status' ? DOC_STATUS_SPEC : KV_SPECS[namespace];
  }

  async getKv(namespace: KvNamespace, ids: string[]): Promise<Map<string, KvRecord>> {
    const spec = this.recordTable(namespace);
    await this.ready();
    return getRecords(this.session, spec, ids);
  }

  async getVectors(namespace: VectorNamespace, ids: string[]): Promise<VectorRecord[]> {
    this.need('vector');
    await this.ready();
    return vectors.getVectors(this.session, namespace, ids);
  }

  async pendingVectors(namespace: VectorNamespace): Promise<VectorRecord[]> {
    this.need('vector');
    await this.ready();
    return vectors.pendingVectors(this.session, namespace);
  }

  async vectorDimension(namespace: VectorNamespace): Promise<number | undefined> {
    this.need('vector');
    await this.ready();
    return vectors.vectorDimension(this.session, namespace);
  }
}
