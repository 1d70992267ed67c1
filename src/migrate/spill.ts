import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/**
 * A temporary file of JSON lines. The file writers (src/formats/*-writer.ts) take
 * synchronous iterables and walk them more than once (GraphML declares its keys before
 * the data), while PostgreSQL rows arrive asynchronously; spilling the rows to disk and
 * reading them back synchronously keeps export's memory flat whatever the workspace size.
 */
const FLUSH_BYTES = 1024 * 1024;

/** Numbers JSON cannot hold (NaN, ±Infinity, -0) travel as {"$number": "..."}. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || (Number.isFinite(value) && !Object.is(value, -0))) return value;
  return { $number: Object.is(value, -0) ? '-0' : String(value) };
}

function reviver(_key: string, value: unknown): unknown {
  const tagged = value as { $number?: unknown } | null;
  if (typeof tagged !== 'object' || tagged === null || typeof tagged.$number !== 'string') {
    return value;
  }
  return Object.keys(tagged).length === 1 ? Number(tagged.$number) : value;
}

export class Spill {
  private readonly directory = mkdtempSync(join(tmpdir(), 'ragspace-export-'));
  private readonly files = new Map<string, { fd: number; pending: string[]; size: number }>();

  append(name: string, value: unknown): void {
    let file = this.files.get(name);
    if (!file) {
      file = { fd: openSync(this.path(name), 'w'), pending: [], size: 0 };
      this.files.set(name, file);
    }
    const line = JSON.stringify(value, replacer) + '\n';
    file.pending.push(line);
    file.size += line.length;
    if (file.size >= FLUSH_BYTES) this.flush(file);
  }

  private flush(file: { fd: number; pending: string[]; size: number }): void {
    if (file.pending.length > 0) writeSync(file.fd, file.pending.join(''));
    file.pending = [];
    file.size = 0;
  }

  private path(name: string): string {
    return join(this.directory, `${name}.jsonl`);
  }

  /** Ends writing; afterwards `read` may be called any number of times. */
  seal(): void {
    for (const file of this.files.values()) {
      this.flush(file);
      closeSync(file.fd);
    }
  }

  /** The values appended under `name`, in order (nothing if none were). */
  *read<T>(name: string): Generator<T> {
    if (!this.files.has(name)) return;
    for (const line of readLines(this.path(name))) yield JSON.parse(line, reviver) as T;
  }

  remove(): void {
    rmSync(this.directory, { recursive: true, force: true });
  }
}

function* readLines(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(FLUSH_BYTES);
  const decoder = new StringDecoder('utf8');
  let carry = '';
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
      const lines = (carry + decoder.write(buffer.subarray(0, n))).split('\n');
      carry = lines.pop() ?? '';
      yield* lines;
    }
  } finally {
    closeSync(fd);
  }
  if (carry !== '') yield carry;
}
