import { float16Values } from '../../formats/nano-vdb.ts';
import { embeddingErrors, postgresErrors } from '../../errors.ts';
import type { VectorNamespace, VectorRecord } from '../types.ts';
import type { VectorTable } from './schema.ts';
import type { Session } from './session.ts';
import { executeBatches, valuesList, type SqlValue } from './sql.ts';
import { characters } from './records.ts';
import { isStorableText } from './text.ts';

/**
 * Vector rows in LightRAG's LIGHTRAG_VDB_* tables (suffixed by model and dimension).
 * Field mapping as LightRAG's PGVectorStorage: an entity's `source_id` (chunk ids joined
 * by <SEP>) is the `chunk_ids` array; a relation's `src_id`/`tgt_id` are `source_id` /
 * `target_id`. Vectors travel as pgvector's binary format in a Buffer parameter (no text
 * parsing on the server, which costs PGlite about 1.7 µs a float). A null vector is a
 * NULL column: the row is pending until `reembed` fills it.
 */
const SEP = '<SEP>';

interface VectorField {
  field: string;
  column: string;
  kind: 'text' | 'int' | 'chunk_ids';
  maxChars?: number;
}

const FIELDS: Record<VectorNamespace, VectorField[]> = {
  entities: [
    { field: 'entity_name', column: 'entity_name', kind: 'text', maxChars: 512 },
    { field: 'content', column: 'content', kind: 'text' },
    { field: 'source_id', column: 'chunk_ids', kind: 'chunk_ids' },
    { field: 'file_path', column: 'file_path', kind: 'text' },
  ],
  relationships: [
    { field: 'src_id', column: 'source_id', kind: 'text', maxChars: 512 },
    { field: 'tgt_id', column: 'target_id', kind: 'text', maxChars: 512 },
    { field: 'content', column: 'content', kind: 'text' },
    { field: 'source_id', column: 'chunk_ids', kind: 'chunk_ids' },
    { field: 'file_path', column: 'file_path', kind: 'text' },
  ],
  chunks: [
    { field: 'full_doc_id', column: 'full_doc_id', kind: 'text', maxChars: 256 },
    { field: 'content', column: 'content', kind: 'text' },
    { field: 'file_path', column: 'file_path', kind: 'text' },
    { field: 'tokens', column: 'tokens', kind: 'int' },
    { field: 'chunk_order_index', column: 'chunk_order_index', kind: 'int' },
  ],
};

type Target = VectorTable;

function targetOf(session: Session, namespace: VectorNamespace): Target {
  const found = session.schema.vectorTables[namespace];
  if (!found) throw new Error(`vector store ${namespace} is not kept in PostgreSQL`);
  return found;
}

function reject(session: Session, table: string, id: string, field: string, why: string) {
  return postgresErrors.valueRejected(session.name, table, id, field, why);
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** IEEE half precision, rounding to nearest even (Node 20 has no Float16Array). */
export function toHalf(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) return sign | roundShift(mantissa | 0x800000, 14 - exponent);
  return (sign | (exponent << 10)) + roundShift(mantissa, 13);
}

