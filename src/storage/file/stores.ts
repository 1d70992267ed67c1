import { writeGraphmlDocument } from '../../formats/graphml-writer.ts';
import type { CleanReport } from '../../formats/json-writer.ts';
import type { TextSink } from '../../formats/sink.ts';
import type { Logger } from '../../log.ts';
import type { KvNamespace, VectorNamespace } from '../types.ts';
import { graphAppendPlan, kvAppendPlan, pendingAppendPlan } from './append.ts';
import type { AppendPlan } from './atomic.ts';
import { GraphModel, graphmlSource } from './graph.ts';
import { loadGraph } from './graph-loader.ts';
import { KvStore, loadKv, writeKv } from './kv.ts';
import { GRAPH_FILE, kvFile, PENDING_VECTORS_FILE, vectorFile } from './layout.ts';
import {
  loadPending,
  loadVectors,
  PendingStore,
  VectorStore,
  writePending,
  writeVectors,
} from './vectors.ts';

/**
 * The stores of one workspace, each one file: how to load it, copy it for a writer,
 * write it back, and guess its size in memory. Sizes are estimates from the file size
 * (parsed JSON and XML take roughly 2-3 times their text; vectors take their float32
 * bytes), used only to decide when to evict a workspace.
 *
 * A store that can grow by appending says how (`appendPlan`, see append.ts); the commit
 * rewrites the file when there is no plan or the file does not end as the plan expects.
 */
export type StoreId = 'graph' | `kv:${KvNamespace}` | `vdb:${VectorNamespace}` | 'pending';

export interface StoreKind<T> {
  id: StoreId;
  file: string;
  load(path: string, logger: Logger): Promise<T>;
  empty(): T;
  clone(value: T): T;
  isEmpty(value: T): boolean;
  write(value: T, sink: TextSink, report: CleanReport): Promise<void>;
  /** How to append `value`'s additions to the file `base` was read from, if that is all. */
  appendPlan?(value: T, base: T, report: CleanReport): AppendPlan | undefined;
  estimateBytes(value: T, fileBytes: number): number;
}

const TEXT_FACTOR = 2.5;

export const graphStore: StoreKind<GraphModel> = {
  id: 'graph',
  file: GRAPH_FILE,
  async load(path, logger) {
    const loaded = await loadGraph(path);
    if (loaded.duplicates > 0) {
      logger.warn('graph.duplicates_merged', { file: GRAPH_FILE, count: loaded.duplicates });
    }
    return loaded.graph;
  },
  empty: () => GraphModel.empty(),
  clone: (graph) => graph.clone(),
  isEmpty: (graph) => graph.nodeCount === 0,
  async write(graph, sink) {
    // The keys of the file being written: a later append to it uses their ids.
    graph.fileKeys = await writeGraphmlDocument(graphmlSource(graph), sink);
  },
  appendPlan: (graph) => graphAppendPlan(graph),
  estimateBytes: (_graph, fileBytes) => fileBytes * 3,
};

const kvStores = new Map<KvNamespace, StoreKind<KvStore>>();

export function kvStore(namespace: KvNamespace): StoreKind<KvStore> {
  let kind = kvStores.get(namespace);
  if (!kind) {
    kind = {
      id: `kv:${namespace}`,
      file: kvFile(namespace),
      load: (path) => loadKv(path),
      empty: () => new KvStore(),
      clone: (store) => store.clone(),
      isEmpty: (store) => store.size === 0,
      write: writeKv,
      appendPlan: kvAppendPlan,
      estimateBytes: (_store, fileBytes) => fileBytes * TEXT_FACTOR,
    };
    kvStores.set(namespace, kind);
  }
  return kind;
}

function vectorBytes(store: VectorStore, fileBytes: number): number {
  const matrix = store.rows.size * (store.embeddingDim ?? 0) * 4;
  const matrixText = Math.ceil(matrix / 3) * 4;
  return Math.max(0, fileBytes - matrixText) * TEXT_FACTOR + matrix;
}

const vectorStores = new Map<VectorNamespace, StoreKind<VectorStore>>();

export function vectorStore(namespace: VectorNamespace): StoreKind<VectorStore> {
  let kind = vectorStores.get(namespace);
  if (!kind) {
    kind = {
      id: `vdb:${namespace}`,
      file: vectorFile(namespace),
      load: (path) => loadVectors(path),
      empty: () => new VectorStore(),
      clone: (store) => store.clone(),
      isEmpty: (store) => store.rows.size === 0,
      write: writeVectors,
      estimateBytes: vectorBytes,
    };
    vectorStores.set(namespace, kind);
  }
  return kind;
}

export const pendingStore: StoreKind<PendingStore> = {
  id: 'pending',
  file: PENDING_VECTORS_FILE,
  load: (path) => loadPending(path),
  empty: () => new PendingStore(),
  clone: (store) => store.clone(),
  isEmpty: (store) => store.size === 0,
  write: writePending,
  appendPlan: pendingAppendPlan,
  estimateBytes: (_store, fileBytes) => fileBytes * TEXT_FACTOR,
};
