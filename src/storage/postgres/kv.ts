import type { KvNamespace } from '../types.ts';
import type { FieldSpec, RecordTable, StampStyle } from './records.ts';
import { KV_TABLES } from './tables.ts';

/**
 * LightRAG's key-value namespaces in its PostgreSQL tables, field by field as its
 * PGKVStorage maps them (lightrag-formats.md §3, §5). Where LightRAG's table has no column
 * for a JSON field: full_docs keeps it in the unused legacy `meta` column (under
 * "ragspace_extra", so nothing LightRAG wrote there is mistaken for it); the other tables
 * drop it, as LightRAG does, and each drop is reported as `field_not_stored`.
 */
const KV_STAMPS: StampStyle = {
  columns: ['create_time', 'update_time'],
  fields: ['create_time', 'update_time'],
  format: 'seconds',
  withId: true,
};

const text = (field: string, column = field, maxChars?: number): FieldSpec => ({
  field,
  column,
  kind: 'text',
  maxChars,
});
const int = (field: string): FieldSpec => ({ field, column: field, kind: 'int' });
const json = (field: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  field,
  column: field,
  kind: 'json',
  ...extra,
});

function table(
  namespace: Exclude<KvNamespace, 'doc_status'>,
  fields: FieldSpec[],
  idMaxChars = 255,
): RecordTable {
  return { store: namespace, table: KV_TABLES[namespace], idMaxChars, fields, stamps: KV_STAMPS };
}

const counted = (field: string) => [json(field), int('count')];

export const KV_SPECS: Record<Exclude<KvNamespace, 'doc_status'>, RecordTable> = {
  full_docs: {
    ...table('full_docs', [
      text('content'),
      text('file_path', 'doc_name', 1024),
      text('sidecar_location'),
      text('parse_format', 'parse_format', 32),
      text('content_hash'),
      text('process_options'),
      json('chunk_options'),
      text('parse_engine', 'parse_engine', 32),
    ]),
    spare: { column: 'meta', key: 'ragspace_extra' },
  },
  text_chunks: table('text_chunks', [
    int('tokens'),
    text('content'),
    int('chunk_order_index'),
    text('full_doc_id', 'full_doc_id', 256),
    text('file_path'),
    // JsonKVStorage always gives chunks an llm_cache_list; PostgreSQL defaults both
    // JSONB objects to {}, which reads back as "no heading / sidecar".
    json('llm_cache_list', { absent: '[]' }),
    json('heading', { absent: '{}', hideAbsent: true }),
    json('sidecar', { absent: '{}', hideAbsent: true }),
  ]),
  llm_response_cache: table('llm_response_cache', [
    { ...text('return', 'return_value'), nullable: true },
    { ...text('cache_type', 'cache_type', 32), absent: 'extract' },
    { ...text('chunk_id', 'chunk_id', 255), nullable: true },
    { ...text('original_prompt'), nullable: true },
    json('queryparam', { nullable: true }),
  ]),
  full_entities: table('full_entities', counted('entity_names')),
  full_relations: table('full_relations', counted('relation_pairs')),
  entity_chunks: table('entity_chunks', counted('chunk_ids'), 512),
  relation_chunks: table('relation_chunks', counted('chunk_ids'), 512),
};
