import { createHash } from 'node:crypto';
import { errors } from '../../errors.ts';
import type { KvNamespace, VectorNamespace } from '../types.ts';

/**
 * Table names and column definitions. The LightRAG tables are LightRAG's own
 * (lightrag-formats.md §5): names, columns, types, `(workspace, id)` keys named
 * `<TABLE>_PK`, `idx_<table>_id` / `idx_<table>_workspace_id` indexes and the vector
 * tables' `_<model>_<dim>d` suffix, so a database can be shared with, or handed back to, a
 * Python LightRAG server. The graph lives in ragspace's own two tables (LightRAG keeps it
 * in Apache AGE, which the stock pgvector image lacks).
 */
export interface ColumnDef {
  name: string;
  type: string;
}

export interface TableDef {
  /** Lower case, as PostgreSQL folds LightRAG's unquoted names. */
  name: string;
  columns: ColumnDef[];
  /** Primary key constraint: name and columns. */
  key: { name: string; columns: string[] };
  checks?: string[];
  indexes: IndexDef[];
}

export interface IndexDef {
  name: string;
  /** Everything after `ON <table>`. */
  definition: string;
}

const col = (name: string, type: string): ColumnDef => ({ name, type });
const stamps = (type = 'TIMESTAMP(0)'): ColumnDef[] => [
  col('create_time', `${type} DEFAULT CURRENT_TIMESTAMP`),
  col('update_time', `${type} DEFAULT CURRENT_TIMESTAMP`),
];

export const KV_TABLES: Record<Exclude<KvNamespace, 'doc_status'>, string> = {
  full_docs: 'lightrag_doc_full',
  text_chunks: 'lightrag_doc_chunks',
  llm_response_cache: 'lightrag_llm_cache',
  full_entities: 'lightrag_full_entities',
  full_relations: 'lightrag_full_relations',
  entity_chunks: 'lightrag_entity_chunks',
  relation_chunks: 'lightrag_relation_chunks',
};

export const DOC_STATUS_TABLE = 'lightrag_doc_status';
export const ENTITIES_TABLE = 'ragspace_entities';
export const RELATIONS_TABLE = 'ragspace_relations';
export const WORKSPACES_TABLE = 'ragspace_workspaces';

export const VECTOR_BASES: Record<VectorNamespace, string> = {
  entities: 'lightrag_vdb_entity',
  relationships: 'lightrag_vdb_relation',
  chunks: 'lightrag_vdb_chunks',
};

const KV_COLUMNS: Record<string, ColumnDef[]> = {
  lightrag_doc_full: [
    col('id', 'VARCHAR(255)'),
    col('workspace', 'VARCHAR(255)'),
    col('doc_name', 'VARCHAR(1024)'),
    col('content', 'TEXT'),
    col('meta', 'JSONB'),
    col('sidecar_location', 'TEXT NULL'),
    col('parse_format', "VARCHAR(32) NULL DEFAULT 'raw'"),
    col('content_hash', 'TEXT NULL'),
    col('process_options', 'TEXT NULL'),
    col('chunk_options', "JSONB NULL DEFAULT '{}'::jsonb"),
    col('parse_engine', 'VARCHAR(32) NULL'),
    ...stamps(),
  ],
  lightrag_doc_chunks: [
    col('id', 'VARCHAR(255)'),
    col('workspace', 'VARCHAR(255)'),
    col('full_doc_id', 'VARCHAR(256)'),
    col('chunk_order_index', 'INTEGER'),
    col('tokens', 'INTEGER'),
    col('content', 'TEXT'),
    col('file_path', 'TEXT NULL'),
    col('llm_cache_list', "JSONB NULL DEFAULT '[]'::jsonb"),
    col('heading', "JSONB NULL DEFAULT '{}'::jsonb"),
    col('sidecar', "JSONB NULL DEFAULT '{}'::jsonb"),
    ...stamps(),
  ],
  lightrag_llm_cache: [
    col('workspace', 'VARCHAR(255) NOT NULL'),
    col('id', 'VARCHAR(255) NOT NULL'),
    col('original_prompt', 'TEXT'),
    col('return_value', 'TEXT'),
    col('chunk_id', 'VARCHAR(255) NULL'),
    col('cache_type', 'VARCHAR(32)'),
    col('queryparam', 'JSONB NULL'),
    ...stamps('TIMESTAMP'),
  ],
  lightrag_full_entities: countedJson('entity_names', 'VARCHAR(255)'),
  lightrag_full_relations: countedJson('relation_pairs', 'VARCHAR(255)'),
  lightrag_entity_chunks: countedJson('chunk_ids', 'VARCHAR(512)'),
  lightrag_relation_chunks: countedJson('chunk_ids', 'VARCHAR(512)'),
  lightrag_doc_status: [
    col('workspace', 'VARCHAR(255) NOT NULL'),
    col('id', 'VARCHAR(255) NOT NULL'),
    col('content_summary', 'VARCHAR(255) NULL'),
    col('content_length', 'INT4 NULL'),
    col('chunks_count', 'INT4 NULL'),
    col('status', 'VARCHAR(64) NULL'),
    col('file_path', 'TEXT NULL'),
    col('chunks_list', "JSONB NULL DEFAULT '[]'::jsonb"),
    col('track_id', 'VARCHAR(255) NULL'),
    col('metadata', "JSONB NULL DEFAULT '{}'::jsonb"),
    col('error_msg', 'TEXT NULL'),
    col('content_hash', 'TEXT NULL'),
    col('created_at', 'TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP'),
    col('updated_at', 'TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP'),
  ],
};

