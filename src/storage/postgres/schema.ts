import type pg from 'pg';
import type { Config } from '../../config.ts';
import { embeddingErrors, errors, postgresErrors } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { VectorNamespace } from '../types.ts';
import { ensureStats } from './stats.ts';
import {
  createTableSql,
  docStatusTableDef,
  entitiesTableDef,
  kvTableDefs,
  relationsTableDef,
  safeIndexName,
  VECTOR_BASES,
  vectorTableDef,
  vectorTableName,
  workspacesTableDef,
  type TableDef,
} from './tables.ts';

/**
 * Start-up creates what is missing and nothing else: tables, columns a newer LightRAG
 * added, indexes and extensions, each only after checking it is absent (so a role that
 * does not own a table LightRAG created never needs to), all under one advisory lock so
 * instances starting together take turns. "Already exists" races against other software
 * (42P07, 42710, 23505) count as success. Nothing is altered, renamed or dropped.
 */
export interface StoreSet {
  graph: boolean;
  kv: boolean;
  vector: boolean;
  docStatus: boolean;
}

export interface VectorSettings {
  model: string | undefined;
  dim: number;
  indexType: string;
  hnswM: number;
  hnswEf: number;
  ivfflatLists: number;
}

export interface VectorTable {
  table: string;
  type: 'vector' | 'halfvec';
  dim: number;
}

/** What start-up found or made; the backend writes by it. */
export interface SchemaState {
  /** Vector table per namespace, with the column's element type. */
  vectorTables: Partial<Record<VectorNamespace, VectorTable>>;
  trigram: boolean;
}

const SCHEMA_LOCK = "hashtextextended('ragspace:schema', 0)";
const RACE_CODES = new Set(['42P07', '42710', '23505']);
/** pgvector cannot index more dimensions than this with vector (halfvec doubles it). */
const INDEXABLE_DIMS = { vector: 2000, halfvec: 4000 };

export function storesOf(config: Config): StoreSet {
  const s = config.storage;
  return {
    graph: s.graph === 'PGGraphStorage',
    kv: s.kv === 'PGKVStorage',
    vector: s.vector === 'PGVectorStorage',
    docStatus: s.docStatus === 'PGDocStatusStorage',
  };
}

export function vectorSettings(config: Config): VectorSettings | undefined {
  if (config.storage.vector !== 'PGVectorStorage') return undefined;
  const dim = config.embedding.dim;
  if (dim === undefined) {
    throw errors.configInvalid([
      'EMBEDDING_DIM is required with LIGHTRAG_VECTOR_STORAGE=PGVectorStorage: it fixes the ' +
        'vector column type and the table name suffix',
    ]);
  }
  const pg = config.postgres;
  return {
    model: config.embedding.model,
    dim,
    indexType: pg.vectorIndexType,
    hnswM: pg.hnswM,
    hnswEf: pg.hnswEf,
    ivfflatLists: pg.ivfflatLists,
  };
}

/** The vector tables' names for the configured model and dimension. */
export function vectorTables(settings: VectorSettings): Record<VectorNamespace, string> {
  const name = (base: string) => vectorTableName(base, settings.model, settings.dim);
  return {
    entities: name(VECTOR_BASES.entities),
    relationships: name(VECTOR_BASES.relationships),
    chunks: name(VECTOR_BASES.chunks),
  };
}

/** Runs one DDL statement; `object` names what it makes, for the error a user sees. */
async function ddl(client: pg.PoolClient, sql: string, object: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== undefined && RACE_CODES.has(code)) return;
    if (code === '42501') throw postgresErrors.schemaNotCreated(object, 'permission denied');
    throw error;
  }
}

async function exists(client: pg.PoolClient, name: string): Promise<boolean> {
  const result = await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [name]);
  return result.rows[0].found === true;
}

async function extensionInstalled(client: pg.PoolClient, name: string): Promise<boolean> {
  const result = await client.query('SELECT 1 FROM pg_extension WHERE extname = $1', [name]);
  return result.rowCount === 1;
}

