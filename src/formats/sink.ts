/**
 * Where the file writers send their output. Files can be larger than V8's longest string,
 * so writers emit pieces and never build the whole text.
 */
export interface TextSink {
  write(piece: string | Uint8Array): Promise<void>;
}

/** Collects output in memory; for small files and tests. */
export class MemorySink implements TextSink {
  private readonly pieces: Buffer[] = [];

  async write(piece: string | Uint8Array): Promise<void> {
    this.pieces.push(typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.pieces);
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}
