import { deflateSync } from 'node:zlib';
import { pythonCompactJson } from './json-writer.ts';
import type { TextSink } from './sink.ts';

/**
 * Writes nano-vectordb files as LightRAG saves them: `{"embedding_dim", "data", "matrix"}`
 * with Python's separators and no indent; `matrix` is base64 of the float32 little-endian
 * rows (L2-normalised) in `data` order; each row's `vector` is base64(zlib(float16 LE)) of
 * the raw embedding. The matrix is encoded in pieces, so its base64 text may exceed V8's
 * longest string. Assumes a little-endian host (every platform Node ships for).
 */
export interface NanoRowOut {
  /** The data row exactly as written: `__id__`, `__created_at__`, meta fields, `vector`. */
  data: Record<string, unknown>;
  /** The normalised float32 row. */
  matrix: Float32Array;
}

export interface NanoVdbDocument {
  embeddingDim: number;
  /** Called twice: once for `data`, once for `matrix`. */
  rows(): Iterable<NanoRowOut>;
  /** Other top-level members found in the file (nano's `additional_data`), kept as read. */
  extra?: Record<string, unknown>;
}

const MATRIX_CHUNK = 3 * 256 * 1024;
const FLUSH_CHARS = 256 * 1024;

/** Divides by the L2 norm; a zero vector stays zero (nano would write NaN). */
export function normaliseVector(raw: Float32Array): Float32Array {
  let sum = 0;
  for (const x of raw) sum += x * x;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(raw.length);
  if (norm === 0 || !Number.isFinite(norm)) return norm === 0 ? out : out.fill(NaN);
  for (let i = 0; i < raw.length; i++) out[i] = (raw[i] as number) / norm;
  return out;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** IEEE half precision of a float32, rounded to nearest even (as numpy's astype). */
export function float16Bits(value: number): number {
  F32[0] = value;
  const bits = U32[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) return sign | subnormalHalf(mantissa | 0x800000, halfExponent);
  const half = sign | (halfExponent << 10) | (mantissa >>> 13);
  return half + roundUp(mantissa & 0x1fff, 0x1000, half);
}

function subnormalHalf(significand: number, halfExponent: number): number {
  if (halfExponent < -10) return 0;
  const shift = 14 - halfExponent;
  const half = significand >>> shift;
  return half + roundUp(significand & ((1 << shift) - 1), 1 << (shift - 1), half);
}

/** 1 when the dropped bits round the kept value up (ties go to the even value). */
function roundUp(dropped: number, halfway: number, kept: number): number {
  return dropped > halfway || (dropped === halfway && (kept & 1) === 1) ? 1 : 0;
}

/** The `vector` field: base64(zlib(float16 little-endian of the raw embedding)). */
export function encodeFloat16Vector(raw: Float32Array): string {
  const bytes = Buffer.alloc(raw.length * 2);
  for (let i = 0; i < raw.length; i++) bytes.writeUInt16LE(float16Bits(raw[i] as number), i * 2);
  return deflateSync(bytes).toString('base64');
}

async function writeData(document: NanoVdbDocument, sink: TextSink): Promise<void> {
  let pending = `{"embedding_dim": ${document.embeddingDim}, "data": [`;
  let first = true;
  for (const row of document.rows()) {
    pending += (first ? '' : ', ') + pythonCompactJson(row.data);
    first = false;
    if (pending.length >= FLUSH_CHARS) {
      await sink.write(pending);
      pending = '';
    }
  }
  await sink.write(pending + '], "matrix": "');
}

function rowBytes(row: NanoRowOut, dim: number): Buffer {
  if (row.matrix.length !== dim) {
    throw new Error(`vector row of ${row.matrix.length} values in a ${dim}-dimension store`);
  }
  return Buffer.from(row.matrix.buffer, row.matrix.byteOffset, row.matrix.byteLength);
}

async function writeMatrix(document: NanoVdbDocument, sink: TextSink): Promise<void> {
  const chunk = Buffer.alloc(MATRIX_CHUNK);
  let used = 0;
  for (const row of document.rows()) {
    const bytes = rowBytes(row, document.embeddingDim);
    for (let offset = 0; offset < bytes.length;) {
      const copied = bytes.copy(chunk, used, offset);
      used += copied;
      offset += copied;
      if (used === MATRIX_CHUNK) {
        await sink.write(chunk.toString('base64'));
        used = 0;
      }
    }
  }
  if (used > 0) await sink.write(chunk.subarray(0, used).toString('base64'));
}

export async function writeNanoVdb(document: NanoVdbDocument, sink: TextSink): Promise<void> {
  await writeData(document, sink);
  await writeMatrix(document, sink);
  let tail = '"';
  for (const [key, value] of Object.entries(document.extra ?? {})) {
    tail += `, ${JSON.stringify(key)}: ${pythonCompactJson(value)}`;
  }
  await sink.write(tail + '}');
}
