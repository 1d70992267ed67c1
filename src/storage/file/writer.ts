import { embeddingErrors, errors, fileErrors } from '../../errors.ts';
import type { GraphAttributes } from '../../formats/graphml.ts';
import { cleanXmlText } from '../../formats/graphml-writer.ts';
import { cleanJsonValue, type CleanReport } from '../../formats/json-writer.ts';
import type {
  Entity,
  KvNamespace,
  KvRecord,
  Relation,
  VectorNamespace,
  VectorRecord,
  WorkspaceWriter,
} from '../types.ts';
import { fingerprintOf } from './atomic.ts';
import { GraphModel } from './graph.ts';
import { inspectFile } from './inspect.ts';
import { KvStore, stampRecord } from './kv.ts';
import { KV_NAMESPACES, VECTOR_NAMESPACES } from './layout.ts';
import { graphStore, kvStore, pendingStore, vectorStore, type StoreKind } from './stores.ts';
import { nanoRow, PendingStore, VectorStore } from './vectors.ts';
import { FileReader, type ViewStores } from './view.ts';

/**
 * The writer of one `write()`: graph changes as networkx makes them (upserts merge
 * attributes; relations are undirected), key-value records replaced whole and stamped as
 * LightRAG's JSON stores do, vector rows kept aligned with their matrix rows. Text that
 * LightRAG's files cannot carry is removed on the way in (XML-illegal characters from
 * graph values, lone surrogates from JSON), so memory and files agree; what was removed is
 * counted for the log. Names holding such characters are refused rather than changed.
 */
export interface TextRepairs extends CleanReport {
  xmlCharacters: number;
}

const ALL_KV: KvNamespace[] = [...KV_NAMESPACES, 'doc_status'];
const nowSeconds = () => Math.floor(Date.now() / 1000);

function checkName(kind: string, name: string): string {
  if (typeof name !== 'string' || name === '') {
    throw errors.badRequest(`${kind} names must be non-empty strings.`, { name });
  }
  if (cleanXmlText(name) !== name) {
    throw errors.badRequest(
      `${kind} name ${JSON.stringify(name)} holds control characters or lone surrogates, ` +
        'which LightRAG graph files cannot store; remove them and retry.',
      { name },
    );
  }
  return name;
}

export class FileWriter extends FileReader implements WorkspaceWriter {
  readonly repairs: TextRepairs = { xmlCharacters: 0, strippedSurrogates: 0, keptSurrogateIds: 0 };

  constructor(
    stores: ViewStores,
    private readonly workspace: string,
  ) {
    super(stores);
  }

  private cleanProperties(owner: string, properties: GraphAttributes): GraphAttributes {
    const cleaned: GraphAttributes = {};
    for (const [key, value] of Object.entries(properties ?? {})) {
      checkName(`Property of ${owner}:`, key);
      if (typeof value === 'string') {
        cleaned[key] = cleanXmlText(value);
        this.repairs.xmlCharacters += value.length - (cleaned[key] as string).length;
      } else if (typeof value === 'number' || typeof value === 'boolean') {
        cleaned[key] = value;
      } else {
        throw errors.badRequest(
          `Property "${key}" of ${owner} must be a string, number or boolean.`,
          { property: key },
        );
      }
    }
    return cleaned;
  }

  async upsertEntity(entity: Entity): Promise<void> {
    const name = checkName('Entity', entity.name);
    const properties = this.cleanProperties(`entity "${name}"`, entity.properties);
    // LightRAG keeps entity_id equal to the node id, and writes it first.
    const attributes: GraphAttributes = { entity_id: name, ...properties };
    attributes.entity_id = name;
    (await this.stores.mutable(graphStore)).mergeNode(name, attributes);
  }

  async deleteEntity(name: string): Promise<void> {
    if (!(await this.graph()).hasNode(name)) return;
    (await this.stores.mutable(graphStore)).deleteNode(name);
  }

  async upsertRelation(relation: Relation): Promise<void> {
    const source = checkName('Entity', relation.source);
    const target = checkName('Entity', relation.target);
    const graph = await this.graph();
    if (source === target && !graph.edge(source, target)) {
      // LightRAG never makes self-loops; one already in a file is kept as it is.
      throw errors.badRequest(`A relation needs two different entities, got "${source}" twice.`, {
        source,
      });
    }
    const properties = this.cleanProperties(
      `relation "${source}" - "${target}"`,
      relation.properties,
    );
    const writable = await this.stores.mutable(graphStore);
    for (const end of [source, target]) {
      if (!writable.hasNode(end)) writable.mergeNode(end, { entity_id: end });
    }
    writable.mergeEdge(source, target, properties);
  }

  async deleteRelation(source: string, target: string): Promise<void> {
    if (!(await this.graph()).edge(source, target)) return;
    (await this.stores.mutable(graphStore)).deleteEdge(source, target);
  }

  async upsertKv(namespace: KvNamespace, records: Map<string, KvRecord>): Promise<void> {
    if (records.size === 0) return;
    const store = await this.stores.mutable(kvStore(namespace));
    const now = nowSeconds();
    for (const [id, record] of records) {
      const key = checkKey(namespace, id);
      const clean = cleanJsonValue(record, this.repairs) as KvRecord;
      store.records.set(key, stampRecord(namespace, key, clean, store.records.get(key), now));
    }
  }

