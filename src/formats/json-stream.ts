import { isUtf8 } from 'node:buffer';
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';

/**
 * A streaming reader for files whose top level is one JSON object, the shape of every
 * LightRAG key-value store and nano-vectordb file. Files can exceed V8's longest string
 * (about 512 MB), so the whole text is never held: the scanner walks bytes, finds where
 * each top-level member's value starts and ends (aware of strings and escapes), and hands
 * each value over on its own. Per key, the caller chooses how a value arrives: parsed,
 * as parsed array items one at a time, or as raw string pieces (the nano `matrix`).
 */
export class JsonFormatError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} at byte ${offset}`);
    this.name = 'JsonFormatError';
  }
}

export type ValueMode = 'parse' | 'items' | 'string';

export interface JsonObjectHandler {
  modeFor(key: string): ValueMode;
  /** A parsed member value ('parse' mode), with the byte offset where the value starts. */
  onValue?(key: string, value: unknown, offset: number): void;
  /** One parsed array item ('items' mode). */
  onItem?(key: string, item: unknown, index: number, offset: number): void;
  /** Raw bytes of a string value ('string' mode), without quotes; escapes are refused. */
  onStringPiece?(key: string, piece: Buffer): void;
  onStringEnd?(key: string): void;
  /**
   * A value whose bytes are not valid UTF-8 (they are read as U+FFFD, which silently
   * changes the text); `key` is the member or array the value belongs to.
   */
  onInvalidUtf8?(key: string, offset: number): void;
}

const QUOTE = 0x22;
const BOM = [0xef, 0xbb, 0xbf];
const BACKSLASH = 0x5c;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

type State =
  | 'start'
  | 'key-or-end'
  | 'key'
  | 'colon'
  | 'value'
  | 'comma-or-end'
  | 'done'
  | 'items-open'
  | 'item-or-end'
  | 'item-comma-or-end'
  | 'string-stream';

/** Whether the backslashes right before `end` (not looking before `floor`) are odd. */
function oddBackslashesBefore(buf: Buffer, end: number, floor: number): boolean {
  let k = end - 1;
  while (k >= floor && buf[k] === BACKSLASH) k--;
  return (end - 1 - k) % 2 === 1;
}

/** Tracks one JSON value (string, container or scalar) until it is complete. */
class ValueScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;
  started = false;

  begin(byte: number): void {
    this.started = true;
    this.depth = 0;
    this.escaped = false;
    this.inString = byte === QUOTE;
    this.scalar = !this.inString && byte !== 0x7b && byte !== 0x5b;
    if (!this.inString && !this.scalar) this.depth = 1;
  }

  /** Returns the index just past the value's end, -1 if it needs more bytes. */
  scan(buf: Buffer, from: number): number {
    let i = from;
    while (i < buf.length) {
      if (this.inString) {
        i = this.skipString(buf, i);
        if (i < 0) return -1;
        if (this.depth === 0) return i;
        continue;
      }
      const byte = buf[i] as number;
      if (this.scalar) {
        if (byte === 0x2c || byte === 0x7d || byte === 0x5d || WHITESPACE.has(byte)) return i;
      } else if (byte === QUOTE) {
        this.inString = true;
      } else if (byte === 0x7b || byte === 0x5b) {
        this.depth++;
      } else if (byte === 0x7d || byte === 0x5d) {
        this.depth--;
        if (this.depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }

  /**
   * Finds the closing quote: a quote ends the string unless an odd run of backslashes
   * precedes it. One search per quote, so strings full of escapes stay linear.
   */
  private skipString(buf: Buffer, from: number): number {
    let i = from;
    if (this.escaped) {
      this.escaped = false;
      i++;
    }
    const clean = i;
    for (;;) {
      const quote = buf.indexOf(QUOTE, i);
      if (quote < 0) {
        this.escaped = oddBackslashesBefore(buf, buf.length, clean);
        return -1;
      }
      if (!oddBackslashesBefore(buf, quote, clean)) {
        this.inString = false;
        return quote + 1;
      }
      i = quote + 1;
    }
  }

  get inScalar(): boolean {
    return this.scalar;
  }
}

export class JsonObjectScanner {
  private state: State = 'start';
  private offset = 0;
  private parts: Buffer[] = [];
  private partStart = -1;
  private valueOffset = 0;
  private key = '';
  private itemIndex = 0;
  private afterComma = false;
  private readonly value = new ValueScanner();
  private collecting: 'key' | 'value' | 'item' | null = null;

  constructor(private readonly handler: JsonObjectHandler) {}

  push(chunk: Buffer): void {
    let i = 0;
    if (this.collecting) this.partStart = 0;
    while (i < chunk.length) i = this.step(chunk, i);
    if (this.collecting && this.partStart >= 0) this.parts.push(chunk.subarray(this.partStart));
    this.offset += chunk.length;
  }

  end(): void {
    if (this.state === 'done') return;
    const where =
      this.state === 'start' ? 'the file is empty' : `the file ends inside ${this.describe()}`;
    throw new JsonFormatError(`truncated JSON: ${where}`, this.offset);
  }

  private describe(): string {
    if (this.state === 'key') return 'a key';
    if (this.collecting === 'value')
      return `the value of "${this.key}" that starts at byte ${this.valueOffset}`;
    if (this.collecting === 'item' || this.state.startsWith('item'))
      return `the array "${this.key}"`;
    if (this.state === 'string-stream') return `the string "${this.key}"`;
    return 'the top-level object';
  }

  private fail(reason: string, at: number): never {
    throw new JsonFormatError(reason, this.offset + at);
  }

  private step(buf: Buffer, i: number): number {
    switch (this.state) {
      case 'key':
      case 'value':
        return this.continueValue(buf, i);
      case 'item-or-end':
        if (this.collecting === 'item') return this.continueValue(buf, i);
        return this.itemOrEnd(buf, i);
      case 'string-stream':
        return this.streamString(buf, i);
      default:
        return this.structural(buf, i);
    }
  }

  private structural(buf: Buffer, i: number): number {
    const byte = buf[i] as number;
    if (WHITESPACE.has(byte)) return i + 1;
    switch (this.state) {
      case 'start':
        // A UTF-8 byte order mark may precede the object (Python reads with utf-8-sig).
        if (this.offset + i < 3 && byte === BOM[this.offset + i]) return i + 1;
        if (byte !== 0x7b) this.fail('expected "{" at the start of the file', i);
        this.state = 'key-or-end';
        return i + 1;
      case 'key-or-end':
        if (byte === 0x7d && !this.afterComma) return this.finish(i);
        if (byte !== QUOTE) this.fail('expected a quoted key', i);
        return this.startCollect('key', buf, i);
      case 'colon':
        if (byte !== 0x3a) this.fail(`expected ":" after key "${this.key}"`, i);
        this.state = 'value';
        this.value.started = false;
        return i + 1;
      case 'comma-or-end':
        if (byte === 0x7d) return this.finish(i);
        if (byte !== 0x2c) this.fail(`expected "," or "}" after the value of "${this.key}"`, i);
        this.afterComma = true;
        this.state = 'key-or-end';
        return i + 1;
      case 'items-open':
        if (byte !== 0x5b) this.fail(`expected an array for "${this.key}"`, i);
        this.state = 'item-or-end';
        this.itemIndex = 0;
        this.afterComma = false;
        return i + 1;
      case 'item-comma-or-end':
        if (byte === 0x5d) return this.endMember(i + 1);
        if (byte !== 0x2c) this.fail(`expected "," or "]" in the array "${this.key}"`, i);
        this.afterComma = true;
        this.state = 'item-or-end';
        return i + 1;
      default:
        return this.fail('unexpected data after the end of the JSON object ("extra data")', i);
    }
  }

  private finish(i: number): number {
    this.state = 'done';
    return i + 1;
  }

  private endMember(next: number): number {
    this.state = 'comma-or-end';
    this.afterComma = false;
    return next;
  }

  private startCollect(kind: 'key' | 'value' | 'item', buf: Buffer, i: number): number {
    this.collecting = kind;
    this.parts = [];
    this.partStart = i;
    this.valueOffset = this.offset + i;
    this.value.begin(buf[i] as number);
    if (kind === 'key') this.state = 'key';
    return i + 1;
  }

  private continueValue(buf: Buffer, i: number): number {
    if (!this.value.started) return this.beginValue(buf, i);
    const end = this.value.scan(buf, i);
    if (end < 0) return buf.length;
    this.parts.push(buf.subarray(this.partStart, end));
    this.collecting = null;
    this.partStart = -1;
    this.completeValue(Buffer.concat(this.parts));
    this.parts = [];
    return end;
  }

  private beginValue(buf: Buffer, i: number): number {
    const byte = buf[i] as number;
    if (WHITESPACE.has(byte)) return i + 1;
    const mode = this.handler.modeFor(this.key);
    if (mode === 'items') {
      this.state = 'items-open';
      return i;
    }
    if (mode === 'string') {
      if (byte !== QUOTE) this.fail(`expected a string for "${this.key}"`, i);
      this.state = 'string-stream';
      return i + 1;
    }
    if (byte === 0x7d || byte === 0x2c) this.fail(`missing value for key "${this.key}"`, i);
    this.startCollect('value', buf, i);
    return this.value.inScalar ? i : i + 1;
  }

  private itemOrEnd(buf: Buffer, i: number): number {
    const byte = buf[i] as number;
    if (WHITESPACE.has(byte)) return i + 1;
    if (byte === 0x5d && !this.afterComma) return this.endMember(i + 1);
    this.startCollect('item', buf, i);
    return this.value.inScalar ? i : i + 1;
  }

  private completeValue(bytes: Buffer): void {
    const kind = this.state === 'key' ? 'key' : this.state === 'value' ? 'value' : 'item';
    const parsed = this.parse(bytes);
    if (kind === 'key') {
      if (typeof parsed !== 'string')
        this.fail('expected a string key', this.valueOffset - this.offset);
      this.key = parsed;
      this.state = 'colon';
      return;
    }
    if (kind === 'value') {
      this.handler.onValue?.(this.key, parsed, this.valueOffset);
      this.endMember(0);
      return;
    }
    this.handler.onItem?.(this.key, parsed, this.itemIndex++, this.valueOffset);
    this.afterComma = false;
    this.state = 'item-comma-or-end';
  }

  private parse(bytes: Buffer): unknown {
    if (!isUtf8(bytes)) this.handler.onInvalidUtf8?.(this.key, this.valueOffset);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new JsonFormatError(`invalid JSON value (${reason})`, this.valueOffset);
    }
  }

  private streamString(buf: Buffer, i: number): number {
    const quote = buf.indexOf(QUOTE, i);
    const stop = quote < 0 ? buf.length : quote;
    const slash = buf.indexOf(BACKSLASH, i);
    if (slash >= 0 && slash < stop) this.fail(`unexpected escape inside "${this.key}"`, slash);
    if (stop > i) this.handler.onStringPiece?.(this.key, buf.subarray(i, stop));
    if (quote < 0) return buf.length;
    this.handler.onStringEnd?.(this.key);
    return this.endMember(quote + 1);
  }
}

const MAX_PIECE = 1024 * 1024;
/** Files up to this size are read in one blocking call: far cheaper than async rounds. */
const SMALL_FILE = 256 * 1024;

/** The rest of a small file, read at once (a file that grew meanwhile is read to its end). */
function readRest(fd: number, size: number): Buffer {
  let buffer = Buffer.allocUnsafe(size + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length)
      buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
    const bytesRead = readSync(fd, buffer, length, buffer.length - length, null);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
  }
}

function readPiece(fd: number, buffer: Buffer): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, buffer.length, null, (error, bytesRead) =>
      error ? reject(error) : resolve(bytesRead),
    ),
  );
}

/**
 * A file's bytes in pieces of at most 1 MiB. Small files come in one piece read at once;
 * a stream's fixed 1 MiB buffers made reading thousands of them mostly garbage collection.
 * Large files are read one piece ahead, so reading overlaps the caller's parsing. With
 * `reuse`, two buffers take turns (a piece is valid until the next one is asked for);
 * without, each piece has its own buffer, for readers that keep pieces.
 */
export async function* filePieces(path: string, reuse: boolean): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  let pending: Promise<number> | undefined;
  try {
    const size = fstatSync(fd).size;
    if (size <= SMALL_FILE) {
      const whole = readRest(fd, size);
      if (whole.length > 0) yield whole;
      return;
    }
    const spare = reuse ? [Buffer.allocUnsafe(MAX_PIECE), Buffer.allocUnsafe(MAX_PIECE)] : [];
    let turn = 0;
    const nextBuffer = () =>
      reuse ? (spare[turn++ % 2] as Buffer) : Buffer.allocUnsafe(MAX_PIECE);
    let buffer = nextBuffer();
    pending = readPiece(fd, buffer);
    for (;;) {
      const bytesRead = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      const piece = buffer.subarray(0, bytesRead);
      buffer = nextBuffer();
      pending = readPiece(fd, buffer);
      yield piece;
    }
  } finally {
    // A read still in flight must finish before its descriptor is closed.
    await pending?.catch(() => 0);
    closeSync(fd);
  }
}

/** Feeds a file through a scanner piece by piece; memory stays flat whatever its size. */
export async function scanJsonFile(path: string, handler: JsonObjectHandler): Promise<void> {
  const scanner = new JsonObjectScanner(handler);
  for await (const piece of filePieces(path, false)) scanner.push(piece);
  scanner.end();
}

export interface JsonEntry {
  key: string;
  value: unknown;
  offset: number;
  /** Set when the key or value held bytes that are not UTF-8 (read as U+FFFD). */
  invalidUtf8?: boolean;
}

function pushChunk(scanner: JsonObjectScanner, chunk: Buffer): unknown {
  try {
    scanner.push(chunk);
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Yields each top-level member of a JSON object file, parsed one at a time. */
export async function* readJsonEntries(path: string): AsyncGenerator<JsonEntry> {
  const pending: JsonEntry[] = [];
  let invalidUtf8 = false;
  const scanner = new JsonObjectScanner({
    modeFor: () => 'parse',
    // The key is parsed just before its value, so one flag covers both.
    onInvalidUtf8: () => (invalidUtf8 = true),
    onValue: (key, value, offset) => {
      pending.push(invalidUtf8 ? { key, value, offset, invalidUtf8 } : { key, value, offset });
      invalidUtf8 = false;
    },
  });
  for await (const piece of filePieces(path, false)) {
    const failure = pushChunk(scanner, piece);
    // Entries completed before the damage in this piece still count.
    yield* pending.splice(0);
    if (failure) throw failure;
  }
  scanner.end();
}
