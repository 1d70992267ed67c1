import type { FieldSpec, RecordTable } from '../../storage/postgres/records.ts';
import type { TextPolicy } from '../../storage/postgres/text.ts';
import type { KvRecord } from '../../storage/types.ts';
import { utcMicros, type Canonical } from '../canonical.ts';
import type { Findings } from '../findings.ts';

/**
 * Key-value and doc-status records against the backend's field specs (records.ts): the
 * checks its encoder would fail on, made before anything is written, and the canonical
 * form of a record after the trip encode -> row -> decode, so a file record and the row
 * read back compare equal exactly when the row holds what the file held.
 */
const INT4_MAX = 2147483647;

/** Length in characters as PostgreSQL counts them (code points, not UTF-16 units). */
export function codePoints(value: string): number {
  let n = value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) n--;
    }
  }
  return n;
}

function absentValue(field: FieldSpec): unknown {
  const absent = field.absent;
  if (absent === undefined) return null;
  return field.kind === 'json' && typeof absent === 'string' ? JSON.parse(absent) : absent;
}

function sameAsAbsent(field: FieldSpec, value: unknown): boolean {
  const absent = field.absent;
  const text = typeof absent === 'string' ? absent : JSON.stringify(absent);
  return JSON.stringify(value) === text;
}

/** What decodeRecord gives back for a stored value; undefined = the field is left out. */
function decoded(field: FieldSpec, stored: unknown): unknown {
  if (stored === null || stored === undefined) return field.nullable ? null : undefined;
  if (field.hideAbsent && sameAsAbsent(field, stored)) return undefined;
  return stored;
}

interface Context {
  spec: RecordTable;
  id: string;
  policy: TextPolicy;
  findings: Findings | undefined;
}

function fail(ctx: Context, field: string, code: string, message: string): void {
  const { spec, id } = ctx;
  ctx.findings?.add({ severity: 'error', store: spec.store, code, record: id, field, message });
}

function checkedValue(ctx: Context, field: FieldSpec, value: unknown): unknown {
  const { spec, id, policy } = ctx;
  if (value === undefined) return absentValue(field);
  if (value === null) return null;
  if (field.kind === 'json') return policy.json(value, spec.store, id, field.field);
  if (field.kind === 'int') {
    if (Number.isSafeInteger(value) && Math.abs(value as number) <= INT4_MAX) return value;
    fail(ctx, field.field, 'not_integer', `must be a whole number that fits INT4`);
    return value;
  }
  if (typeof value !== 'string') {
    fail(ctx, field.field, 'not_text', `must be text (is ${typeof value})`);
    return value;
  }
  return checkedText(ctx, field, policy.text(value, spec.store, id, field.field));
}

function checkedText(ctx: Context, field: FieldSpec, text: string): string {
  if (field.maxChars !== undefined && text.length > field.maxChars) {
    const length = codePoints(text);
    if (length > field.maxChars) {
      const where = `${ctx.spec.table}.${field.column}`;
      fail(ctx, field.field, 'too_long', `${length} characters; ${where} holds ${field.maxChars}`);
    }
  }
  return text;
}

function checkId(ctx: Context): void {
  const { spec, id, policy } = ctx;
  try {
    policy.id(id, spec.table);
  } catch {
    fail(ctx, 'id', 'bad_id', 'the id holds a NUL or a lone surrogate; ids are never altered');
    return;
  }
  if (id.length > spec.idMaxChars && codePoints(id) > spec.idMaxChars) {
    fail(ctx, 'id', 'too_long', `the id is longer than ${spec.idMaxChars} characters`);
  }
}

function isReserved(spec: RecordTable, key: string): boolean {
  return (spec.stamps.withId && key === '_id') || spec.stamps.fields.includes(key);
}

function spareFields(ctx: Context, record: KvRecord, out: Canonical): void {
  const { spec, id, policy } = ctx;
  const known = new Set(spec.fields.map((f) => f.field));
  for (const [key, value] of Object.entries(record)) {
    if (known.has(key) || isReserved(spec, key)) continue;
    if (spec.spare)
      out[policy.text(key, spec.store, id, key)] = policy.json(value, spec.store, id, key);
    else policy.dropped(spec.store, id, key);
  }
}

