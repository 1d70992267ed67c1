import { readJsonEntries } from '../../formats/json-stream.ts';
import {
  cleanJsonValue,
  noteId,
  writePrettyJsonObject,
  type CleanReport,
} from '../../formats/json-writer.ts';
import { decodeFloat16Vector } from '../../formats/nano-vdb.ts';
import { loadNanoVdb, type NanoRow } from '../../formats/nano-vdb-loader.ts';
import {
  encodeFloat16Vector,
  normaliseVector,
  writeNanoVdb,
} from '../../formats/nano-vdb-writer.ts';
import type { TextSink } from '../../formats/sink.ts';
import type { VectorNamespace, VectorRecord } from '../types.ts';
import { LayeredMap } from './layered-map.ts';
import { VECTOR_META_FIELDS } from './layout.ts';

/**
 * One nano-vectordb store (`vdb_<namespace>.json`) in memory, and ragspace's sidecar of
 * rows still waiting for a vector.
 *
 * The vector served for a stored row is the raw embedding, as the interface asks and as
 * LightRAG's `get_vectors_by_ids` answers: the row's `vector` field, decoded (float16
 * precision, about three significant digits). Rows from files older than that field
 * (before LightRAG 1.4.7), or whose field does not decode to the store's dimension, serve
 * their matrix row instead: float32 and L2-normalised, so only the direction is known.
 * Both are the same vector for a cosine search.
 *
 * Rows without a vector cannot go into the nano file (its `data` and `matrix` must stay
 * aligned and LightRAG has no "pending" row), so they live in a hidden sidecar in the
 * workspace directory until `upsertVectors` gives them a vector.
 */
export class VectorStore {
  constructor(
    public embeddingDim: number | undefined = undefined,
    readonly rows: Map<string, NanoRow> = new Map(),
    readonly extra: Record<string, unknown> = {},
  ) {}

  clone(): VectorStore {
    return new VectorStore(this.embeddingDim, new Map(this.rows), this.extra);
  }

  /** The dimension of the vectors held; none while the store is empty. */
  dimension(): number | undefined {
    return this.rows.size > 0 ? this.embeddingDim : undefined;
  }
}

/** The fields LightRAG keeps for the store, in the caller's order. */
export function metaFields(
  namespace: VectorNamespace,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  const kept = VECTOR_META_FIELDS[namespace];
  return Object.fromEntries(Object.entries(fields).filter(([key]) => kept.includes(key)));
}

/** A data row and matrix row for a record that has its vector. */
export function nanoRow(namespace: VectorNamespace, record: VectorRecord, raw: Float32Array) {
  const data: Record<string, unknown> = {
    __id__: record.id,
    __created_at__: record.createdAt,
    ...metaFields(namespace, record.fields),
    vector: encodeFloat16Vector(raw),
  };
  return { data, matrix: normaliseVector(raw) };
}

function rawVector(row: NanoRow): Float32Array {
  const encoded = row.data.vector;
  if (typeof encoded !== 'string') return row.matrix.slice();
  try {
    const raw = decodeFloat16Vector(encoded);
    return raw.length === row.matrix.length ? raw : row.matrix.slice();
  } catch {
    return row.matrix.slice();
  }
}

export function toVectorRecord(row: NanoRow): VectorRecord {
  const { __id__: id, __created_at__: createdAt, ...fields } = row.data;
  delete fields.vector;
  return {
    id: String(id),
    fields,
    vector: rawVector(row),
    createdAt: typeof createdAt === 'number' ? createdAt : 0,
  };
}

/** Loads a store; a repeated `__id__` keeps the last row, as nano's upsert would. */
export async function loadVectors(path: string): Promise<VectorStore> {
  const loaded = await loadNanoVdb(path);
  const rows = new Map<string, NanoRow>();
  for (const row of loaded.rows) rows.set(String(row.data.__id__), row);
  return new VectorStore(loaded.embeddingDim, rows, loaded.extra);
}