function roundShift(value: number, shift: number): number {
  if (shift > 24) return 0;
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** pgvector's binary input: dimension, unused, then big-endian float32 or float16. */
export function encodeVector(vector: Float32Array, type: 'vector' | 'halfvec'): Buffer {
  const width = type === 'vector' ? 4 : 2;
  const buffer = Buffer.alloc(4 + vector.length * width);
  buffer.writeUInt16BE(vector.length, 0);
  for (let i = 0; i < vector.length; i++) {
    if (type === 'vector') buffer.writeFloatBE(vector[i]!, 4 + i * 4);
    else buffer.writeUInt16BE(toHalf(vector[i]!), 4 + i * 2);
  }
  return buffer;
}

function checkVector(session: Session, target: Target, row: VectorRecord): Buffer | null {
  const vector = row.vector;
  if (vector === null) return null;
  if (vector.length !== target.dim) {
    throw embeddingErrors.dimension(`table ${target.table}`, vector.length, target.dim);
  }
  const limit = target.type === 'halfvec' ? 65504 : Infinity;
  for (const value of vector) {
    if (!Number.isFinite(value) || Math.abs(value) > limit) {
      const why = `holds ${value}, which ${target.type} cannot store`;
      throw reject(session, target.table, row.id, 'vector', why);
    }
  }
  return encodeVector(vector, target.type);
}

function encodeField(session: Session, table: string, row: VectorRecord, field: VectorField) {
  const value = row.fields[field.field];
  if (value === undefined || value === null) return null;
  if (field.kind === 'int') {
    if (Number.isSafeInteger(value)) return value as number;
    throw reject(session, table, row.id, field.field, 'must be a whole number');
  }
  if (typeof value !== 'string') {
    throw reject(session, table, row.id, field.field, `must be text (got ${typeof value})`);
  }
  const text = session.policy.text(value, table, row.id, field.field);
  if (field.kind === 'chunk_ids') return chunkIds(session, table, row.id, text);
  if (field.maxChars !== undefined && characters(text) > field.maxChars) {
    throw reject(
      session,
      table,
      row.id,
      field.field,
      `is longer than ${field.maxChars} characters`,
    );
  }
  return text;
}

function chunkIds(session: Session, table: string, id: string, text: string): string[] {
  const ids = text.split(SEP);
  if (ids.some((chunk) => characters(chunk) > 255)) {
    throw reject(session, table, id, 'source_id', 'holds a chunk id longer than 255 characters');
  }
  return ids;
}

function encodeRow(
  session: Session,
  namespace: VectorNamespace,
  target: Target,
  row: VectorRecord,
) {
  session.policy.id(row.id, target.table);
  if (characters(row.id) > 255) {
    throw reject(session, target.table, row.id, 'id', 'is longer than 255 characters');
  }
  const fields = FIELDS[namespace];
  const known = new Set(fields.map((f) => f.field));
  for (const key of Object.keys(row.fields)) {
    if (!known.has(key)) session.policy.dropped(target.table, row.id, key);
  }
  const values: SqlValue[] = fields.map((f) => encodeField(session, target.table, row, f));
  return [row.id, ...values, checkVector(session, target, row), row.createdAt];
}

function upsertStatement(namespace: VectorNamespace, table: string): (n: number) => string {
  const columns = FIELDS[namespace].map((f) => f.column);
  const names = ['id', ...columns, 'content_vector', 'create_time'];
  const wrap = names.map((n) =>
    n === 'create_time' ? "timezone('UTC', to_timestamp(?::double precision))" : undefined,
  );
  const sets = [...columns, 'content_vector', 'create_time'].map((c) => `${c} = EXCLUDED.${c}`);
  sets.push('update_time = EXCLUDED.update_time');
  return (n) =>
    `INSERT INTO ${table} AS t (workspace, ${names.join(', ')}, update_time) VALUES ` +
    valuesList(n, names.length, 2, { prefix: ['$1'], wrap, suffix: ["timezone('UTC', now())"] }) +
    ` ON CONFLICT (workspace, id) DO UPDATE SET ${sets.join(', ')}`;
}

export async function upsertVectors(
  session: Session,
  namespace: VectorNamespace,
  rows: VectorRecord[],
): Promise<void> {
  const target = targetOf(session, namespace);
  const latest = new Map(rows.map((row) => [row.id, row]));
  const encoded = [...latest.values()].map((row) => encodeRow(session, namespace, target, row));
  await executeBatches(
    session.client,
    encoded,
    [session.ws],
    upsertStatement(namespace, target.table),
  );
}

export async function deleteVectors(session: Session, namespace: VectorNamespace, ids: string[]) {
  const { table } = targetOf(session, namespace);
  await session.client.query(`DELETE FROM ${table} WHERE workspace = $1 AND id = ANY($2)`, [
    session.ws,
    ids.filter(isStorableText),
  ]);
}

/**
 * A vector as pgvector's binary output (`vector_send`, `halfvec_send`) gives it: the
 * layout `encodeVector` writes. Read as text, every component went through a decimal
 * round trip on both sides, which made reading 100,000 vectors of 1024 take half a minute.
 */
function decodeVector(bytes: Buffer | null, type: Target['type']): Float32Array | null {
  if (bytes === null) return null;
  const out = new Float32Array(bytes.readUInt16BE(0));
  if (type === 'vector') {
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatBE(4 + i * 4);
  } else {
    const values = float16Values();
    for (let i = 0; i < out.length; i++) out[i] = values[bytes.readUInt16BE(4 + i * 2)]!;
  }
  return out;
}

function decodeRow(
  namespace: VectorNamespace,
  row: Record<string, unknown>,
  type: Target['type'],
): VectorRecord {
  const fields: Record<string, unknown> = {};
  for (const field of FIELDS[namespace]) {
    const value = row[field.column];
    if (value === null || value === undefined) continue;
    fields[field.field] = field.kind === 'chunk_ids' ? (value as string[]).join(SEP) : value;
  }
  return {
    id: row.id as string,
    fields,
    vector: decodeVector(row.content_vector as Buffer | null, type),
    createdAt: row.create_time as number,
  };
}

async function selectRows(
  session: Session,
  namespace: VectorNamespace,
  condition: string,
  values: unknown[],
): Promise<VectorRecord[]> {
  const { table, type } = targetOf(session, namespace);
  const columns = FIELDS[namespace].map((f) => f.column).join(', ');
  const result = await session.client.query(
    `SELECT id, ${columns}, ${type}_send(content_vector) AS content_vector,
            EXTRACT(EPOCH FROM create_time)::bigint AS create_time
       FROM ${table} WHERE workspace = $1 AND ${condition} ORDER BY id`,
    [session.ws, ...values],
  );
  return result.rows.map((row) => decodeRow(namespace, row, type));
}

export async function getVectors(session: Session, namespace: VectorNamespace, ids: string[]) {
  return selectRows(session, namespace, 'id = ANY($2)', [ids.filter(isStorableText)]);
}

export async function pendingVectors(session: Session, namespace: VectorNamespace) {
  return selectRows(session, namespace, 'content_vector IS NULL', []);
}

export async function vectorDimension(
  session: Session,
  namespace: VectorNamespace,
): Promise<number | undefined> {
  const { table } = targetOf(session, namespace);
  const result = await session.client.query(
    `SELECT vector_dims(content_vector) AS dim FROM ${table}
      WHERE workspace = $1 AND content_vector IS NOT NULL LIMIT 1`,
    [session.ws],
  );
  return result.rows[0]?.dim as number | undefined;
}

export async function clearVectors(session: Session): Promise<void> {
  for (const found of Object.values(session.schema.vectorTables)) {
    await session.client.query(`DELETE FROM ${found.table} WHERE workspace = $1`, [session.ws]);
  }
}

export async function countVectors(session: Session, namespace: VectorNamespace) {
  const { table } = targetOf(session, namespace);
  const result = await session.client.query(
    `SELECT count(*) AS n FROM ${table} WHERE workspace = $1`,
    [session.ws],
  );
  return result.rows[0].n as number;
}
