import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

/**
 * Writers of synthetic LightRAG working directories for benchmarks and big-file tests.
 * Output is deterministic (a seeded generator, fixed timestamps) and streamed to disk in
 * 1 MiB pieces, so files far larger than memory or V8's longest string can be made. The
 * layouts copy what LightRAG writes: networkx's GraphML (lxml writer), `json.dump` with
 * indent 2 for key-value stores, and nano-vectordb's one-line JSON.
 */

/** mulberry32: small, fast and good enough to vary synthetic text. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** Buffers text and writes it to a file descriptor in large pieces. */
export class FileSink {
  private readonly fd: number;
  private parts: string[] = [];
  private pending = 0;
  bytes = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.parts.push(text);
    this.pending += text.length;
    if (this.pending >= 1 << 20) this.flush();
  }

  writeBytes(bytes: Buffer): void {
    this.flush();
    writeSync(this.fd, bytes);
    this.bytes += bytes.length;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    const buffer = Buffer.from(this.parts.join(''), 'utf8');
    writeSync(this.fd, buffer);
    this.bytes += buffer.length;
    this.parts = [];
    this.pending = 0;
  }

  close(): number {
    this.flush();
    closeSync(this.fd);
    return this.bytes;
  }
}

const WORDS = (
  'graph entity relation chunk document vector storage workspace contract supplier ' +
  'program service delivery schedule officer navy project customer index query model ' +
  'embedding summary keyword network policy agreement payment invoice report analysis ' +
  'system module process review budget region market product engine partner research'
).split(' ');

const TYPES = ['person', 'organization', 'location', 'event', 'concept', 'product'];
const CREATED_AT = 1_760_000_000;

/** A pool of sentences, so large text costs little to produce. */
export class TextPool {
  private readonly sentences: string[] = [];

  constructor(private readonly rng: Rng) {
    for (let i = 0; i < 256; i++) this.sentences.push(this.sentence());
  }

  private sentence(): string {
    const length = 6 + this.rng.int(10);
    const words = Array.from({ length }, () => this.rng.pick(WORDS));
    const first = words[0] as string;
    words[0] = first[0]?.toUpperCase() + first.slice(1);
    return words.join(' ') + '.';
  }

  /** About `chars` characters of sentences. */
  text(chars: number): string {
    let out = '';
    while (out.length < chars) out += (out ? ' ' : '') + this.rng.pick(this.sentences);
    return out;
  }
}

/** XML text escaping as lxml does it for element content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(text: string): string {
  return escapeXml(text).replace(/"/g, '&quot;');
}

const NODE_KEYS = [
  ['d0', 'entity_id', 'string'],
  ['d1', 'entity_type', 'string'],
  ['d2', 'description', 'string'],
  ['d3', 'source_id', 'string'],
  ['d4', 'file_path', 'string'],
  ['d5', 'created_at', 'long'],
  ['d6', 'truncate', 'string'],
] as const;

const EDGE_KEYS = [
  ['d7', 'weight', 'double'],
  ['d8', 'description', 'string'],
  ['d9', 'keywords', 'string'],
  ['d10', 'source_id', 'string'],
  ['d11', 'file_path', 'string'],
  ['d12', 'created_at', 'long'],
  ['d13', 'truncate', 'string'],
] as const;

const GRAPHML_OPEN =
  "<?xml version='1.0' encoding='utf-8'?>\n" +
  '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
  'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns ' +
  'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">';

function graphmlHeader(): string {
  const keys = [
    ...NODE_KEYS.map((k) => [...k, 'node']),
    ...EDGE_KEYS.map((k) => [...k, 'edge']),
  ].reverse();
  const lines = keys.map(
    ([id, name, type, scope]) =>
      `<key id="${id}" for="${scope}" attr.name="${name}" attr.type="${type}"/>`,
  );
  return GRAPHML_OPEN + lines.join('\n') + '\n<graph edgedefault="undirected">';
}

export function entityName(index: number): string {
  return `Entity ${index.toString().padStart(6, '0')} ${WORDS[index % WORDS.length]}`;
}

function sourceIds(rng: Rng, count: number): string {
  const ids = Array.from({ length: count }, () => `doc-1-chunk-${rng.int(1000)}`);
  return escapeXml(ids.join('<SEP>'));
}

function nodeXml(index: number, rng: Rng, pool: TextPool, descriptionChars: number): string {
  const name = escapeXml(entityName(index));
  return (
    `<node id="${escapeAttribute(entityName(index))}">\n` +
    `  <data key="d0">${name}</data>\n` +
    `  <data key="d1">${rng.pick(TYPES)}</data>\n` +
    `  <data key="d2">${escapeXml(pool.text(descriptionChars))}</data>\n` +
    `  <data key="d3">${sourceIds(rng, 1 + rng.int(4))}</data>\n` +
    `  <data key="d4">report-${rng.int(50)}.pdf</data>\n` +
    `  <data key="d5">${CREATED_AT + index}</data>\n` +
    '  <data key="d6"></data>\n</node>\n'
  );
}

function edgeXml(source: number, target: number, rng: Rng, pool: TextPool, chars: number) {
  return (
    `<edge source="${escapeAttribute(entityName(source))}" ` +
    `target="${escapeAttribute(entityName(target))}">\n` +
    `  <data key="d7">${(1 + rng.int(4)).toFixed(1)}</data>\n` +
    `  <data key="d8">${escapeXml(pool.text(chars))}</data>\n` +
    `  <data key="d9">${rng.pick(WORDS)},${rng.pick(WORDS)}</data>\n` +
    `  <data key="d10">${sourceIds(rng, 1 + rng.int(3))}</data>\n` +
    `  <data key="d11">report-${rng.int(50)}.pdf</data>\n` +
    `  <data key="d12">${CREATED_AT + source}</data>\n` +
    '  <data key="d13"></data>\n</edge>\n'
  );
}

export interface GraphSpec {
  nodes: number;
  edges: number;
  seed: number;
  /** Characters of description per node; edges get 80 % of it. */
  descriptionChars: number;
}

