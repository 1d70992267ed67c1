import { createReadStream } from 'node:fs';
import { JsonObjectScanner, type JsonObjectHandler } from '../../formats/json-stream.ts';
import { MatrixDecoder, NanoVdbError } from '../../formats/nano-vdb-loader.ts';
import { Base64Meter, decodeFloat16Vector } from '../../formats/nano-vdb.ts';

/**
 * nano-vectordb files read twice, both times streaming. The scan pass walks the whole
 * file once: embedding_dim, every data row (handed to the caller to check), and where the
 * base64 `matrix` text starts and ends. The row pass then reads the data rows with one
 * stream and the matrix with a second stream opened at the recorded offset, pairing data
 * row i with matrix row i. Neither the file nor the matrix is ever one string: a large
 * store's matrix is longer than V8's longest string.
 */
export interface VectorFileFacts {
  embeddingDim: number | undefined;
  rows: number;
  /** Byte range of the matrix text inside its quotes: [start, end). */
  matrixStart: number;
  matrixEnd: number;
  matrixBytes: number;
  matrixWellFormed: boolean;
  /** Top-level members other than embedding_dim, data and matrix. */
  extraKeys: string[];
}

export interface VectorRow {
  index: number;
  id: string;
  /** The data row as read, without `vector`. */
  data: Record<string, unknown>;
  /** Raw embedding from the float16 `vector` field, when the row has one. */
  halfVector: Float32Array | undefined;
  /** The float32 matrix row (L2-normalised by nano-vectordb). */
  matrixRow: Float32Array;
}

const PIECE = 1024 * 1024;

/** Pushes a file through a scanner, telling the handler each chunk's file offset. */
async function pushFile(
  path: string,
  scanner: JsonObjectScanner,
  onChunk: (chunk: Buffer, start: number) => boolean,
): Promise<boolean> {
  const stream = createReadStream(path, { highWaterMark: PIECE });
  let start = 0;
  try {
    for await (const chunk of stream) {
      const buffer = chunk as Buffer;
      if (!onChunk(buffer, start)) return false;
      scanner.push(buffer);
      start += buffer.length;
    }
  } finally {
    stream.destroy();
  }
  scanner.end();
  return true;
}

class ScanHandler implements JsonObjectHandler {
  readonly facts: VectorFileFacts = {
    embeddingDim: undefined,
    rows: 0,
    matrixStart: -1,
    matrixEnd: -1,
    matrixBytes: 0,
    matrixWellFormed: true,
    extraKeys: [],
  };
  chunk: Buffer = Buffer.alloc(0);
  chunkStart = 0;
  private readonly meter = new Base64Meter();

  constructor(private readonly onRow: (item: unknown, index: number, offset: number) => void) {}

  modeFor(key: string) {
    return key === 'data' ? 'items' : key === 'matrix' ? 'string' : 'parse';
  }

  onValue(key: string, value: unknown): void {
    if (key !== 'embedding_dim') this.facts.extraKeys.push(key);
    else if (Number.isInteger(value) && (value as number) > 0) {
      this.facts.embeddingDim = value as number;
    }
  }

  onItem(_key: string, item: unknown, index: number, offset: number): void {
    this.facts.rows++;
    this.onRow(item, index, offset);
  }

  onStringPiece(_key: string, piece: Buffer): void {
    // A piece is a view into the chunk being pushed, so its place in the file is known.
    const at = this.chunkStart + (piece.byteOffset - this.chunk.byteOffset);
    if (this.facts.matrixStart < 0) this.facts.matrixStart = at;
    this.facts.matrixEnd = at + piece.length;
    this.meter.add(piece);
  }

  onStringEnd(): void {
    if (this.facts.matrixStart < 0) this.facts.matrixStart = this.facts.matrixEnd = 0;
    this.facts.matrixBytes = this.meter.bytes;
    this.facts.matrixWellFormed = this.meter.wellFormed;
  }
}