/** Installs an extension if missing; false when it cannot be (not available, no right). */
async function ensureExtension(client: pg.PoolClient, name: string): Promise<boolean> {
  if (await extensionInstalled(client, name)) return true;
  try {
    await ddl(client, `CREATE EXTENSION IF NOT EXISTS ${name}`, `Extension ${name}`);
    return true;
  } catch {
    return false;
  }
}

interface ColumnFacts {
  type: string;
}

export async function tableColumns(
  client: pg.PoolClient,
  table: string,
): Promise<Map<string, ColumnFacts>> {
  const result = await client.query(
    `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [table],
  );
  return new Map(result.rows.map((r) => [r.attname as string, { type: r.type as string }]));
}

/** ON CONFLICT (workspace, id) needs a unique index on exactly those columns. */
async function hasKey(client: pg.PoolClient, table: TableDef): Promise<boolean> {
  const result = await client.query(
    `SELECT 1 FROM pg_index i
      WHERE i.indrelid = to_regclass($1) AND i.indisunique
        AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
              WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = $2::text[]`,
    [table.name, [...table.key.columns].sort()],
  );
  return (result.rowCount ?? 0) > 0;
}

async function addMissingColumns(client: pg.PoolClient, table: TableDef): Promise<void> {
  const present = await tableColumns(client, table.name);
  for (const column of table.columns) {
    if (present.has(column.name)) continue;
    const sql = `ALTER TABLE ${table.name} ADD COLUMN IF NOT EXISTS ${column.name} ${column.type}`;
    await ddl(client, sql, `Column ${table.name}.${column.name}`);
  }
}

async function ensureTable(client: pg.PoolClient, table: TableDef, log: Logger): Promise<void> {
  if (!(await exists(client, table.name))) {
    await ddl(client, createTableSql(table), `Table ${table.name}`);
    log.info('postgres.table_created', { table: table.name });
  } else {
    await addMissingColumns(client, table);
    if (!(await hasKey(client, table))) {
      throw postgresErrors.schemaIncompatible(
        table.name,
        `has no primary key or unique index on (${table.key.columns.join(', ')})`,
      );
    }
  }
  for (const index of table.indexes) {
    if (await exists(client, index.name)) continue;
    const sql = `CREATE INDEX IF NOT EXISTS ${index.name} ON ${table.name} ${index.definition}`;
    await ddl(client, sql, `Index ${index.name}`);
  }
}

async function withSchemaLock<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query(`SELECT pg_advisory_lock(${SCHEMA_LOCK})`);
  try {
    return await fn();
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${SCHEMA_LOCK})`).catch(() => undefined);
  }
}

export interface SchemaRequest {
  stores: StoreSet;
  vectors: VectorSettings | undefined;
  database: string;
}

export async function ensureSchema(
  client: pg.PoolClient,
  request: SchemaRequest,
  log: Logger,
): Promise<SchemaState> {
  return withSchemaLock(client, async () => {
    const state: SchemaState = { vectorTables: {}, trigram: false };
    await ensureTable(client, workspacesTableDef(), log);
    if (request.stores.graph) state.trigram = await ensureGraph(client, log);
    if (request.stores.kv) for (const table of kvTableDefs()) await ensureTable(client, table, log);
    if (request.stores.docStatus) await ensureTable(client, docStatusTableDef(), log);
    if (request.vectors) {
      if (!(await ensureExtension(client, 'vector'))) {
        throw postgresErrors.pgvectorMissing(request.database);
      }
      state.vectorTables = await ensureVectors(client, request.vectors, log);
    }
    await ensureStats(client, log);
    return state;
  });
}

async function ensureGraph(client: pg.PoolClient, log: Logger): Promise<boolean> {
  const trigram = await ensureExtension(client, 'pg_trgm');
  if (!trigram) log.warn('postgres.no_trigram', { reason: 'pg_trgm is not available' });
  await ensureTable(client, entitiesTableDef(trigram), log);
  await ensureTable(client, relationsTableDef(), log);
  return trigram;
}

