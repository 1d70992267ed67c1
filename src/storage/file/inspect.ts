import { GraphmlError, countGraphml } from '../../formats/graphml.ts';
import { JsonFormatError, readJsonEntries } from '../../formats/json-stream.ts';
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

function recordWarnings(facts: FileFacts, file: string, key: string, value: unknown): void {
  if (facts.warnings.length >= MAX_WARNINGS_PER_FILE) return;
  const found: string[] = [];
  findBadText(key, 'key', found);
  findBadText(value, 'value', found);
  for (const reason of found) facts.warnings.push({ file, record: key, reason });
}

function countStatus(facts: FileFacts, value: unknown): void {
  const statuses = (facts.statuses ??= {});
  const raw = (value as { status?: unknown } | null)?.status;
  const status = typeof raw === 'string' ? raw.toLowerCase() : '';
  const bucket = DOC_STATUSES.includes(status) ? status : 'other';
  statuses[bucket] = (statuses[bucket] ?? 0) + 1;
}

async function inspectKv(path: string, file: string): Promise<FileFacts> {
  const facts: FileFacts = { records: 0, errors: [], warnings: [] };
  try {
    for await (const entry of readJsonEntries(path)) {
      facts.records++;
      if (file === DOC_STATUS_FILE) countStatus(facts, entry.value);
      recordWarnings(facts, file, entry.key, entry.value);
    }
  } catch (error) {
    facts.errors.push(problemFrom(file, error));
  }
  return facts;
}

async function inspectGraph(path: string, file: string): Promise<FileFacts> {
  try {
    const counts = await countGraphml(path);
    return { records: counts.nodes, ...counts, errors: [], warnings: [] };
  } catch (error) {
    return { records: 0, nodes: 0, edges: 0, errors: [problemFrom(file, error)], warnings: [] };
  }
}

async function inspectVectors(path: string, file: string): Promise<FileFacts> {
  try {
    const summary = await inspectNanoVdb(path);
    const errors = summary.problems.map((p) => ({ file, ...p }));
    const facts: FileFacts = { records: summary.rowCount, errors, warnings: [] };
    if (summary.embeddingDim !== undefined) facts.embeddingDim = summary.embeddingDim;
    return facts;
  } catch (error) {
    return { records: 0, errors: [problemFrom(file, error)], warnings: [] };
  }
}

export function inspectFile(path: string, file: string): Promise<FileFacts> {
  if (file.endsWith('.graphml')) return inspectGraph(path, file);
  if (file.startsWith('vdb_')) return inspectVectors(path, file);
  return inspectKv(path, file);
}
