import type { TextSink } from './sink.ts';

/**
 * Writes JSON the way LightRAG's Python writers do, so files stay byte-compatible:
 * key-value stores as `json.dump(obj, indent=2, ensure_ascii=False)` (the layout of
 * `JSON.stringify(obj, null, 2)`, no trailing newline) and nano-vectordb rows with
 * Python's default separators `", "` and `": "`. Text is raw UTF-8.
 *
 * Known differences from Python, both harmless to LightRAG's loader: a float with an
 * integral value (read as `1.0`) is written `1`, and NaN or infinities become `null`
 * (JavaScript's JSON cannot carry them, and Python's `NaN` would not load here again).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const FLUSH_CHARS = 256 * 1024;

/** Counts what cleaning removed, so the caller can log it (never the text itself). */
export interface CleanReport {
  strippedSurrogates: number;
  /** Record ids holding lone surrogates, written escaped (`\udXXX`) and not changed. */
  keptSurrogateIds: number;
}

export function newCleanReport(): CleanReport {
  return { strippedSurrogates: 0, keptSurrogateIds: 0 };
}

/**
 * Ids are never changed, even to remove a lone surrogate: JSON.stringify writes it as an
 * escape, which Python loads back as the same string (LightRAG itself then strips it
 * when it next saves the store).
 */
export function noteId(id: string, report: CleanReport): string {
  if (!id.isWellFormed()) report.keptSurrogateIds++;
  return id;
}

/**
 * Removes lone UTF-16 surrogates: Python cannot encode them as UTF-8, and LightRAG strips
 * them before writing too (issue B05). Returns the same string when it is clean.
 */
export function stripLoneSurrogates(text: string, report?: CleanReport): string {
  if (text.isWellFormed()) return text;
  const cleaned = text.replace(LONE_SURROGATE, '');
  if (report) report.strippedSurrogates += text.length - cleaned.length;
  return cleaned;
}

/** A copy of `value` without lone surrogates in any string or key; the same value if clean. */
export function cleanJsonValue(value: unknown, report?: CleanReport): unknown {
  if (typeof value === 'string') return stripLoneSurrogates(value, report);
  if (Array.isArray(value)) return cleanArray(value, report);
  if (value !== null && typeof value === 'object') {
    return cleanObject(value as Record<string, unknown>, report);
  }
  return value;
}

function cleanArray(items: unknown[], report?: CleanReport): unknown[] {
  let copy: unknown[] | undefined;
  items.forEach((item, i) => {
    const cleaned = cleanJsonValue(item, report);
    if (cleaned !== item) (copy ??= [...items])[i] = cleaned;
  });
  return copy ?? items;
}

function cleanObject(
  record: Record<string, unknown>,
  report?: CleanReport,
): Record<string, unknown> {
  let changed = false;
  const entries = Object.entries(record).map(([key, item]): [string, unknown] => {
    const cleanKey = stripLoneSurrogates(key, report);
    const cleanItem = cleanJsonValue(item, report);
    if (cleanKey !== key || cleanItem !== item) changed = true;
    return [cleanKey, cleanItem];
  });
  return changed ? Object.fromEntries(entries) : record;
}

/** One member of a pretty-printed top-level object, already indented for its depth. */
function prettyMember(key: string, value: unknown): string {
  const text = JSON.stringify(value, null, 2) ?? 'null';
  return `  ${JSON.stringify(key)}: ${text.replace(/\n/g, '\n  ')}`;
}

/** Streams `members` with `lead` before the first, in large pieces; returns the rest. */
async function writeMembers(
  entries: Iterable<[string, unknown]>,
  sink: TextSink,
  lead: string,
): Promise<{ first: boolean; pending: string }> {
  let pending = '';
  let first = true;
  for (const [key, value] of entries) {
    pending += (first ? lead : ',\n') + prettyMember(key, value);
    first = false;
    if (pending.length >= FLUSH_CHARS) {
      await sink.write(pending);
      pending = '';
    }
  }
  return { first, pending };
}

/**
 * Streams `{ key: value, ... }` in Python's indent=2 layout. Values must already be clean
 * (see `cleanJsonValue`); keys and values are written as given, in the given order.
 */
export async function writePrettyJsonObject(
  entries: Iterable<[string, unknown]>,
  sink: TextSink,
): Promise<void> {
  const { first, pending } = await writeMembers(entries, sink, '{\n');
  await sink.write(first ? '{}' : pending + '\n}');
}

/**
 * Streams more members of a non-empty object written by `writePrettyJsonObject` (or
 * Python's indent=2), for text cut just before its closing "\n}": each member, then the
 * closing. Appending this way gives the bytes a rewrite of the whole object would.
 */
export async function writePrettyJsonTail(
  entries: Iterable<[string, unknown]>,
  sink: TextSink,
): Promise<void> {
  const { pending } = await writeMembers(entries, sink, ',\n');
  await sink.write(pending + '\n}');
}

/** JSON with Python's default separators (`json.dumps` without indent). */
export function pythonCompactJson(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(pythonCompactJson).join(', ') + ']';
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => `${JSON.stringify(key)}: ${pythonCompactJson(item)}`);
    return '{' + members.join(', ') + '}';
  }
  return JSON.stringify(value) ?? 'null';
}