export async function writeVectors(
  store: VectorStore,
  sink: TextSink,
  report: CleanReport,
): Promise<void> {
  const cleaned = [...store.rows.values()].map((row) => {
    const { __id__: id, ...rest } = row.data;
    const fields = cleanJsonValue(rest, report) as Record<string, unknown>;
    return { data: { __id__: noteId(String(id), report), ...fields }, matrix: row.matrix };
  });
  // A store never given a dimension is only written empty (see stores.ts).
  await writeNanoVdb(
    { embeddingDim: store.embeddingDim ?? 0, rows: () => cleaned, extra: store.extra },
    sink,
  );
}

// ---- pending rows (ragspace's sidecar) ----

interface PendingRow {
  fields: Record<string, unknown>;
  created_at: number;
}

type PendingRows = LayeredMap<string, PendingRow>;
type PendingByNamespace = Map<VectorNamespace, PendingRows>;

/** Rows per namespace; a clone's row maps are layered copies that note what they add. */
export class PendingStore {
  constructor(readonly rows: PendingByNamespace = new Map()) {}

  clone(): PendingStore {
    const copy: PendingByNamespace = new Map();
    for (const [namespace, rows] of this.rows) copy.set(namespace, rows.copy());
    return new PendingStore(copy);
  }

  of(namespace: VectorNamespace): PendingRows {
    return this.rows.get(namespace) ?? LayeredMap.adopt();
  }

  set(namespace: VectorNamespace, record: VectorRecord): void {
    const rows = this.rows.get(namespace) ?? LayeredMap.adopt<string, PendingRow>();
    rows.set(record.id, {
      fields: metaFields(namespace, record.fields),
      created_at: record.createdAt,
    });
    this.rows.set(namespace, rows);
  }

  delete(namespace: VectorNamespace, id: string): boolean {
    return this.rows.get(namespace)?.delete(id) ?? false;
  }

  get size(): number {
    let total = 0;
    for (const rows of this.rows.values()) total += rows.size;
    return total;
  }
}

export function pendingRecord(id: string, row: PendingRow): VectorRecord {
  return { id, fields: { ...row.fields }, vector: null, createdAt: row.created_at };
}

function readPendingRows(value: unknown): Map<string, PendingRow> {
  const rows = new Map<string, PendingRow>();
  if (value === null || typeof value !== 'object') return rows;
  for (const [id, row] of Object.entries(value as Record<string, PendingRow>)) {
    const createdAt = typeof row?.created_at === 'number' ? row.created_at : 0;
    rows.set(id, { fields: { ...(row?.fields ?? {}) }, created_at: createdAt });
  }
  return rows;
}

/**
 * A namespace may appear more than once: a write that only adds rows appends them as
 * another member (append.ts). Members merge in file order, a later row winning. (Builds
 * of ragspace from before appending kept only the last member of a namespace; the next
 * full rewrite, e.g. by `ragspace reembed`, folds the members into one.)
 */
export async function loadPending(path: string): Promise<PendingStore> {
  const store = new PendingStore();
  for await (const entry of readJsonEntries(path)) {
    if (!(VECTOR_META_FIELDS as Record<string, unknown>)[entry.key]) continue;
    const namespace = entry.key as VectorNamespace;
    const rows = store.rows.get(namespace);
    const read = readPendingRows(entry.value);
    if (!rows) store.rows.set(namespace, LayeredMap.adopt(read));
    else for (const [id, row] of read) rows.set(id, row);
  }
  return store;
}

export async function writePending(
  store: PendingStore,
  sink: TextSink,
  report: CleanReport,
): Promise<void> {
  function* entries(): Generator<[string, unknown]> {
    for (const [namespace, rows] of store.rows) {
      if (rows.size > 0) yield [namespace, cleanJsonValue(Object.fromEntries(rows), report)];
    }
  }
  await writePrettyJsonObject(entries(), sink);
}
