import type pg from 'pg';
import type { FieldSpec, RecordTable } from './records.ts';
import { DOC_STATUS_TABLE } from './tables.ts';

/**
 * LightRAG's doc status in LIGHTRAG_DOC_STATUS, stored as given: a field the record lacks
 * is NULL and stays missing on read (LightRAG's own rows always carry them). Timestamps
 * are ISO-8601 text in records and naive UTC in the table, read back as LightRAG does
 * (`isoformat()` + "+00:00"); a missing `chunks_count` is stored as -1, as LightRAG does,
 * and read back as missing. Fields without a column (e.g. the legacy `content`) are not
 * stored and are reported.
 */
const field = (name: string, kind: FieldSpec['kind'], extra: Partial<FieldSpec> = {}) => ({
  field: name,
  column: name,
  kind,
  ...extra,
});

export const DOC_STATUS_SPEC: RecordTable = {
  store: 'doc_status',
  table: DOC_STATUS_TABLE,
  idMaxChars: 255,
  fields: [
    field('status', 'text', { maxChars: 64 }),
    field('content_summary', 'text', { maxChars: 255 }),
    field('content_length', 'int'),
    field('chunks_count', 'int', { absent: -1, hideAbsent: true }),
    field('file_path', 'text'),
    field('chunks_list', 'json'),
    field('track_id', 'text', { maxChars: 255 }),
    field('metadata', 'json'),
    field('error_msg', 'text'),
    field('content_hash', 'text'),
  ],
  stamps: {
    columns: ['created_at', 'updated_at'],
    fields: ['created_at', 'updated_at'],
    format: 'iso',
    withId: false,
  },
};

/** The statuses LightRAG writes; anything else is counted under "other". */
export const KNOWN_STATUSES = [
  'pending',
  'parsing',
  'analyzing',
  'processing',
  'processed',
  'failed',
  'preprocessed',
];

export async function documentStatuses(
  client: pg.ClientBase,
  ws: string,
): Promise<Record<string, number>> {
  const result = await client.query(
    `SELECT status, count(*) AS n FROM ${DOC_STATUS_TABLE} WHERE workspace = $1 GROUP BY status`,
    [ws],
  );
  const counts: Record<string, number> = {};
  for (const row of result.rows) {
    const key = KNOWN_STATUSES.includes(row.status) ? (row.status as string) : 'other';
    counts[key] = (counts[key] ?? 0) + (row.n as number);
  }
  return counts;
}
