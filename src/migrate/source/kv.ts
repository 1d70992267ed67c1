import { readJsonEntries } from '../../formats/json-stream.ts';

/**
 * Key-value stores (`kv_store_<namespace>.json`, doc status included) as a stream of
 * (id, record) pairs, one top-level member parsed at a time.
 *
 * The LLM cache has two layouts. LightRAG ≥ 1.4 writes flat keys `mode:cache_type:hash`;
 * older files nest `{mode: {hash: record}}`, which LightRAG flattens on load to
 * `mode:<record.cache_type or "extract">:hash`. The first key decides, as in LightRAG: three
 * colon-separated parts mean flat. A nested mode's records arrive as one parsed value, so
 * memory for that (old, small) layout follows the largest mode, not a single record.
 */
export interface KvEntry {
  id: string;
  value: unknown;
  /** Byte offset of the record in the file (of the mode, for a nested cache). */
  offset: number;
  /** The key as it stands in the file, when flattening changed it. */
  fileKey?: string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function isFlatCacheKey(key: string): boolean {
  return key.split(':').length === 3;
}

function* flattenMode(mode: string, value: unknown, offset: number): Generator<KvEntry> {
  if (!isObject(value)) {
    yield { id: mode, value, offset };
    return;
  }
  for (const [hash, record] of Object.entries(value)) {
    const cacheType =
      isObject(record) && typeof record.cache_type === 'string' ? record.cache_type : 'extract';
    const id = `${mode}:${cacheType}:${hash}`;
    yield { id, value: record, offset, fileKey: `${mode} / ${hash}` };
  }
}

export async function* readKvEntries(path: string, llmCache: boolean): AsyncGenerator<KvEntry> {
  let nested: boolean | undefined;
  for await (const entry of readJsonEntries(path)) {
    nested ??= llmCache && !isFlatCacheKey(entry.key);
    if (nested) yield* flattenMode(entry.key, entry.value, entry.offset);
    else yield { id: entry.key, value: entry.value, offset: entry.offset };
  }
}

/** Whether an LLM cache file uses the old nested layout (decided by its first key). */
export async function isNestedCache(path: string): Promise<boolean> {
  for await (const entry of readJsonEntries(path)) return !isFlatCacheKey(entry.key);
  return false;
}