function countedJson(field: string, idType: string): ColumnDef[] {
  return [
    col('id', idType),
    col('workspace', 'VARCHAR(255)'),
    col(field, 'JSONB'),
    col('count', 'INTEGER'),
    ...stamps(),
  ];
}

const DOC_STATUS_INDEXES: IndexDef[] = [
  ['workspace_status_updated_at', '(workspace, status, updated_at DESC)'],
  ['workspace_status_created_at', '(workspace, status, created_at DESC)'],
  ['workspace_updated_at', '(workspace, updated_at DESC)'],
  ['workspace_created_at', '(workspace, created_at DESC)'],
  ['workspace_file_path', '(workspace, file_path)'],
  ['track_id', '(track_id)'],
  [
    'workspace_content_hash',
    "(workspace, content_hash) WHERE content_hash IS NOT NULL AND content_hash <> ''",
  ],
].map(([suffix, definition]) => ({
  name: `idx_${DOC_STATUS_TABLE}_${suffix}`,
  definition: definition!,
}));

/**
 * LightRAG's `_safe_index_name`: `idx_<table>_<suffix>`, or, past PostgreSQL's 63-byte
 * identifier limit, `idx_<first 12 hex of md5(table)>_<suffix>`.
 */
export function safeIndexName(table: string, suffix: string): string {
  const lower = table.toLowerCase();
  const plain = `idx_${lower}_${suffix}`;
  if (Buffer.byteLength(plain) <= 63) return plain;
  const digest = createHash('md5').update(lower).digest('hex').slice(0, 12);
  return `idx_${digest}_${suffix}`;
}

function keyedIndexes(table: string): IndexDef[] {
  return [
    { name: safeIndexName(table, 'id'), definition: '(id)' },
    { name: safeIndexName(table, 'workspace_id'), definition: '(workspace, id)' },
  ];
}

function lightragTable(name: string, extraIndexes: IndexDef[] = []): TableDef {
  return {
    name,
    columns: KV_COLUMNS[name]!,
    key: { name: `${name}_pk`, columns: ['workspace', 'id'] },
    indexes: [...keyedIndexes(name), ...extraIndexes],
  };
}

export function kvTableDefs(): TableDef[] {
  return Object.values(KV_TABLES).map((name) => lightragTable(name));
}

export function docStatusTableDef(): TableDef {
  return lightragTable(DOC_STATUS_TABLE, DOC_STATUS_INDEXES);
}

/**
 * The vector table suffix exactly as LightRAG computes it: the model name lower-cased,
 * every character outside [a-zA-Z0-9_] (counted by code point, as Python does) replaced by
 * "_", then `_<dim>d`. Without a model, LightRAG uses the legacy unsuffixed name.
 */
export function vectorTableName(base: string, model: string | undefined, dim: number): string {
  if (!model) return base;
  const sanitised = model.toLowerCase().replace(/[^a-zA-Z0-9_]/gu, '_');
  const name = `${base}_${sanitised}_${dim}d`.toLowerCase();
  if (Buffer.byteLength(name) > 63) {
    throw errors.configInvalid([
      `EMBEDDING_MODEL=${model} with EMBEDDING_DIM=${dim} gives the vector table name ` +
        `${name}, longer than PostgreSQL's 63-byte limit; use a shorter model name`,
    ]);
  }
  return name;
}

const VECTOR_COLUMNS: Record<VectorNamespace, (vectorType: string) => ColumnDef[]> = {
  chunks: (vectorType) => [
    col('id', 'VARCHAR(255)'),
    col('workspace', 'VARCHAR(255)'),
    col('full_doc_id', 'VARCHAR(256)'),
    col('chunk_order_index', 'INTEGER'),
    col('tokens', 'INTEGER'),
    col('content', 'TEXT'),
    col('content_vector', vectorType),
    col('file_path', 'TEXT NULL'),
    ...stamps(),
  ],
  entities: (vectorType) => [
    col('id', 'VARCHAR(255)'),
    col('workspace', 'VARCHAR(255)'),
    col('entity_name', 'VARCHAR(512)'),
    col('content', 'TEXT'),
    col('content_vector', vectorType),
    ...stamps(),
    col('chunk_ids', 'VARCHAR(255)[] NULL'),
    col('file_path', 'TEXT NULL'),
  ],
  relationships: (vectorType) => [
    col('id', 'VARCHAR(255)'),
    col('workspace', 'VARCHAR(255)'),
    col('source_id', 'VARCHAR(512)'),
    col('target_id', 'VARCHAR(512)'),
    col('content', 'TEXT'),
    col('content_vector', vectorType),
    ...stamps(),
    col('chunk_ids', 'VARCHAR(255)[] NULL'),
    col('file_path', 'TEXT NULL'),
  ],
};

