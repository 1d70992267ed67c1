import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readConfig, type Config } from '../src/config.ts';
import { createApp } from '../src/http/app.ts';
import { silentLogger } from '../src/log.ts';
import type { StorageBackend } from '../src/storage/types.ts';

/** The real LightRAG folders; tests read them in place and never copy them into the repo. */
export const SAMPLES = resolve(process.env.RAGSPACE_SAMPLES ?? '../shared/samples');

export function sampleFolders(): string[] {
  return readdirSync(SAMPLES, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** A fresh temporary directory, removed when the returned cleanup runs. */
export function tempDir(prefix = 'ragspace-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes `files` (relative path → content) under `root`. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [relative, content] of Object.entries(files)) {
    const path = join(root, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
}

/** Copies sample folders side by side into `root`, as named workspaces. */
export function copySamples(root: string, folders: string[]): void {
  for (const folder of folders)
    cpSync(join(SAMPLES, folder), join(root, folder), { recursive: true });
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return readConfig({ LOG_LEVEL: 'error', ...overrides });
}

export function testApp(storage: StorageBackend, overrides: Record<string, string> = {}) {
  const config = testConfig(overrides);
  return createApp({ config, storage, logger: silentLogger });
}

/** Counts computed without ragspace's readers, to check them against. */
export function independentCounts(directory: string) {
  const read = (name: string): string | undefined => {
    try {
      return readFileSync(join(directory, name), 'utf8');
    } catch {
      return undefined;
    }
  };
  const keys = (name: string) => {
    const text = read(name);
    return text === undefined ? undefined : Object.keys(JSON.parse(text)).length;
  };
  const graph = read('graph_chunk_entity_relation.graphml') ?? '';
  return {
    entity_count: (graph.match(/<node[\s>/]/g) ?? []).length,
    relation_count: (graph.match(/<edge[\s>/]/g) ?? []).length,
    document_count: keys('kv_store_doc_status.json') ?? keys('kv_store_full_docs.json') ?? 0,
    chunk_count: keys('kv_store_text_chunks.json') ?? 0,
  };
}