function secondsStamp(ctx: Context, name: string, value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (!Number.isInteger(value)) rounded(ctx, name);
    return Math.round(value);
  }
  fail(ctx, name, 'bad_time', `must be Unix seconds (is ${JSON.stringify(value)})`);
  return 0;
}

/** LightRAG's tables keep these times to the second (and read them back as whole seconds). */
function rounded(ctx: Context, name: string): void {
  const { spec, id } = ctx;
  const message = 'a fractional Unix time; kept to the whole second, as the table holds it';
  ctx.findings?.add({
    severity: 'warning',
    store: spec.store,
    code: 'time_rounded',
    record: id,
    field: name,
    message,
  });
}

/** Doc-status times: stored as given (a missing one stays missing), compared in UTC. */
function isoStamp(ctx: Context, name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const utc = typeof value === 'string' ? utcMicros(value) : undefined;
  if (utc !== undefined) return utc;
  fail(ctx, name, 'bad_time', `must be an ISO-8601 time (is ${JSON.stringify(value)})`);
  return String(value);
}

function stamps(ctx: Context, record: KvRecord, out: Canonical): void {
  const [created, updated] = ctx.spec.stamps.fields;
  if (ctx.spec.stamps.format === 'iso') {
    const c = isoStamp(ctx, created, record[created]);
    const u = isoStamp(ctx, updated, record[updated]);
    if (c !== undefined) out[created] = c;
    if (u !== undefined) out[updated] = u;
    return;
  }
  const c = secondsStamp(ctx, created, record[created]);
  const u = secondsStamp(ctx, updated, record[updated]);
  out[created] = c;
  out[updated] = u === 0 ? c : u;
}

/**
 * Checks a file record (findings go to `findings`; text-policy notices to `policy`) and
 * returns its canonical form as it will read back from PostgreSQL.
 */
export function canonicalKv(
  spec: RecordTable,
  id: string,
  value: unknown,
  policy: TextPolicy,
  findings?: Findings,
): Canonical {
  const ctx: Context = { spec, id, policy, findings };
  checkId(ctx);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(ctx, '', 'not_object', 'the record is not a JSON object');
    return { $invalid: stableValue(value) };
  }
  const record = value as KvRecord;
  const out: Canonical = {};
  for (const field of spec.fields) {
    const stored = checkedValue(ctx, field, record[field.field]);
    const back = decoded(field, stored);
    if (back !== undefined) out[field.field] = back;
  }
  spareFields(ctx, record, out);
  stamps(ctx, record, out);
  return out;
}

function stableValue(value: unknown): string {
  return JSON.stringify(value) ?? 'undefined';
}

/** The canonical form of a record read back by the backend's `decodeRecord`. */
export function canonicalKvRow(spec: RecordTable, record: KvRecord): Canonical {
  const out: Canonical = {};
  for (const [key, value] of Object.entries(record)) {
    if (spec.stamps.withId && key === '_id') continue;
    if (spec.stamps.fields.includes(key)) continue;
    if (value !== undefined) out[key] = value;
  }
  const [created, updated] = spec.stamps.fields;
  if (spec.stamps.format === 'iso') {
    for (const name of [created, updated]) {
      if (typeof record[name] === 'string') out[name] = utcMicros(record[name]) ?? record[name];
    }
  } else {
    out[created] = Math.round(Number(record[created] ?? 0));
    out[updated] = Math.round(Number(record[updated] ?? 0));
  }
  return out;
}

/**
 * The record as it is handed to the backend's upsert. A key-value record without a
 * creation time gets the epoch (0, which is how LightRAG reads a missing one) rather than
 * the backend's "now", which no later comparison could predict.
 */
export function recordForWrite(spec: RecordTable, record: KvRecord): KvRecord {
  const [created] = spec.stamps.fields;
  if (spec.stamps.format === 'iso' || record[created] != null) return record;
  return { ...record, [created]: 0 };
}

/** The update time the file gives a key-value record (Unix seconds; 0 when missing). */
export function fileUpdateTime(spec: RecordTable, record: KvRecord): number {
  const value = record[spec.stamps.fields[1]];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
