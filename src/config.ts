import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { errors } from './errors.ts';
import { LOG_LEVEL_NAMES } from './log.ts';
import { checkWorkspaceName, DEFAULT_WORKSPACE } from './workspace/name.ts';

/**
 * Configuration uses LightRAG's own variable names and defaults, so one `.env` serves both
 * a Python LightRAG server and ragspace. Variables that LightRAG lacks are prefixed
 * RAGSPACE_. Every problem is collected before failing, so a user fixes them in one pass.
 */
export const KV_STORAGES = ['JsonKVStorage', 'PGKVStorage'] as const;
export const VECTOR_STORAGES = ['NanoVectorDBStorage', 'PGVectorStorage'] as const;
export const GRAPH_STORAGES = ['NetworkXStorage', 'PGGraphStorage'] as const;
export const DOC_STATUS_STORAGES = ['JsonDocStatusStorage', 'PGDocStatusStorage'] as const;
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
export const VECTOR_INDEX_TYPES = ['HNSW', 'HNSW_HALFVEC', 'IVFFLAT', 'VCHORDRQ', ''];
export const EMBEDDING_BINDINGS = ['openai', 'ollama', 'jina', 'azure_openai', ''];

export interface StorageSelection {
  kv: (typeof KV_STORAGES)[number];
  vector: (typeof VECTOR_STORAGES)[number];
  graph: (typeof GRAPH_STORAGES)[number];
  docStatus: (typeof DOC_STATUS_STORAGES)[number];
}

export interface PostgresConfig {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  workspace: string | undefined;
  maxConnections: number;
  sslMode: string | undefined;
  sslCert: string | undefined;
  sslKey: string | undefined;
  sslRootCert: string | undefined;
  sslCrl: string | undefined;
  vectorIndexType: string;
  hnswM: number;
  hnswEf: number;
  ivfflatLists: number;
  connectionRetries: number;
  connectionRetryBackoff: number;
  connectionRetryBackoffMax: number;
  /** Directory of the in-process PGlite database; set means "embedded". */
  embeddedDir: string | undefined;
}

export interface EmbeddingConfig {
  binding: string;
  host: string | undefined;
  model: string | undefined;
  dim: number | undefined;
  apiKey: string | undefined;
  batchSize: number;
  timeoutMs: number;
  retries: number;
}

export interface Config {
  workingDir: string;
  workspace: string;
  host: string;
  port: number;
  apiKey: string | undefined;
  storage: StorageSelection;
  maxGraphNodes: number;
  postgres: PostgresConfig;
  /** PostgreSQL: the workspace list is kept in memory up to this many workspaces (0: never). */
  listCacheWorkspaces: number;
  embedding: EmbeddingConfig;
  /** Bytes of parsed workspaces kept in memory by the file backend before LRU eviction. */
  memoryBudgetBytes: number;
  maxBodyBytes: number;
}

export type Env = Record<string, string | undefined>;

/**
 * Reads `.env` (if present) under the process environment; the environment wins. A file
 * named explicitly (`--dotenv FILE`) must exist: a mistyped path would otherwise start
 * with defaults.
 */
export function loadEnv(envFile?: string, processEnv: Env = process.env): Env {
  const path = resolve(envFile ?? '.env');
  const named = envFile === undefined ? '.env' : `--dotenv ${envFile}`;
  if (envFile !== undefined && !existsSync(path)) {
    throw errors.configInvalid([`${named}: no such file (${path})`]);
  }
  if (existsSync(path) && !statSync(path).isFile()) {
    throw errors.configInvalid([`${named}: ${path} is not a file`]);
  }
  const fromFile = existsSync(path) ? parseDotenv(readFileSync(path)) : {};
  return { ...fromFile, ...processEnv };
}