/** The scan pass: shape facts, and each raw data row handed to `onRow`. */
export async function scanVectorFile(
  path: string,
  onRow: (item: unknown, index: number, offset: number) => void,
): Promise<VectorFileFacts> {
  const handler = new ScanHandler(onRow);
  const scanner = new JsonObjectScanner(handler);
  await pushFile(path, scanner, (chunk, start) => {
    handler.chunk = chunk;
    handler.chunkStart = start;
    return true;
  });
  return handler.facts;
}

/** Problems that make the rows impossible to pair; empty when the file is sound. */
export function vectorFileProblems(facts: VectorFileFacts): string[] {
  const problems: string[] = [];
  const dim = facts.embeddingDim;
  if (dim === undefined) return facts.rows > 0 ? ['"embedding_dim" is missing or invalid'] : [];
  if (facts.matrixStart < 0 && facts.rows > 0) problems.push('"matrix" is missing');
  else if (!facts.matrixWellFormed) problems.push('"matrix" is not clean base64');
  else if (facts.matrixBytes !== 4 * dim * facts.rows) {
    const held = facts.matrixBytes / (4 * dim);
    const shape = Number.isInteger(held)
      ? `${held} rows`
      : `${facts.matrixBytes / 4} floats, not whole rows`;
    problems.push(
      `"matrix" holds ${shape} of ${dim} values but "data" has ${facts.rows} rows; ` +
        'vectors cannot be paired with their ids',
    );
  }
  return problems;
}

/** Data rows, streaming, stopping once the `data` array is over. */
async function* dataRows(path: string): AsyncGenerator<{ item: unknown; index: number }> {
  const pending: { item: unknown; index: number }[] = [];
  let seenData = false;
  let dataDone = false;
  const scanner = new JsonObjectScanner({
    modeFor: (key) => {
      if (seenData) dataDone = true;
      if (key === 'data') seenData = true;
      return key === 'data' ? 'items' : key === 'matrix' ? 'string' : 'parse';
    },
    onItem: (_key, item, index) => pending.push({ item, index }),
  });
  const stream = createReadStream(path, { highWaterMark: PIECE });
  try {
    for await (const chunk of stream) {
      scanner.push(chunk as Buffer);
      yield* pending.splice(0);
      if (dataDone) return;
    }
  } finally {
    stream.destroy();
  }
}

/** Matrix rows decoded from the recorded byte range, one Float32Array per row. */
async function* matrixRows(path: string, facts: VectorFileFacts): AsyncGenerator<Float32Array> {
  const dim = facts.embeddingDim;
  if (dim === undefined || facts.matrixEnd <= facts.matrixStart) return;
  const decoder = new MatrixDecoder(() => dim);
  const stream = createReadStream(path, {
    start: facts.matrixStart,
    end: facts.matrixEnd - 1,
    highWaterMark: PIECE,
  });
  try {
    for await (const chunk of stream) {
      decoder.push(chunk as Buffer);
      yield* decoder.rows.splice(0);
    }
  } finally {
    stream.destroy();
  }
  yield* decoder.finish().splice(0);
}

function splitRow(item: unknown, index: number): { id: string; data: Record<string, unknown> } {
  const row = item as Record<string, unknown>;
  if (typeof row?.__id__ !== 'string') {
    throw new NanoVdbError(`data row ${index} has no string "__id__"`, undefined);
  }
  return { id: row.__id__, data: row };
}

/** The row pass: each data row with its matrix row (and float16 vector, if any). */
export async function* readVectorRows(
  path: string,
  facts: VectorFileFacts,
): AsyncGenerator<VectorRow> {
  const matrix = matrixRows(path, facts);
  try {
    for await (const { item, index } of dataRows(path)) {
      const next = await matrix.next();
      if (next.done) throw new NanoVdbError(`"matrix" ends before data row ${index}`, undefined);
      const { id, data } = splitRow(item, index);
      const { vector, ...rest } = data;
      const halfVector = typeof vector === 'string' ? decodeFloat16Vector(vector) : undefined;
      yield { index, id, data: rest, halfVector, matrixRow: next.value };
    }
  } finally {
    await matrix.return(undefined);
  }
}
