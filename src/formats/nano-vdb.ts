import { inflateSync } from 'node:zlib';
import { JsonFormatError, scanJsonFile } from './json-stream.ts';

/**
 * nano-vectordb files (`vdb_*.json`): `{embedding_dim, data: [...rows], matrix: base64}`.
 * `matrix` is float32 rows, one per data row, in data order. Newer rows also carry
 * `vector`: base64 of zlib-compressed float16 of the raw (not normalised) embedding.
 * The matrix may be longer than V8's longest string, so it is only ever seen in pieces.
 */
export interface NanoVdbSummary {
  embeddingDim: number | undefined;
  rowCount: number;
  matrixBytes: number;
  rowsWithVector: number;
  problems: NanoVdbProblem[];
}

export interface NanoVdbProblem {
  reason: string;
  offset?: number;
}

const BASE64_CHAR = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') {
  BASE64_CHAR[c.charCodeAt(0)] = 1;
}

/** Counts decoded bytes of a base64 text seen in pieces, and notices bad characters. */
export class Base64Meter {
  chars = 0;
  padding = 0;
  badOffset = -1;

  add(piece: Buffer): void {
    for (let i = 0; i < piece.length; i++) {
      const byte = piece[i] as number;
      if (byte === 0x3d) this.padding++;
      else if ((BASE64_CHAR[byte] !== 1 || this.padding > 0) && this.badOffset < 0) {
        this.badOffset = this.chars + i;
      }
    }
    this.chars += piece.length;
  }

  get bytes(): number {
    return (this.chars / 4) * 3 - this.padding;
  }

  get wellFormed(): boolean {
    return this.badOffset < 0 && this.chars % 4 === 0 && this.padding <= 2;
  }
}

const MAX_ROW_PROBLEMS = 20;

function addProblem(summary: NanoVdbSummary, problem: NanoVdbProblem): void {
  if (summary.problems.length < MAX_ROW_PROBLEMS) summary.problems.push(problem);
}

function readRow(
  summary: NanoVdbSummary,
  ids: Map<string, number>,
  item: unknown,
  offset: number,
): void {
  const index = summary.rowCount++;
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    addProblem(summary, { reason: `data row ${index} is not an object`, offset });
    return;
  }
  const row = item as Record<string, unknown>;
  if (typeof row.__id__ !== 'string') {
    addProblem(summary, { reason: `data row ${index} has no string "__id__"`, offset });
  } else {
    const first = ids.get(row.__id__);
    if (first === undefined) ids.set(row.__id__, index);
    else addProblem(summary, duplicateId(row.__id__, first, index, offset));
  }
  if (typeof row.vector === 'string') summary.rowsWithVector++;
}

function duplicateId(id: string, first: number, index: number, offset: number): NanoVdbProblem {
  return {
    reason:
      `data rows ${first} and ${index} share "__id__" ${JSON.stringify(id)}; ` +
      'nano-vectordb keeps one row per id, so the file was not written by it alone',
    offset,
  };
}

/** Describes a matrix whose size does not fit the rows: which shape it does fit, if any. */
function describeMismatch(matrixBytes: number, dim: number, rows: number): string {
  const floats = matrixBytes / 4;
  const asRows = floats / dim;
  let shape = Number.isInteger(asRows)
    ? `${asRows} rows of ${dim}`
    : `${floats} floats, not a multiple of embedding_dim ${dim}`;
  const perRow = rows > 0 ? floats / rows : 0;
  if (!Number.isInteger(asRows) && Number.isInteger(perRow) && perRow > 0) {
    shape += `; it fits ${rows} rows of ${perRow}: was the embedding model changed?`;
  }
  return (
    `matrix holds ${matrixBytes} bytes (${shape}) but embedding_dim ${dim} ` +
    `and ${rows} data rows need ${4 * dim * rows} bytes`
  );
}

function checkConsistency(summary: NanoVdbSummary, meter: Base64Meter): void {
  const dim = summary.embeddingDim;
  if (dim === undefined) {
    summary.problems.push({ reason: 'missing or invalid "embedding_dim"' });
    return;
  }
  if (!meter.wellFormed) {
    const at = meter.badOffset >= 0 ? ` (bad character at position ${meter.badOffset})` : '';
    summary.problems.push({ reason: `"matrix" is not clean base64${at}` });
    return;
  }
  if (summary.matrixBytes === 4 * dim * summary.rowCount) return;
  summary.problems.push({ reason: describeMismatch(summary.matrixBytes, dim, summary.rowCount) });
}

/**
 * Reads a vdb file's shape without decoding vectors: dimension, rows, matrix size, and
 * what does not add up. A damaged file yields the rows read before the damage, with the
 * JSON problem (and its byte offset) among `problems`.
 */
export async function inspectNanoVdb(path: string): Promise<NanoVdbSummary> {
  const summary: NanoVdbSummary = {
    embeddingDim: undefined,
    rowCount: 0,
    matrixBytes: 0,
    rowsWithVector: 0,
    problems: [],
  };
  const meter = new Base64Meter();
  const ids = new Map<string, number>();
  try {
    await scanJsonFile(path, {
      modeFor: (key) => (key === 'data' ? 'items' : key === 'matrix' ? 'string' : 'parse'),
      onValue: (key, value) => {
        if (key !== 'embedding_dim') return;
        if (Number.isInteger(value) && (value as number) > 0)
          summary.embeddingDim = value as number;
      },
      onItem: (_key, item, _index, offset) => readRow(summary, ids, item, offset),
      onStringPiece: (_key, piece) => meter.add(piece),
    });
  } catch (error) {
    if (!(error instanceof JsonFormatError)) throw error;
    summary.problems.push({ reason: error.reason, offset: error.offset });
    return summary;
  }
  summary.matrixBytes = meter.bytes;
  checkConsistency(summary, meter);
  return summary;
}

/** Decodes a row's `vector` field: base64 → zlib → float16 little-endian → numbers. */
export function decodeFloat16Vector(encoded: string): Float32Array {
  const raw = inflateSync(Buffer.from(encoded, 'base64'));
  if (raw.length % 2 !== 0) throw new JsonFormatError('vector field has an odd byte count', 0);
  const out = new Float32Array(raw.length / 2);
  const values = float16Values();
  for (let i = 0; i < out.length; i++) out[i] = values[raw.readUInt16LE(i * 2)]!;
  return out;
}

let float16Table: Float32Array | undefined;

/**
 * Every float16 value by its bits (256 KB, made once): a vector file holds millions of
 * components, and computing each one cost seconds per 100,000 vectors.
 */
export function float16Values(): Float32Array {
  if (float16Table) return float16Table;
  float16Table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) float16Table[bits] = float16ToNumber(bits);
  return float16Table;
}

export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