export function vectorTableDef(
  namespace: VectorNamespace,
  table: string,
  vectorType: string,
): TableDef {
  return {
    name: table,
    columns: VECTOR_COLUMNS[namespace](vectorType),
    key: { name: `${table}_pk`, columns: ['workspace', 'id'] },
    indexes: keyedIndexes(table),
  };
}

/**
 * ragspace's graph: one row per entity, one per unordered relation (source <= target by
 * code point: the "C" collation orders UTF-8 by code point), every LightRAG attribute a
 * column, anything else in `extra`, and `attr_types` holding the GraphML type of values
 * JSON cannot carry faithfully. Text is TEXT throughout (B19). `degree` is maintained by
 * every write, so popular labels and BFS ordering are index reads.
 */
export function entitiesTableDef(trigram: boolean): TableDef {
  const table = ENTITIES_TABLE;
  const indexes: IndexDef[] = [
    { name: `idx_${table}_name_lower`, definition: '(workspace, name_lower)' },
    { name: `idx_${table}_degree`, definition: '(workspace, degree DESC, name)' },
  ];
  if (trigram) {
    indexes.push({
      name: `idx_${table}_name_trgm`,
      definition: 'USING gin (name_lower gin_trgm_ops)',
    });
  }
  return {
    name: table,
    columns: [
      col('workspace', 'VARCHAR(255) NOT NULL'),
      col('name', 'TEXT COLLATE "C" NOT NULL'),
      col('name_lower', 'TEXT COLLATE "C" NOT NULL'),
      col('entity_id', 'TEXT'),
      col('entity_type', 'TEXT'),
      col('description', 'TEXT'),
      col('source_id', 'TEXT'),
      col('file_path', 'TEXT'),
      col('created_at', 'BIGINT'),
      col('truncate', 'TEXT'),
      ...graphTail(),
      col('degree', 'INTEGER NOT NULL DEFAULT 0'),
      col('updated_at', 'TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP'),
    ],
    key: { name: `${table}_pk`, columns: ['workspace', 'name'] },
    indexes,
  };
}

function graphTail(): ColumnDef[] {
  return [
    col('extra', "JSONB NOT NULL DEFAULT '{}'::jsonb"),
    col('attr_types', "JSONB NOT NULL DEFAULT '{}'::jsonb"),
  ];
}

export function relationsTableDef(): TableDef {
  const table = RELATIONS_TABLE;
  return {
    name: table,
    columns: [
      col('workspace', 'VARCHAR(255) NOT NULL'),
      col('source', 'TEXT COLLATE "C" NOT NULL'),
      col('target', 'TEXT COLLATE "C" NOT NULL'),
      col('weight', 'DOUBLE PRECISION'),
      col('description', 'TEXT'),
      col('keywords', 'TEXT'),
      col('source_id', 'TEXT'),
      col('file_path', 'TEXT'),
      col('created_at', 'BIGINT'),
      col('truncate', 'TEXT'),
      ...graphTail(),
      col('updated_at', 'TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP'),
    ],
    // The key's (workspace, source) prefix serves neighbour lookups by source.
    key: { name: `${table}_pk`, columns: ['workspace', 'source', 'target'] },
    // "<=", not "<": a self-loop (which networkx files can hold, though LightRAG never
    // makes one) is stored rather than refused, so a migrated graph keeps it.
    checks: [`CONSTRAINT ${table}_ordered CHECK (source <= target)`],
    indexes: [{ name: `idx_${table}_target`, definition: '(workspace, target)' }],
  };
}

/**
 * Workspaces ragspace has written, so one emptied by `clear()` still exists (as its
 * directory does on file storage), and the time of its last write, deletes included.
 * Workspaces written only by LightRAG are found by their rows instead.
 */
export function workspacesTableDef(): TableDef {
  return {
    name: WORKSPACES_TABLE,
    columns: [
      col('workspace', 'VARCHAR(255) NOT NULL'),
      col('created_at', 'TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP'),
      col('updated_at', 'TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP'),
    ],
    key: { name: `${WORKSPACES_TABLE}_pk`, columns: ['workspace'] },
    indexes: [],
  };
}

export function createTableSql(table: TableDef): string {
  const lines = table.columns.map((c) => `${c.name} ${c.type}`);
  lines.push(`CONSTRAINT ${table.key.name} PRIMARY KEY (${table.key.columns.join(', ')})`);
  lines.push(...(table.checks ?? []));
  return `CREATE TABLE IF NOT EXISTS ${table.name} (\n  ${lines.join(',\n  ')}\n)`;
}
