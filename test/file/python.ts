import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs test/python/check_files.py: Python reads files ragspace wrote the way LightRAG
 * does (networkx for the graph), and reports what it found as JSON.
 */
const SCRIPT = fileURLToPath(new URL('../python/check_files.py', import.meta.url));
const CANDIDATES = ['python3', '/usr/bin/python3'];

export type Typed = [string, unknown];

export interface PythonGraph {
  class: string;
  directed: boolean;
  nodes: Record<string, Record<string, Typed>>;
  edges: Record<string, { ends: string[]; attributes: Record<string, Typed> }>;
}

export interface PythonVdb {
  embedding_dim: number;
  keys: string[];
  rows: number;
  matrix_bytes: number;
  aligned: boolean;
  bad_norms: string[];
  bad_vector_fields: string[];
  data: Record<string, unknown>[];
  row_digest: Record<string, string>;
  vector_field: Record<string, string | null>;
  decoded: Record<string, number[]>;
  matrix_rows: Record<string, number[]>;
}

export interface PythonReport {
  graph: PythonGraph | null;
  kv: Record<string, Record<string, Record<string, unknown>>>;
  vdb: Record<string, PythonVdb>;
  networkx: string;
}

let found: string | undefined;

/** A Python that imports networkx; fails the test with what to install otherwise. */
export function pythonWithNetworkx(): string {
  if (found) return found;
  for (const candidate of CANDIDATES) {
    const probe = spawnSync(candidate, ['-c', 'import networkx'], { encoding: 'utf8' });
    if (probe.status === 0) return (found = candidate);
  }
  throw new Error(
    'These tests need Python 3 with networkx, to check that LightRAG can load the files ' +
      `ragspace writes. Tried: ${CANDIDATES.join(', ')}. Install it with ` +
      '"apt-get install python3-networkx" (or "pip install networkx") and run again.',
  );
}

function run(args: string[]): string {
  const result = spawnSync(pythonWithNetworkx(), [SCRIPT, ...args], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`check_files.py ${args.join(' ')} failed:\n${result.stderr}`);
  }
  return result.stdout;
}

export function readWithPython(directory: string, vectors = false): PythonReport {
  return JSON.parse(run(vectors ? [directory, '--vectors'] : [directory])) as PythonReport;
}

/** Has networkx read `source` and write it again with its own (ElementTree) writer. */
export function rewriteGraphWithNetworkx(source: string, target: string): void {
  run(['--rewrite-graph', source, target]);
}
