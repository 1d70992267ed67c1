import { scanJsonFile } from './json-stream.ts';
import { Base64Meter } from './nano-vdb.ts';

/**
 * Loads a nano-vectordb file with its vectors, streaming: data rows are parsed one at a
 * time and the base64 `matrix` is decoded piece by piece straight into one float32 row per
 * data row, so neither the file nor the matrix text is ever one string (a large store's
 * matrix is longer than V8 allows).
 *
 * Both forms of a row's vector are kept as read: the matrix row (float32, L2-normalised:
 * what LightRAG searches with, present in every file) and the optional `vector` field
 * (base64 of zlib-compressed float16 of the raw embedding), undecoded, so an unchanged row
 * is written back bit for bit. Which one a reader is given is decided by the store (see
 * storage/file/vectors.ts). Assumes a little-endian host, as the files do.
 */
export interface NanoRow {
  /** The data row as read, including `__id__`, `__created_at__` and `vector` if present. */
  data: Record<string, unknown>;
  matrix: Float32Array;
}

export interface LoadedNanoVdb {
  embeddingDim: number | undefined;
  rows: NanoRow[];
  /** Top-level members other than embedding_dim, data and matrix, as read. */
  extra: Record<string, unknown>;
  matrixBytes: number;
}

export class NanoVdbError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number | undefined,
  ) {
    super(offset === undefined ? reason : `${reason} at byte ${offset}`);
    this.name = 'NanoVdbError';
  }
}

/** Decodes base64 pieces into float32 rows of `dim()` values, with one copy per byte. */
export class MatrixDecoder {
  readonly meter = new Base64Meter();
  readonly rows: Float32Array[] = [];
  private carry = '';
  private early: Buffer[] = [];
  private row: Float32Array | undefined;
  private rowView: Buffer | undefined;
  private rowUsed = 0;
  bytes = 0;

  constructor(private readonly dim: () => number | undefined) {}

  push(piece: Buffer): void {
    this.meter.add(piece);
    const text = this.carry + piece.toString('latin1');
    const usable = text.length - (text.length % 4);
    this.carry = text.slice(usable);
    if (usable > 0) this.absorb(Buffer.from(text.slice(0, usable), 'base64'));
  }

  /** Returns the rows; throws when the text or its length is not whole rows of base64. */
  finish(): Float32Array[] {
    if (!this.meter.wellFormed || this.carry !== '') {
      const at = this.meter.badOffset >= 0 ? ` (bad character at ${this.meter.badOffset})` : '';
      throw new NanoVdbError(`"matrix" is not clean base64${at}`, undefined);
    }
    if (this.early.length > 0 && this.dim() === undefined) {
      throw new NanoVdbError('"matrix" holds vectors but "embedding_dim" is missing', undefined);
    }
    for (const bytes of this.early.splice(0)) this.absorb(bytes);
    if (this.rowUsed !== 0) {
      throw new NanoVdbError(
        `"matrix" holds ${this.bytes} bytes, not whole rows of ${this.dim()} float32 values`,
        undefined,
      );
    }
    return this.rows;
  }

  private absorb(bytes: Buffer): void {
    const dim = this.dim();
    if (dim === undefined) {
      this.early.push(bytes);
      return;
    }
    this.bytes += bytes.length;
    for (let offset = 0; offset < bytes.length;) offset += this.fill(bytes, offset, dim);
  }

  private fill(bytes: Buffer, offset: number, dim: number): number {
    if (!this.row || !this.rowView) {
      this.row = new Float32Array(dim);
      this.rowView = Buffer.from(this.row.buffer);
      this.rowUsed = 0;
    }
    const copied = bytes.copy(this.rowView, this.rowUsed, offset);
    this.rowUsed += copied;
    if (this.rowUsed === this.rowView.length) {
      this.rows.push(this.row);
      this.row = undefined;
      this.rowUsed = 0;
    }
    return copied;
  }
}

function checkRow(item: unknown, index: number, offset: number): Record<string, unknown> {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new NanoVdbError(`data row ${index} is not an object`, offset);
  }
  const row = item as Record<string, unknown>;
  if (typeof row.__id__ !== 'string') {
    throw new NanoVdbError(`data row ${index} has no string "__id__"`, offset);
  }
  return row;
}

function readDimension(value: unknown, offset: number): number {
  if (Number.isInteger(value) && (value as number) > 0) return value as number;
  throw new NanoVdbError(
    `"embedding_dim" is ${JSON.stringify(value)}, not a positive integer`,
    offset,
  );
}

function pairRows(
  data: Record<string, unknown>[],
  matrix: Float32Array[],
  dim?: number,
): NanoRow[] {
  if (data.length !== matrix.length) {
    throw new NanoVdbError(
      `"data" has ${data.length} rows but "matrix" holds ${matrix.length} rows of ${dim}`,
      undefined,
    );
  }
  return data.map((row, i) => ({ data: row, matrix: matrix[i] as Float32Array }));
}

export async function loadNanoVdb(path: string): Promise<LoadedNanoVdb> {
  const result: LoadedNanoVdb = { embeddingDim: undefined, rows: [], extra: {}, matrixBytes: 0 };
  const data: Record<string, unknown>[] = [];
  const decoder = new MatrixDecoder(() => result.embeddingDim);
  await scanJsonFile(path, {
    modeFor: (key) => (key === 'data' ? 'items' : key === 'matrix' ? 'string' : 'parse'),
    onValue: (key, value, offset) => {
      if (key === 'embedding_dim') result.embeddingDim = readDimension(value, offset);
      else result.extra[key] = value;
    },
    onItem: (_key, item, index, offset) => data.push(checkRow(item, index, offset)),
    onStringPiece: (_key, piece) => decoder.push(piece),
  });
  if (result.embeddingDim === undefined && data.length > 0) {
    throw new NanoVdbError('"embedding_dim" is missing', undefined);
  }
  const matrix = decoder.finish();
  result.matrixBytes = decoder.bytes;
  result.rows = pairRows(data, matrix, result.embeddingDim);
  return result;
}
