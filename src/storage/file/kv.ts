import { readJsonEntries } from '../../formats/json-stream.ts';
import {
  cleanJsonValue,
  noteId,
  writePrettyJsonObject,
  type CleanReport,
} from '../../formats/json-writer.ts';
import type { TextSink } from '../../formats/sink.ts';
import type { KvNamespace, KvRecord } from '../types.ts';
import { docStatusRecord, isDocStatus } from './doc-status.ts';
import { LayeredMap } from './layered-map.ts';

/**
 * One JSON key-value store (`kv_store_<namespace>.json`) in memory: id → record, in file
 * order (new ids go last, replaced ids keep their place, as a Python dict update does).
 * Records are replaced whole on upsert, as LightRAG's JsonKVStorage does, and stamped
 * with `_id`, `create_time` (kept from the record being replaced) and `update_time`.
 * Records are never changed in place, so clones share them; a clone costs what changed
 * since the last flatten (layered-map.ts), and knows what it added (for appending).
 */
export class KvStore {
  constructor(readonly records = LayeredMap.adopt<string, KvRecord>()) {}

  clone(): KvStore {
    return new KvStore(this.records.copy());
  }

  get size(): number {
    return this.records.size;
  }
}

export async function loadKv(path: string): Promise<KvStore> {
  const records = new Map<string, KvRecord>();
  // Values other than objects do not occur in LightRAG files; they are kept as read.
  for await (const entry of readJsonEntries(path)) records.set(entry.key, entry.value as KvRecord);
  return new KvStore(LayeredMap.adopt(records));
}

function seconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The record as LightRAG's JSON stores keep it; `now` in Unix seconds. */
export function stampRecord(
  namespace: KvNamespace,
  id: string,
  record: KvRecord,
  replaced: KvRecord | undefined,
  now: number,
): KvRecord {
  if (isDocStatus(namespace)) return docStatusRecord(record);
  const stamped: KvRecord = { ...record };
  if (namespace === 'text_chunks' && !('llm_cache_list' in stamped)) stamped.llm_cache_list = [];
  stamped.create_time = seconds(record.create_time) ?? seconds(replaced?.create_time) ?? now;
  stamped.update_time = now;
  stamped._id = id;
  return stamped;
}

/** Cleans text Python cannot encode; returns the same record when nothing needed it. */
export function cleanKvRecord(record: KvRecord, report: CleanReport): KvRecord {
  return cleanJsonValue(record, report) as KvRecord;
}

export async function writeKv(store: KvStore, sink: TextSink, report: CleanReport): Promise<void> {
  function* entries(): Generator<[string, unknown]> {
    for (const [id, record] of store.records) {
      yield [noteId(id, report), cleanJsonValue(record, report)];
    }
  }
  await writePrettyJsonObject(entries(), sink);
}
