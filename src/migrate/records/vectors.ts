import { float16Values } from '../../formats/nano-vdb.ts';
import { toHalf } from '../../storage/postgres/vectors.ts';
import type { TextPolicy } from '../../storage/postgres/text.ts';
import type { VectorNamespace, VectorRecord } from '../../storage/types.ts';
import type { Canonical } from '../canonical.ts';
import type { Findings } from '../findings.ts';
import type { VectorRow } from '../source/vectors.ts';
import { codePoints } from './kv.ts';
import { storedText } from './text.ts';

/**
 * nano-vectordb rows against LightRAG's vector tables. The stored vector is the row's
 * float16 `vector` field (the raw embedding) where present, otherwise its float32 matrix
 * row, which nano-vectordb keeps L2-normalised. A vector holding NaN or infinities cannot
 * be stored by pgvector; the row is kept with no vector (pending, for `ragspace reembed`).
 *
 * The field list mirrors the backend's (storage/postgres/vectors.ts, not exported there).
 */
interface VectorField {
  field: string;
  kind: 'text' | 'int' | 'chunk_ids';
  maxChars?: number;
}

const SEP = '<SEP>';
const text = (field: string, maxChars?: number): VectorField => ({ field, kind: 'text', maxChars });

export const VECTOR_FIELDS: Record<VectorNamespace, VectorField[]> = {
  entities: [
    text('entity_name', 512),
    text('content'),
    { field: 'source_id', kind: 'chunk_ids' },
    text('file_path'),
  ],
  relationships: [
    text('src_id', 512),
    text('tgt_id', 512),
    text('content'),
    { field: 'source_id', kind: 'chunk_ids' },
    text('file_path'),
  ],
  chunks: [
    text('full_doc_id', 256),
    text('content'),
    text('file_path'),
    { field: 'tokens', kind: 'int' },
    { field: 'chunk_order_index', kind: 'int' },
  ],
};

export const vectorStore = (namespace: VectorNamespace): string => `vdb_${namespace}`;

/** How close a normalised float16 vector must be to its matrix row to count as the same. */
const HALF_TOLERANCE = 4e-3;

interface Context {
  store: string;
  id: string;
  policy: TextPolicy | undefined;
  findings: Findings | undefined;
}

function note(
  ctx: Context,
  severity: 'error' | 'warning',
  code: string,
  field: string,
  message: string,
) {
  ctx.findings?.add({ severity, store: ctx.store, code, record: ctx.id, field, message });
}

function checkField(ctx: Context, spec: VectorField, value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (spec.kind === 'int') {
    if (!Number.isSafeInteger(value))
      note(ctx, 'error', 'not_integer', spec.field, 'must be a whole number');
    return value;
  }
  if (typeof value !== 'string') {
    note(ctx, 'error', 'not_text', spec.field, `must be text (is ${typeof value})`);
    return value;
  }
  const safe = ctx.policy ? ctx.policy.text(value, ctx.store, ctx.id, spec.field) : value;
  const limit = spec.kind === 'chunk_ids' ? 255 : spec.maxChars;
  const parts = spec.kind === 'chunk_ids' ? safe.split(SEP) : [safe];
  if (
    limit !== undefined &&
    parts.some((part) => part.length > limit && codePoints(part) > limit)
  ) {
    note(ctx, 'error', 'too_long', spec.field, `holds a value longer than ${limit} characters`);
  }
  return safe;
}

function checkId(ctx: Context): void {
  try {
    ctx.policy?.id(ctx.id, ctx.store);
  } catch {
    note(
      ctx,
      'error',
      'bad_id',
      'id',
      'the id holds a NUL or a lone surrogate; ids are never altered',
    );
    return;
  }
  if (codePoints(ctx.id) > 255)
    note(ctx, 'error', 'too_long', 'id', 'the id is longer than 255 characters');
}

function normalised(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return vector.map((x) => x / norm);
}