/**
 * Edge k joins node (k mod n) to the node a fixed step further on; steps differ per round
 * and stay below n/2, so no pair appears twice or in both directions (a simple graph).
 */
function edgeTarget(k: number, nodes: number): [number, number] {
  const round = Math.floor(k / nodes);
  const step = 1 + ((round * 7919) % Math.max(1, Math.floor(nodes / 2) - 1));
  const source = k % nodes;
  return [source, (source + step) % nodes];
}

/** Writes a networkx-style GraphML file; returns its size in bytes. */
export function writeGraphml(path: string, spec: GraphSpec): number {
  const rng = new Rng(spec.seed);
  const pool = new TextPool(rng);
  const sink = new FileSink(path);
  sink.write(graphmlHeader());
  for (let i = 0; i < spec.nodes; i++) sink.write(nodeXml(i, rng, pool, spec.descriptionChars));
  const edgeChars = Math.round(spec.descriptionChars * 0.8);
  for (let k = 0; k < spec.edges; k++) {
    const [source, target] = edgeTarget(k, spec.nodes);
    sink.write(edgeXml(source, target, rng, pool, edgeChars));
  }
  sink.write('</graph></graphml>');
  return sink.close();
}

/** Writes `{key: record}` as Python's `json.dump(indent=2, ensure_ascii=False)` does. */
export function writeKvStore(path: string, entries: Iterable<[string, unknown]>): number {
  const sink = new FileSink(path);
  let first = true;
  sink.write('{');
  for (const [key, value] of entries) {
    const body = JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
    sink.write(`${first ? '' : ','}\n  ${JSON.stringify(key)}: ${body}`);
    first = false;
  }
  sink.write(first ? '}' : '\n}');
  return sink.close();
}

function stamped(id: string, record: Record<string, unknown>): Record<string, unknown> {
  return { ...record, _id: id, create_time: CREATED_AT, update_time: CREATED_AT };
}

/** LLM-cache entries of about `entryChars` characters each (prompts with newlines, quotes). */
export function* llmCacheEntries(count: number, entryChars: number, seed: number) {
  const rng = new Rng(seed);
  const pool = new TextPool(rng);
  for (let i = 0; i < count; i++) {
    const id = `default:extract:${i.toString(16).padStart(32, '0')}`;
    const prompt = pool.text(entryChars * 0.8).replace(/\. /g, '.\n"quoted" ');
    const record = {
      return: pool.text(entryChars * 0.2),
      cache_type: 'extract',
      chunk_id: `doc-1-chunk-${i}`,
      original_prompt: prompt,
      queryparam: null,
    };
    yield [id, stamped(id, record)] as [string, unknown];
  }
}