  async deleteKv(namespace: KvNamespace, ids: string[]): Promise<void> {
    const present = (await this.kv(namespace)).records;
    const doomed = ids.filter((id) => present.has(id));
    if (doomed.length === 0) return;
    const store = await this.stores.mutable(kvStore(namespace));
    for (const id of doomed) store.records.delete(id);
  }

  async upsertVectors(namespace: VectorNamespace, rows: VectorRecord[]): Promise<void> {
    for (const row of rows) {
      checkKey(`vdb_${namespace}`, row.id);
      if (row.vector === null) await this.stagePending(namespace, row);
      else await this.storeVector(namespace, row, row.vector);
    }
  }

  private async stagePending(namespace: VectorNamespace, row: VectorRecord): Promise<void> {
    const clean = { ...row, fields: cleanJsonValue(row.fields, this.repairs) as KvRecord };
    // An old vector no longer matches the new content: the row waits for a new one.
    if ((await this.vectors(namespace)).rows.has(row.id)) {
      (await this.stores.mutable(vectorStore(namespace))).rows.delete(row.id);
    }
    (await this.stores.mutable(pendingStore)).set(namespace, clean);
  }

  private async storeVector(namespace: VectorNamespace, row: VectorRecord, raw: Float32Array) {
    await this.checkDimension(namespace, row.id, raw.length);
    const store = await this.stores.mutable(vectorStore(namespace));
    store.embeddingDim = raw.length;
    const fields = cleanJsonValue(row.fields, this.repairs) as KvRecord;
    store.rows.set(row.id, nanoRow(namespace, { ...row, fields }, raw));
    if ((await this.pending()).of(namespace).has(row.id)) {
      (await this.stores.mutable(pendingStore)).delete(namespace, row.id);
    }
  }

  /** nano-vectordb holds one dimension per file; Python refuses to load a mixed one. */
  private async checkDimension(namespace: VectorNamespace, id: string, length: number) {
    if (length === 0) {
      throw errors.badRequest(`Vector row "${id}" of ${namespace} has no values.`, { id });
    }
    const stored = (await this.vectors(namespace)).dimension();
    if (stored !== undefined && stored !== length) {
      const where = `the ${stored}-dimension vectors in ${namespace}`;
      throw embeddingErrors.dimension(`${where} of workspace "${this.workspace}"`, length, stored);
    }
  }

  async deleteVectors(namespace: VectorNamespace, ids: string[]): Promise<void> {
    const rows = (await this.vectors(namespace)).rows;
    const waiting = (await this.pending()).of(namespace);
    if (ids.some((id) => rows.has(id))) {
      const store = await this.stores.mutable(vectorStore(namespace));
      for (const id of ids) store.rows.delete(id);
    }
    if (ids.some((id) => waiting.has(id))) {
      const pending = await this.stores.mutable(pendingStore);
      for (const id of ids) pending.delete(namespace, id);
    }
  }

  /** Stores LightRAG does not define here (e.g. `kv_store_parse_cache.json`) are kept. */
  async clear(): Promise<void> {
    await this.empty(graphStore, () => GraphModel.empty());
    for (const namespace of ALL_KV) await this.empty(kvStore(namespace), () => new KvStore());
    for (const namespace of VECTOR_NAMESPACES) {
      await this.empty(
        vectorStore(namespace),
        (old, dim) => new VectorStore(old?.embeddingDim ?? dim),
      );
    }
    await this.empty(pendingStore, () => new PendingStore());
  }

  /**
   * Empties a store. A file not loaded yet is still read first (streaming, keeping
   * nothing), so a damaged file is reported, never overwritten. Vector stores keep their
   * dimension, as LightRAG's emptied stores do.
   */
  private async empty<T>(
    kind: StoreKind<T>,
    make: (previous: T | undefined, dim?: number) => T,
  ): Promise<void> {
    if (this.stores.has(kind.id)) {
      this.stores.replace(kind, make(await this.stores.current(kind)));
      return;
    }
    const path = this.stores.state.path(kind as StoreKind<unknown>);
    const fingerprint = await fingerprintOf(path);
    if (fingerprint === null) {
      this.stores.replace(kind, make(undefined), { file: kind.file, fingerprint });
      return;
    }
    const facts = await inspectFile(path, kind.file);
    const problem = facts.errors[0];
    if (problem)
      throw fileErrors.corrupt(this.workspace, kind.file, problem.reason, problem.offset);
    this.stores.replace(kind, make(undefined, facts.embeddingDim), {
      file: kind.file,
      fingerprint,
    });
  }
}

function checkKey(store: string, id: string): string {
  if (typeof id !== 'string' || id === '') {
    throw errors.badRequest(`Record ids of ${store} must be non-empty strings.`, { store });
  }
  if (!id.isWellFormed()) {
    throw errors.badRequest(
      `A record id of ${store} holds a lone UTF-16 surrogate, which LightRAG's files cannot ` +
        'store; fix the id and retry.',
      { store },
    );
  }
  return id;
}
