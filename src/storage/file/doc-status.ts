import type { KvNamespace, KvRecord } from '../types.ts';

/**
 * Document status is the key-value namespace `doc_status`, kept in
 * `kv_store_doc_status.json` by LightRAG's JsonDocStatusStorage. Unlike the other JSON
 * stores it adds no `_id`, `create_time` or `update_time` (its records carry their own
 * ISO `created_at`/`updated_at`), so a record is stored exactly as given, minus those
 * three fields if a caller copied them from another store. Unknown fields and statuses
 * are kept as they are (issue B23): only LightRAG decides what they mean.
 */
export const DOC_STATUS_NAMESPACE: KvNamespace = 'doc_status';

const KV_STAMPS = ['_id', 'create_time', 'update_time'];

export function isDocStatus(namespace: KvNamespace): boolean {
  return namespace === DOC_STATUS_NAMESPACE;
}

export function docStatusRecord(record: KvRecord): KvRecord {
  if (!KV_STAMPS.some((field) => field in record)) return { ...record };
  return Object.fromEntries(Object.entries(record).filter(([key]) => !KV_STAMPS.includes(key)));
}
