import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readConfig, type Config } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { migrate, type MigrateOptions } from '../../src/migrate/migrate.ts';
import type { MigrationReport, WorkspaceReport } from '../../src/migrate/report.ts';
import { SAMPLES } from '../helpers.ts';

/**
 * Real databases for the migration tests: a fresh `ragspace_mig_<random>` database on the
 * machine's PostgreSQL 15 (no pgvector), or PGlite with pgvector (test/postgres/helpers.ts).
 */
export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };

export const ALL_PG = {
  LIGHTRAG_KV_STORAGE: 'PGKVStorage',
  LIGHTRAG_VECTOR_STORAGE: 'PGVectorStorage',
  LIGHTRAG_GRAPH_STORAGE: 'PGGraphStorage',
  LIGHTRAG_DOC_STATUS_STORAGE: 'PGDocStatusStorage',
  EMBEDDING_MODEL: 'test-embed',
  // The index is not what these tests are about, and building HNSW in WASM is slow.
  POSTGRES_VECTOR_INDEX_TYPE: '',
};

export const WITHOUT_VECTORS = { ...ALL_PG, LIGHTRAG_VECTOR_STORAGE: 'NanoVectorDBStorage' };

export interface MigDatabase {
  name: string;
  env: Record<string, string>;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    values?: unknown[],
  ): Promise<T[]>;
  drop(): Promise<void>;
}

async function withClient<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...PG, database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createMigDatabase(): Promise<MigDatabase> {
  const name = `ragspace_mig_${randomBytes(5).toString('hex')}`;
  await withClient('postgres', (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    env: {
      POSTGRES_HOST: PG.host,
      POSTGRES_PORT: String(PG.port),
      POSTGRES_USER: PG.user,
      POSTGRES_PASSWORD: 'unused-trust-auth',
      POSTGRES_DATABASE: name,
      POSTGRES_SSL_MODE: 'disable',
      POSTGRES_CONNECTION_RETRIES: '0',
    },
    query: (sql, values = []) => withClient(name, async (c) => (await c.query(sql, values)).rows),
    drop: () =>
      withClient('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(),
  };
}

export function migConfig(...envs: Record<string, string>[]): Config {
  const env = Object.assign({ LOG_LEVEL: 'error' }, ...envs) as Record<string, string>;
  return readConfig(env);
}

export async function run(config: Config, options: MigrateOptions): Promise<MigrationReport> {
  return migrate(config, { log: silentLogger, ...options });
}

export function only(report: MigrationReport): WorkspaceReport {
  if (report.workspaces.length !== 1) throw new Error('expected one workspace in the report');
  return report.workspaces[0]!;
}

/** A workspace of the samples, with the working directory that holds it. */
export interface SampleWorkspace {
  label: string;
  workingDir: string;
  workspace: string;
  directory: string;
}

/** Every workspace in ../shared/samples (ljx-workspaces is a whole working directory). */
export function sampleWorkspaces(): SampleWorkspace[] {
  const found: SampleWorkspace[] = [];
  for (const folder of readdirSync(SAMPLES).filter((f) =>
    statSync(join(SAMPLES, f)).isDirectory(),
  )) {
    if (folder === 'ljx-workspaces') {
      const root = join(SAMPLES, folder);
      for (const ws of ['default', 'knowledge_base', 'llm_collection']) {
        const directory = ws === 'default' ? root : join(root, ws);
        found.push({ label: `${folder}/${ws}`, workingDir: root, workspace: ws, directory });
      }
    } else if (folder === 'nasret-default-workspace') {
      const root = join(SAMPLES, folder);
      found.push({
        label: folder,
        workingDir: root,
        workspace: 'default',
        directory: join(root, 'default'),
      });
    } else {
      found.push({
        label: folder,
        workingDir: SAMPLES,
        workspace: folder,
        directory: join(SAMPLES, folder),
      });
    }
  }
  return found.sort((a, b) => a.label.localeCompare(b.label));
}

/** The embedding dimension a sample's vector files declare (4 when it has none). */
export function sampleDimension(directory: string): number {
  for (const file of ['vdb_entities.json', 'vdb_chunks.json', 'vdb_relationships.json']) {
    try {
      const parsed = JSON.parse(readFileSync(join(directory, file), 'utf8')) as {
        embedding_dim: number;
      };
      return parsed.embedding_dim;
    } catch {
      // No such file: try the next.
    }
  }
  return 4;
}

/** SHA-256 over every file under `root` (paths and bytes), to prove nothing was written. */
export function treeChecksum(root: string): string {
  const digest = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else digest.update(path).update(readFileSync(path));
    }
  };
  walk(root);
  return digest.digest('hex');
}

export function writeEnvFile(path: string, env: Record<string, string>): void {
  writeFileSync(
    path,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
}

const BIN = fileURLToPath(new URL('../../bin/ragspace.js', import.meta.url));

/** Starts the CLI in its own process; output is collected on the returned object. */
export function spawnCli(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = {
    stdout: '',
    stderr: '',
    code: null as number | null,
    signal: null as string | null,
  };
  child.stdout?.on('data', (chunk) => (out.stdout += chunk));
  child.stderr?.on('data', (chunk) => (out.stderr += chunk));
  const done = new Promise<typeof out>((resolve) =>
    child.on('close', (code, signal) => {
      out.code = code;
      out.signal = signal;
      resolve(out);
    }),
  );
  return { child, out, done };
}

/** A GraphML document as networkx writes it: these `<key>` declarations, then the graph. */
export function graphmlDocument(keys: string, body: string): string {
  return (
    "<?xml version='1.0' encoding='utf-8'?>" +
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">' +
    `${keys}<graph edgedefault="undirected">${body}</graph></graphml>`
  );
}

/** An edge with a weight (key d1) and, if given, a description (key d2). */
export const weightedEdge = (s: string, t: string, weight: string, text?: string) =>
  `<edge source="${s}" target="${t}"><data key="d1">${weight}</data>` +
  (text === undefined ? '' : `<data key="d2">${text}</data>`) +
  '</edge>';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