class Reader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  text(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  }

  /** Set, but to nothing (or spaces). */
  blank(name: string): boolean {
    const value = this.env[name];
    return value !== undefined && value.trim() === '';
  }

  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}=${raw} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) {
      this.problems.push(`${name}=${raw} must be a number of at least ${min}`);
      return fallback;
    }
    return Math.min(value, max);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T)) {
      this.problems.push(`${name}=${raw} is not supported; use one of: ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  }
}

function readStorage(r: Reader): StorageSelection {
  return {
    kv: r.oneOf('LIGHTRAG_KV_STORAGE', 'JsonKVStorage', KV_STORAGES),
    vector: r.oneOf('LIGHTRAG_VECTOR_STORAGE', 'NanoVectorDBStorage', VECTOR_STORAGES),
    graph: r.oneOf('LIGHTRAG_GRAPH_STORAGE', 'NetworkXStorage', GRAPH_STORAGES),
    docStatus: r.oneOf('LIGHTRAG_DOC_STATUS_STORAGE', 'JsonDocStatusStorage', DOC_STATUS_STORAGES),
  };
}

function readPostgres(r: Reader): PostgresConfig {
  return {
    host: r.text('POSTGRES_HOST', 'localhost'),
    port: r.integer('POSTGRES_PORT', 5432, 1, 65535),
    user: r.text('POSTGRES_USER', 'postgres'),
    password: r.optional('POSTGRES_PASSWORD'),
    database: r.text('POSTGRES_DATABASE', 'postgres'),
    workspace: r.optional('POSTGRES_WORKSPACE'),
    maxConnections: r.integer('POSTGRES_MAX_CONNECTIONS', 50, 1, 1000),
    sslMode: r.optional('POSTGRES_SSL_MODE') && r.oneOf('POSTGRES_SSL_MODE', 'prefer', SSL_MODES),
    sslCert: r.optional('POSTGRES_SSL_CERT'),
    sslKey: r.optional('POSTGRES_SSL_KEY'),
    sslRootCert: r.optional('POSTGRES_SSL_ROOT_CERT'),
    sslCrl: r.optional('POSTGRES_SSL_CRL'),
    // As in LightRAG, set but empty means "no vector index" (unset means HNSW).
    vectorIndexType: r.blank('POSTGRES_VECTOR_INDEX_TYPE')
      ? ''
      : r.oneOf('POSTGRES_VECTOR_INDEX_TYPE', 'HNSW', VECTOR_INDEX_TYPES),
    hnswM: r.integer('POSTGRES_HNSW_M', 16, 2, 100),
    hnswEf: r.integer('POSTGRES_HNSW_EF', 64, 4, 1000),
    ivfflatLists: r.integer('POSTGRES_IVFFLAT_LISTS', 100, 1, 100000),
    connectionRetries: Math.min(r.integer('POSTGRES_CONNECTION_RETRIES', 10, 0, 1000), 100),
    connectionRetryBackoff: r.number('POSTGRES_CONNECTION_RETRY_BACKOFF', 3, 0, 300),
    connectionRetryBackoffMax: r.number('POSTGRES_CONNECTION_RETRY_BACKOFF_MAX', 30, 0, 600),
    embeddedDir: r.optional('RAGSPACE_PGLITE_DIR'),
  };
}

function readEmbedding(r: Reader): EmbeddingConfig {
  const dimRaw = r.optional('EMBEDDING_DIM');
  return {
    binding: r.oneOf('EMBEDDING_BINDING', '', EMBEDDING_BINDINGS),
    host: r.optional('EMBEDDING_BINDING_HOST'),
    model: r.optional('EMBEDDING_MODEL'),
    dim: dimRaw === undefined ? undefined : r.integer('EMBEDDING_DIM', 0, 1, 65535),
    apiKey: r.optional('EMBEDDING_BINDING_API_KEY'),
    batchSize: r.integer('EMBEDDING_BATCH_NUM', 10, 1, 4096),
    timeoutMs: r.integer('EMBEDDING_TIMEOUT', 30, 1, 3600) * 1000,
    retries: r.integer('RAGSPACE_EMBEDDING_RETRIES', 3, 0, 20),
  };
}

function readWorkspace(r: Reader): string {
  const raw = r.text('WORKSPACE', '');
  const check = checkWorkspaceName(raw);
  if (check.ok) return check.name;
  r.problems.push(`WORKSPACE=${raw} is not a valid workspace name: ${check.reason}`);
  return DEFAULT_WORKSPACE;
}

function checkCombinations(config: Config, problems: string[]): void {
  const pg = config.postgres;
  const usesPostgres = Object.values(config.storage).some((s) => s.startsWith('PG'));
  if (usesPostgres && !pg.embeddedDir && pg.password === undefined) {
    problems.push(
      'POSTGRES_PASSWORD is required when a PG*Storage is selected ' +
        '(set it, even to an empty-auth placeholder, or set RAGSPACE_PGLITE_DIR for embedded)',
    );
  }
  if (config.embedding.host && config.embedding.binding === '') {
    problems.push('EMBEDDING_BINDING_HOST is set but EMBEDDING_BINDING is not (openai or ollama)');
  }
}

/** Builds the configuration or throws CONFIG_INVALID listing every problem found. */
function checkLogLevel(r: Reader): void {
  const level = r.optional('LOG_LEVEL');
  if (level === undefined || LOG_LEVEL_NAMES[level.toLowerCase()]) return;
  const names = Object.keys(LOG_LEVEL_NAMES).join(', ');
  r.problems.push(`LOG_LEVEL=${level} is not supported; use one of: ${names} (any case)`);
}

export function readConfig(env: Env): Config {
  const r = new Reader(env);
  const config: Config = {
    workingDir: resolve(r.text('WORKING_DIR', './rag_storage')),
    workspace: readWorkspace(r),
    host: r.text('HOST', '0.0.0.0'),
    port: r.integer('PORT', 9621, 0, 65535),
    apiKey: r.optional('LIGHTRAG_API_KEY'),
    storage: readStorage(r),
    maxGraphNodes: r.integer('MAX_GRAPH_NODES', 1000, 1, 10_000_000),
    postgres: readPostgres(r),
    embedding: readEmbedding(r),
    memoryBudgetBytes: r.integer('RAGSPACE_MEMORY_BUDGET_MB', 1024, 16, 1_000_000) * 1024 * 1024,
    maxBodyBytes: r.integer('RAGSPACE_MAX_BODY_MB', 32, 1, 4096) * 1024 * 1024,
    listCacheWorkspaces: r.integer('RAGSPACE_LIST_CACHE_WORKSPACES', 100_000, 0, 10_000_000),
  };
  checkLogLevel(r);
  checkCombinations(config, r.problems);
  if (r.problems.length > 0) throw errors.configInvalid(r.problems);
  return config;
}