/** IEEE 754 half precision, rounding to nearest; used for nano's `vector` field. */
export function toFloat16(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const shifted = (mantissa | 0x800000) >> (1 - exponent);
    return sign | ((shifted + 0x1000) >> 13);
  }
  return sign | ((exponent << 10) + ((mantissa + 0x1000) >> 13));
}

export interface VectorRow {
  id: string;
  fields: Record<string, unknown>;
}

function embedding(rng: Rng, dim: number): Float32Array {
  const raw = new Float32Array(dim);
  for (let i = 0; i < dim; i++) raw[i] = rng.next() * 2 - 1;
  return raw;
}

function normalised(raw: Float32Array): Float32Array {
  let sum = 0;
  for (const v of raw) sum += v * v;
  const norm = Math.sqrt(sum) || 1;
  return raw.map((v) => v / norm);
}

function float16Base64(raw: Float32Array): string {
  const half = Buffer.alloc(raw.length * 2);
  for (let i = 0; i < raw.length; i++) half.writeUInt16LE(toFloat16(raw[i] as number), i * 2);
  return deflateSync(half).toString('base64');
}

/** JSON as Python's `json.dumps` writes it without indent: ", " and ": " separators. */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(pythonJson).join(', ') + ']';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const members = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`);
  return '{' + members.join(', ') + '}';
}

/** Writes a nano-vectordb file: data rows (with `vector`), then the float32 matrix. */
export function writeNanoVdb(path: string, dim: number, rows: VectorRow[], seed: number): number {
  const rng = new Rng(seed);
  const sink = new FileSink(path);
  const matrix = Buffer.alloc(rows.length * dim * 4);
  sink.write(`{"embedding_dim": ${dim}, "data": [`);
  rows.forEach((row, i) => {
    const raw = embedding(rng, dim);
    Buffer.from(normalised(raw).buffer).copy(matrix, i * dim * 4);
    const item = { __id__: row.id, __created_at__: CREATED_AT, ...row.fields };
    sink.write((i ? ', ' : '') + pythonJson({ ...item, vector: float16Base64(raw) }));
  });
  sink.write('], "matrix": "' + matrix.toString('base64') + '"}');
  return sink.close();
}

export interface SmallWorkspaceSpec {
  seed: number;
  entities: number;
  relations: number;
  documents: number;
  chunksPerDocument: number;
  dim: number;
}

function* range(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

function writeDocumentStores(dir: string, spec: SmallWorkspaceSpec, pool: TextPool): void {
  const docs = [...range(spec.documents)].map((d) => `doc-${spec.seed}-${d}`);
  const chunkIds = docs.flatMap((doc) =>
    [...range(spec.chunksPerDocument)].map((c) => `${doc}-chunk-${c}`),
  );
  const docStatus = (doc: string): Record<string, unknown> => ({
    status: 'processed',
    content_summary: pool.text(120),
    content_length: 4000,
    file_path: `${doc}.pdf`,
    created_at: '2026-06-15T03:50:02.123456+00:00',
    updated_at: '2026-06-15T03:51:02.123456+00:00',
    track_id: 'upload_20260615_035002_0a1b2c3d',
    chunks_count: spec.chunksPerDocument,
    chunks_list: chunkIds.filter((c) => c.startsWith(doc + '-')),
    error_msg: null,
    metadata: {},
  });
  writeKvStore(
    join(dir, 'kv_store_doc_status.json'),
    docs.map((d) => [d, docStatus(d)]),
  );
  writeKvStore(
    join(dir, 'kv_store_full_docs.json'),
    docs.map((d) => [d, stamped(d, { content: pool.text(2000), file_path: `${d}.pdf` })]),
  );
  const chunk = (id: string, i: number) =>
    stamped(id, {
      tokens: 300,
      content: pool.text(600),
      chunk_order_index: i % spec.chunksPerDocument,
      full_doc_id: id.replace(/-chunk-\d+$/, ''),
      file_path: 'report.pdf',
      llm_cache_list: [],
    });
  writeKvStore(
    join(dir, 'kv_store_text_chunks.json'),
    chunkIds.map((id, i) => [id, chunk(id, i)]),
  );
}

function writeEntityStores(dir: string, spec: SmallWorkspaceSpec): void {
  const names = [...range(spec.entities)].map(entityName);
  const doc = `doc-${spec.seed}-0`;
  const stores: Record<string, [string, unknown][]> = {
    full_entities: [[doc, stamped(doc, { entity_names: names, count: names.length })]],
    full_relations: [[doc, stamped(doc, { relation_pairs: [], count: 0 })]],
    entity_chunks: names.map((n) => [n, stamped(n, { chunk_ids: [`${doc}-chunk-0`], count: 1 })]),
    relation_chunks: [],
    llm_response_cache: [...llmCacheEntries(spec.documents * 2, 1500, spec.seed)],
  };
  for (const [namespace, entries] of Object.entries(stores)) {
    writeKvStore(join(dir, `kv_store_${namespace}.json`), entries);
  }
}

function writeVectorStores(dir: string, spec: SmallWorkspaceSpec, pool: TextPool): void {
  const row = (id: string, content: string): VectorRow => ({
    id,
    fields: { content, source_id: 'doc-1-chunk-0', file_path: 'report.pdf' },
  });
  const entities = [...range(spec.entities)].map((i) => row(`ent-${i}`, pool.text(100)));
  const relations = [...range(spec.relations)].map((i) => row(`rel-${i}`, pool.text(100)));
  const chunks = [...range(spec.documents * spec.chunksPerDocument)].map((i) =>
    row(`chunk-${i}`, pool.text(300)),
  );
  writeNanoVdb(join(dir, 'vdb_entities.json'), spec.dim, entities, spec.seed + 1);
  writeNanoVdb(join(dir, 'vdb_relationships.json'), spec.dim, relations, spec.seed + 2);
  writeNanoVdb(join(dir, 'vdb_chunks.json'), spec.dim, chunks, spec.seed + 3);
}

/** A complete small workspace: graph, the eight key-value stores, three vector stores. */
export function writeSmallWorkspace(dir: string, spec: SmallWorkspaceSpec): void {
  mkdirSync(dir, { recursive: true });
  const pool = new TextPool(new Rng(spec.seed));
  writeGraphml(join(dir, 'graph_chunk_entity_relation.graphml'), {
    nodes: spec.entities,
    edges: spec.relations,
    seed: spec.seed,
    descriptionChars: 200,
  });
  writeDocumentStores(dir, spec, pool);
  writeEntityStores(dir, spec);
  writeVectorStores(dir, spec, pool);
}

/**
 * A nano-vectordb file of `rows` rows whose matrix is all zeros, streamed: the matrix text
 * can exceed V8's longest string (536,870,888 characters) without ever being one string.
 */
export function writeZeroMatrixVdb(path: string, dim: number, rows: number): number {
  const sink = new FileSink(path);
  sink.write(`{"embedding_dim": ${dim}, "data": [`);
  for (let i = 0; i < rows; i++) {
    sink.write(`${i ? ', ' : ''}{"__id__": "chunk-${i}", "__created_at__": ${CREATED_AT}}`);
  }
  sink.write('], "matrix": "');
  const bytes = rows * dim * 4;
  const piece = Buffer.alloc(16 << 20, 'A');
  let chars = Math.floor(bytes / 3) * 4;
  for (; chars >= piece.length; chars -= piece.length) sink.writeBytes(piece);
  sink.writeBytes(piece.subarray(0, chars));
  sink.write(['', 'AA==', 'AAA='][bytes % 3] + '"}');
  return sink.close();
}

/**
 * A key-value file of `count` records of about `bytes` bytes each (escapes included),
 * written in pieces. Each 1 KiB of text starts with an escape, and pieces end on 1 KiB
 * boundaries, so no escape is ever cut in two.
 */
export function writeLargeEntriesKv(path: string, count: number, bytes: number): number {
  const sink = new FileSink(path);
  const filler = Buffer.alloc(1 << 20, 'x');
  for (let i = 0; i < 1 << 20; i += 1024) filler.write('\\n\\"', i);
  const total = Math.ceil(bytes / 1024) * 1024;
  for (let i = 0; i < count; i++) {
    sink.write(`${i ? ',' : '{'}\n  "doc-${i}": {\n    "content": "`);
    for (let left = total; left > 0; left -= filler.length) {
      sink.writeBytes(filler.subarray(0, Math.min(left, filler.length)));
    }
    sink.write(`",\n    "file_path": "doc-${i}.txt"\n  }`);
  }
  sink.write('\n}');
  return sink.close();
}
