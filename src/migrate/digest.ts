import { hash } from 'node:crypto';
import { canonicalText, type CanonicalRecord } from './canonical.ts';

/**
 * Order-free checksums of a store, so files and PostgreSQL rows can be compared without
 * sorting either side or holding either in memory. Each record becomes a digest (SHA-1 of
 * its canonical text); records fall into one of BUCKETS buckets by a hash of their key,
 * and each bucket keeps a count and the lane-wise sum (mod 2^32) of its digests. Equal
 * buckets mean equal multisets of records (up to hash collisions); unequal buckets are the
 * only places a second pass has to look at, record by record.
 */
export const BUCKETS = 4096;

/** FNV-1a over UTF-16 units: cheap, and only needs to spread keys over buckets. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

/**
 * SHA-1, of which `add` uses the first 128 bits, as a string of 20 characters each
 * holding one byte (latin1). SHA-1 rather than MD5: it is the stronger hash and, with the
 * SHA instructions of current CPUs, several times faster here (millions of records are
 * hashed on each side). Latin1 rather than a Buffer or hex: Node's one-shot hash returns
 * it as fast as hex, its words are read in a quarter of the steps, and the reader thread
 * got through the bench graph in 20.7 s instead of 23.7 s.
 */
export function recordDigest(key: string, canonical: string): string {
  return hash('sha1', key + '\n' + canonical, 'binary'); // 'binary' is latin1
}

/** A record's digest: its key and canonical text, as both sides of a comparison make it. */
export function digestOf(record: CanonicalRecord): string {
  return recordDigest(record.key, canonicalText(record.fields));
}

/** The big-endian 32-bit word of a `recordDigest` at byte `from`. */
function digestWord(digest: string, from: number): number {
  const word =
    (digest.charCodeAt(from) << 24) |
    (digest.charCodeAt(from + 1) << 16) |
    (digest.charCodeAt(from + 2) << 8) |
    digest.charCodeAt(from + 3);
  return word >>> 0;
}

/** Numbers per packed record: its bucket, then the four words of its digest that count. */
const PACKED_WORDS = 5;

/**
 * Record digests as numbers, for another thread to add: a batch of them crosses threads
 * as one small typed array instead of a key and a hex string per record.
 */
export class PackedDigests {
  readonly words: Uint32Array;
  private count = 0;

  constructor(records: number) {
    this.words = new Uint32Array(records * PACKED_WORDS);
  }

  add(key: string, digest: string): void {
    const at = this.count++ * PACKED_WORDS;
    this.words[at] = bucketOf(key);
    for (let lane = 0; lane < 4; lane++) this.words[at + 1 + lane] = digestWord(digest, lane * 4);
  }
}

export class StoreDigest {
  readonly counts = new Uint32Array(BUCKETS);
  readonly sums = new Uint32Array(BUCKETS * 4);
  records = 0;

  /** Adds a record by its key and its `recordDigest` (the first 16 of its bytes count). */
  add(key: string, digest: string): void {
    const bucket = bucketOf(key);
    this.counts[bucket]!++;
    const at = bucket * 4;
    for (let lane = 0; lane < 4; lane++) {
      const part = digestWord(digest, lane * 4);
      this.sums[at + lane] = (this.sums[at + lane]! + part) >>> 0;
    }
    this.records++;
  }

  /** Adds records packed by `PackedDigests` (the `words` of one). */
  addPacked(words: Uint32Array): void {
    for (let at = 0; at < words.length; at += PACKED_WORDS) {
      const bucket = words[at]!;
      this.counts[bucket]!++;
      const sum = bucket * 4;
      for (let lane = 0; lane < 4; lane++) {
        this.sums[sum + lane] = (this.sums[sum + lane]! + words[at + 1 + lane]!) >>> 0;
      }
      this.records++;
    }
  }

  /** Adds another digest's records (one taken of other rows of the same store). */
  merge(other: { counts: Uint32Array; sums: Uint32Array; records: number }): void {
    for (let b = 0; b < BUCKETS; b++) this.counts[b]! += other.counts[b]!;
    for (let i = 0; i < this.sums.length; i++) {
      this.sums[i] = (this.sums[i]! + other.sums[i]!) >>> 0;
    }
    this.records += other.records;
  }

  /** Buckets whose count or sum differ from `other`'s. */
  differingBuckets(other: StoreDigest): number[] {
    const found: number[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      if (this.counts[b] !== other.counts[b] || !this.sameSums(other, b)) found.push(b);
    }
    return found;
  }

  private sameSums(other: StoreDigest, bucket: number): boolean {
    const at = bucket * 4;
    for (let lane = 0; lane < 4; lane++) {
      if (this.sums[at + lane] !== other.sums[at + lane]) return false;
    }
    return true;
  }

  /** One hex checksum of the whole store, for reports. */
  checksum(): string {
    const counts = Buffer.from(this.counts.buffer);
    const sums = Buffer.from(this.sums.buffer);
    return hash('sha256', Buffer.concat([counts, sums]), 'hex').slice(0, 32);
  }
}

/**
 * Splits differing buckets into groups whose records (on the larger side) stay under
 * `limit`, so listing differences record by record also has bounded memory.
 */
export function bucketGroups(
  buckets: number[],
  a: StoreDigest,
  b: StoreDigest,
  limit: number,
): Set<number>[] {
  const groups: Set<number>[] = [];
  let current = new Set<number>();
  let size = 0;
  for (const bucket of buckets) {
    const weight = Math.max(a.counts[bucket]!, b.counts[bucket]!);
    if (size > 0 && size + weight > limit) {
      groups.push(current);
      current = new Set();
      size = 0;
    }
    current.add(bucket);
    size += weight;
  }
  if (current.size > 0) groups.push(current);
  return groups;
}

/** Digests canonical records as they are read. */
export async function digestPages(pages: AsyncIterable<CanonicalRecord[]>): Promise<StoreDigest> {
  const digest = new StoreDigest();
  for await (const page of pages) {
    for (const record of page) digest.add(record.key, digestOf(record));
  }
  return digest;
}

/**
 * Where a writer leaves (in the target context's state) the promise of a store's target
 * digest, started as soon as that store's rows were final: the read-back then overlaps
 * the writer's last statements instead of following them.
 */
export function earlyDigestKey(store: string): string {
  return `verify:early-digest:${store}`;
}