async function ensureVectors(
  client: pg.PoolClient,
  settings: VectorSettings,
  log: Logger,
): Promise<SchemaState['vectorTables']> {
  const names = vectorTables(settings);
  const result: SchemaState['vectorTables'] = {};
  const wanted = settings.indexType === 'HNSW_HALFVEC' ? 'halfvec' : 'vector';
  for (const namespace of Object.keys(names) as VectorNamespace[]) {
    const table = names[namespace];
    await ensureTable(client, vectorTableDef(namespace, table, `${wanted}(${settings.dim})`), log);
    const type = await checkVectorColumn(client, table, settings.dim);
    await ensureVectorIndex(client, table, type, settings, log);
    result[namespace] = { table, type, dim: settings.dim };
  }
  return result;
}

/** The existing column decides (ragspace never alters it): its type and dimension. */
async function checkVectorColumn(
  client: pg.PoolClient,
  table: string,
  dim: number,
): Promise<'vector' | 'halfvec'> {
  const type = (await tableColumns(client, table)).get('content_vector')?.type ?? '';
  const match = /^(vector|halfvec)\((\d+)\)$/.exec(type);
  if (!match) {
    throw postgresErrors.schemaIncompatible(
      table,
      `its content_vector column is "${type}", not vector(${dim}) or halfvec(${dim})`,
    );
  }
  if (Number(match[2]) !== dim) {
    throw embeddingErrors.dimension(`table ${table}`, dim, Number(match[2]));
  }
  return match[1] as 'vector' | 'halfvec';
}

const INDEX_SUFFIXES = ['hnsw_cosine', 'hnsw_halfvec_cosine', 'ivfflat_cosine', 'vchordrq_cosine'];

function vectorIndexSql(
  table: string,
  type: 'vector' | 'halfvec',
  settings: VectorSettings,
): string | undefined {
  const ops = `content_vector ${type}_cosine_ops`;
  const name = safeIndexName(table, settings.indexType.toLowerCase() + '_cosine');
  const head = `CREATE INDEX IF NOT EXISTS ${name} ON ${table} USING`;
  switch (settings.indexType) {
    case 'HNSW':
    case 'HNSW_HALFVEC':
      return (
        `${head} hnsw (${ops}) ` +
        `WITH (m = ${settings.hnswM}, ef_construction = ${settings.hnswEf})`
      );
    case 'IVFFLAT':
      return `${head} ivfflat (${ops}) WITH (lists = ${settings.ivfflatLists})`;
    case 'VCHORDRQ':
      return `${head} vchordrq (${ops})`;
    default:
      return undefined;
  }
}

async function ensureVectorIndex(
  client: pg.PoolClient,
  table: string,
  type: 'vector' | 'halfvec',
  settings: VectorSettings,
  log: Logger,
): Promise<void> {
  const sql = vectorIndexSql(table, type, settings);
  if (!sql) return;
  // LightRAG drops the other types' indexes first; ragspace never drops: any vector
  // index already there is kept, and the configured type is not added beside it.
  for (const suffix of INDEX_SUFFIXES) {
    if (await exists(client, safeIndexName(table, suffix))) return;
  }
  const skip = await vectorIndexObstacle(client, type, settings);
  if (skip) {
    log.warn('postgres.vector_index_skipped', { table, reason: skip });
    return;
  }
  await ddl(client, sql, `Vector index of ${table}`);
}

async function vectorIndexObstacle(
  client: pg.PoolClient,
  type: 'vector' | 'halfvec',
  settings: VectorSettings,
): Promise<string | undefined> {
  if (settings.indexType === 'HNSW_HALFVEC' && type === 'vector') {
    return 'the existing column is vector, not halfvec; ragspace does not alter it';
  }
  if (settings.dim > INDEXABLE_DIMS[type]) {
    const limit = INDEXABLE_DIMS[type];
    return `${settings.dim} dimensions are too many to index as ${type} (limit ${limit})`;
  }
  const am = settings.indexType === 'VCHORDRQ' ? 'vchordrq' : undefined;
  if (am && !(await client.query('SELECT 1 FROM pg_am WHERE amname = $1', [am])).rowCount) {
    return 'the vchordrq access method (VectorChord) is not installed';
  }
  return undefined;
}