function disagrees(half: Float32Array, matrix: Float32Array): boolean {
  const unit = normalised(half);
  for (let i = 0; i < unit.length; i++) {
    if (Math.abs(unit[i]! - matrix[i]!) > HALF_TOLERANCE) return true;
  }
  return false;
}

function chooseVector(ctx: Context, row: VectorRow, dim: number): Float32Array | null {
  const half = row.halfVector;
  if (half !== undefined && half.length !== dim) {
    note(ctx, 'error', 'vector_dimension', 'vector', `holds ${half.length} values, not ${dim}`);
    return null;
  }
  const vector = half ?? row.matrixRow;
  if (!vector.every(Number.isFinite)) {
    const message = 'holds NaN or infinite values; stored without a vector (pending reembed)';
    note(ctx, 'warning', 'non_finite_vector', 'vector', message);
    return null;
  }
  if (half !== undefined && disagrees(half, row.matrixRow)) {
    const message = 'the float16 vector and the matrix row differ; the float16 vector is kept';
    note(ctx, 'warning', 'vector_matrix_differ', 'vector', message);
  }
  return vector;
}

/** Checks a data row's id and fields as the backend's encoder will (the check pass). */
export function checkVectorRow(
  namespace: VectorNamespace,
  id: string,
  data: Record<string, unknown>,
  policy: TextPolicy,
  findings: Findings,
): void {
  const ctx: Context = { store: vectorStore(namespace), id, policy, findings };
  checkId(ctx);
  const specs = VECTOR_FIELDS[namespace];
  const known = new Set(specs.map((s) => s.field));
  for (const key of Object.keys(data)) {
    if (key === '__id__' || key === '__created_at__' || key === 'vector') continue;
    if (!known.has(key)) policy.dropped(ctx.store, id, key);
  }
  for (const spec of specs) checkField(ctx, spec, data[spec.field]);
  checkCreatedAt(ctx, data.__created_at__);
}

/** The vector tables keep create_time as TIMESTAMP(0): a fraction of a second is lost. */
function checkCreatedAt(ctx: Context, value: unknown): void {
  if (typeof value !== 'number' || Number.isInteger(value)) return;
  const message = 'a fractional Unix time; kept to the whole second (the column is TIMESTAMP(0))';
  note(ctx, 'warning', 'time_rounded', '__created_at__', message);
}

/** The row as the backend's upsert takes it; vector problems go to `findings`. */
export function vectorRecord(
  namespace: VectorNamespace,
  row: VectorRow,
  dim: number,
  findings?: Findings,
): VectorRecord {
  const store = vectorStore(namespace);
  const ctx: Context = { store, id: row.id, policy: undefined, findings };
  const known = new Set(VECTOR_FIELDS[namespace].map((s) => s.field));
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row.data)) {
    if (known.has(key)) fields[key] = value;
  }
  const created = row.data.__created_at__;
  const createdAt = typeof created === 'number' && Number.isFinite(created) ? created : 0;
  return { id: row.id, fields, vector: chooseVector(ctx, row, dim), createdAt };
}

function storedVector(vector: Float32Array | null, halfvec: boolean): Float32Array | null {
  if (vector === null || !halfvec) return vector;
  const values = float16Values();
  return vector.map((x) => values[toHalf(x)]!);
}

/**
 * The canonical form of a row, whether built from a file (`vectorRecord`, then the policy
 * applied) or read back with the backend's `getVectors`.
 */
export function canonicalVector(
  namespace: VectorNamespace,
  record: VectorRecord,
  halfvec: boolean,
): Canonical {
  const out: Canonical = {};
  for (const spec of VECTOR_FIELDS[namespace]) {
    const value = record.fields[spec.field];
    if (value === undefined || value === null) continue;
    out[spec.field] = typeof value === 'string' ? storedText(value) : value;
  }
  out.vector = storedVector(record.vector, halfvec);
  out.created_at = Math.round(record.createdAt);
  return out;
}
