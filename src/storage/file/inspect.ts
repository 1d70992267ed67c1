import { GraphmlError, readGraphml } from '../../formats/graphml.ts';
import { JsonFormatError, readJsonEntries, type JsonEntry } from '../../formats/json-stream.ts';
import { inspectNanoVdb } from '../../formats/nano-vdb.ts';
import type { WorkspaceProblem } from '../types.ts';
import { DOC_STATUS_FILE } from './layout.ts';

/**
 * What one LightRAG file holds, learnt by streaming it once: record counts, and the
 * problems a reader must report rather than trip over. Damaged files are counted up to
 * the damage (complete records only) and carry an error with the byte offset.
 */
export interface FileFacts {
  records: number;
  nodes?: number;
  edges?: number;
  statuses?: Record<string, number>;
  embeddingDim?: number;
  errors: WorkspaceProblem[];
  warnings: WorkspaceProblem[];
}

export const DOC_STATUSES = [
  'pending',
  'parsing',
  'analyzing',
  'processing',
  'processed',
  'failed',
  'preprocessed',
];

const MAX_WARNINGS_PER_FILE = 20;

function problemFrom(file: string, error: unknown): WorkspaceProblem {
  if (error instanceof JsonFormatError || error instanceof GraphmlError) {
    const problem: WorkspaceProblem = { file, reason: error.reason };
    if (error.offset !== undefined) problem.offset = error.offset;
    return problem;
  }
  throw error;
}

/** Finds text PostgreSQL or a JSON writer cannot carry: lone surrogates and NUL. */
export function findBadText(value: unknown, path: string, found: string[]): void {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) found.push(`${path}: lone UTF-16 surrogate`);
    if (value.includes('\u0000')) found.push(`${path}: NUL character`);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => findBadText(item, `${path}[${i}]`, found));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) findBadText(item, `${path}.${key}`, found);
  }
}

/** Records warnings up to a cap; past it only counts them, to keep responses small. */
class WarningList {
  readonly items: WorkspaceProblem[] = [];
  private unlisted = 0;

  constructor(private readonly file: string) {}

  add(record: string, reason: string): void {
    if (this.items.length < MAX_WARNINGS_PER_FILE)
      this.items.push({ file: this.file, record, reason });
    else this.unlisted++;
  }

  finish(): WorkspaceProblem[] {
    if (this.unlisted === 0) return this.items;
    const reason = `${this.unlisted} more warning(s) like these are not listed`;
    return [...this.items, { file: this.file, reason }];
  }
}

function checkEntry(warnings: WarningList, entry: JsonEntry): void {
  const found: string[] = [];
  findBadText(entry.key, 'key', found);
  findBadText(entry.value, 'value', found);
  if (entry.invalidUtf8) found.push('bytes that are not UTF-8 (read as U+FFFD)');
  for (const reason of found) warnings.add(entry.key, reason);
}

/**
 * The status a document is listed under. LightRAG itself reports a "processed" record
 * whose multimodal stage has not run (`multimodal_processed: false`) as "preprocessed".
 */
function documentStatus(value: unknown): string {
  const record = (typeof value === 'object' && value !== null ? value : {}) as {
    status?: unknown;
    multimodal_processed?: unknown;
  };
  const status = typeof record.status === 'string' ? record.status.toLowerCase() : '';
  if (status === 'processed' && record.multimodal_processed === false) return 'preprocessed';
  return DOC_STATUSES.includes(status) ? status : 'other';
}

function countStatus(facts: FileFacts, value: unknown): void {
  const statuses = (facts.statuses ??= {});
  const bucket = documentStatus(value);
  statuses[bucket] = (statuses[bucket] ?? 0) + 1;
}

async function inspectKv(path: string, file: string): Promise<FileFacts> {
  const facts: FileFacts = { records: 0, errors: [], warnings: [] };
  const warnings = new WarningList(file);
  if (file === DOC_STATUS_FILE) facts.statuses = {};
  try {
    for await (const entry of readJsonEntries(path)) {
      facts.records++;
      if (file === DOC_STATUS_FILE) countStatus(facts, entry.value);
      checkEntry(warnings, entry);
    }
  } catch (error) {
    facts.errors.push(problemFrom(file, error));
  }
  facts.warnings = warnings.finish();
  return facts;
}

/** Counts nodes and edges; a damaged file keeps the counts of elements read before it. */
async function inspectGraph(path: string, file: string): Promise<FileFacts> {
  const facts: FileFacts = { records: 0, nodes: 0, edges: 0, errors: [], warnings: [] };
  const counts = { nodes: 0, edges: 0 };
  try {
    await readGraphml(path, {
      wantsAttributes: false,
      onNode: () => counts.nodes++,
      onEdge: () => counts.edges++,
    });
  } catch (error) {
    facts.errors.push(problemFrom(file, error));
  }
  return { ...facts, records: counts.nodes, ...counts };
}

async function inspectVectors(path: string, file: string): Promise<FileFacts> {
  const summary = await inspectNanoVdb(path);
  const errors = summary.problems.map((p) => ({ file, ...p }));
  const facts: FileFacts = { records: summary.rowCount, errors, warnings: [] };
  if (summary.embeddingDim !== undefined) facts.embeddingDim = summary.embeddingDim;
  return facts;
}

/** Streams one file of a workspace; never throws for damage, only for I/O failures. */
export function inspectFile(path: string, file: string): Promise<FileFacts> {
  if (file.endsWith('.graphml')) return inspectGraph(path, file);
  if (file.startsWith('vdb_')) return inspectVectors(path, file);
  return inspectKv(path, file);
}
