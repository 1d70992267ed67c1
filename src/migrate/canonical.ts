/**
 * The canonical form both sides of a comparison are reduced to: a record as LightRAG's
 * file would hold it after the trip through PostgreSQL (the text policy applied, fields the
 * table cannot keep left out, defaults filled in as the backend fills them), written as
 * JSON with sorted keys. Numbers JSON cannot hold (NaN, ±Infinity, -0) and vectors get
 * tagged forms, so every value has exactly one text.
 */
export type Canonical = Record<string, unknown>;

export interface CanonicalRecord {
  /** What buckets and matches the record: its id (relations: both endpoints). */
  key: string;
  /** How a person names it in a report. */
  label: string;
  fields: Canonical;
}

function numberText(value: number): string {
  if (Number.isFinite(value) && !Object.is(value, -0)) return JSON.stringify(value);
  return `{"$number":"${Object.is(value, -0) ? '-0' : String(value)}"}`;
}

function vectorText(vector: Float32Array): string {
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  return `{"$float32":"${bytes.toString('base64')}"}`;
}

/** JSON with object keys sorted by UTF-16 order at every depth. */
export function stableJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Float32Array) return vectorText(value);
  if (Array.isArray(value)) return arrayText(value);
  return objectText(value as Record<string, unknown>);
}

/**
 * The text a record's digest is taken of. A flat record (every value a string, a boolean
 * or a finite number other than -0: every graph record) is written as its sorted keys and
 * values, each text prefixed by its length and each value by its type, which is
 * unambiguous without escaping anything: three times cheaper than JSON for millions of
 * records. Any other record is written as `stableJson`. The two forms never meet: one
 * starts with U+0001, the other with "{". Both sides of a comparison digest through here.
 */
export function canonicalText(fields: Canonical): string {
  let text = '\u0001';
  for (const key of sortedKeys(fields)) {
    const value = fields[key];
    if (value === undefined) continue;
    text += key.length + ':' + key;
    if (typeof value === 'string') text += 's' + value.length + ':' + value;
    else if (typeof value === 'boolean') text += value ? 't' : 'f';
    // A number's text never holds ";"; non-finite numbers and -0 take stableJson's tags.
    else if (typeof value === 'number' && Number.isFinite(value) && !Object.is(value, -0)) {
      text += 'n' + value + ';';
    } else return stableJson(fields);
  }
  return text;
}

/**
 * The keys of `fields` in sorted order. Records of one store nearly always list the same
 * keys in the same order (and the same key strings), so the last order found is kept and
 * reused when the keys match it: sorting millions of small key lists cost more than the
 * JSON that follows.
 */
let lastKeys: string[] = [];
let lastSorted: string[] = [];

function sortedKeys(fields: Canonical): string[] {
  const keys = Object.keys(fields);
  if (keys.length === lastKeys.length && keys.every((key, i) => key === lastKeys[i])) {
    return lastSorted;
  }
  lastKeys = keys;
  lastSorted = [...keys].sort();
  return lastSorted;
}

function arrayText(items: unknown[]): string {
  let text = '[';
  for (let i = 0; i < items.length; i++) text += (i ? ',' : '') + stableJson(items[i]);
  return text + ']';
}

// Millions of records pass through here: plain loops, no intermediate arrays.
function objectText(record: Record<string, unknown>): string {
  const keys = Object.keys(record).sort();
  let text = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    text += (text.length > 1 ? ',' : '') + JSON.stringify(key) + ':' + stableJson(item);
  }
  return text + '}';
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * An ISO-8601 time as UTC with microseconds, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or undefined
 * when it is not one. A time without offset is taken as UTC, as LightRAG takes it.
 * Digits past microseconds are rounded, as PostgreSQL's TIMESTAMP rounds them.
 */
export function utcMicros(text: string): string | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const micros = Math.round(Number('0.' + (m[7] ?? '0')) * 1e6);
  const offset = offsetMinutes(m[8]);
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  if (Number.isNaN(ms)) return undefined;
  const shifted = new Date(ms - offset * 60_000 + Math.floor(micros / 1e6) * 1000);
  const fraction = String(micros % 1_000_000).padStart(6, '0');
  return shifted.toISOString().slice(0, 19) + '.' + fraction + 'Z';
}

function offsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
}

/** `utcMicros` as PostgreSQL's naive TIMESTAMP text input ("YYYY-MM-DD HH:MM:SS.ffffff"). */
export function naiveUtc(text: string): string | undefined {
  const utc = utcMicros(text);
  return utc === undefined ? undefined : utc.slice(0, 26).replace('T', ' ');
}

/** Unix seconds as PostgreSQL's naive UTC TIMESTAMP text. */
export function secondsToNaiveUtc(seconds: number): string {
  return new Date(Math.round(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}
