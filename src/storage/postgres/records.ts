import { postgresErrors } from '../../errors.ts';
import { silentLogger } from '../../log.ts';
import type { KvRecord } from '../types.ts';
import { COPY_MIN_ROWS, copyIntoEmpty, stageRows, type CopyColumn } from './copy.ts';
import type { Session } from './session.ts';
import { executeBatches, valuesList, type SqlValue } from './sql.ts';
import { isStorableText, TextPolicy } from './text.ts';

/**
 * Key-value records <-> LightRAG's tables, driven by a per-table field list (kv.ts,
 * doc-status.ts). A record field maps to one column; values are checked against the
 * column (text, whole number, JSON; VARCHAR limits) and refused with the record and field
 * named rather than truncated or converted. Fields the table has no column for go to the
 * table's spare JSONB column where LightRAG has one, else are reported as not stored
 * (exactly what LightRAG's own PostgreSQL backend drops).
 */
export type FieldKind = 'text' | 'int' | 'json';

export interface FieldSpec {
  field: string;
  column: string;
  kind: FieldKind;
  /** VARCHAR(n) of LightRAG's schema: longer values are refused, never cut. */
  maxChars?: number;
  /** Stored when the record lacks the field, as LightRAG does (e.g. `[]`, `-1`). */
  absent?: SqlValue;
  /** Read back as null when NULL (fields LightRAG always writes); otherwise left out. */
  nullable?: boolean;
  /** Left out on read when the stored value is `absent` (it stood for "no field"). */
  hideAbsent?: boolean;
}

export interface RecordTable {
  store: string;
  table: string;
  idMaxChars: number;
  fields: FieldSpec[];
  /** A JSONB column and key that keep fields without a column (full_docs' `meta`). */
  spare?: { column: string; key: string };
  stamps: StampStyle;
}

/** How a table keeps its two timestamps, and how records carry them. */
export interface StampStyle {
  columns: [string, string];
  /** Record keys for the two timestamps. */
  fields: [string, string];
  /** Unix seconds (KV stores) or ISO-8601 text (doc status). */
  format: 'seconds' | 'iso';
  /** KV records carry `_id` too. */
  withId: boolean;
}

const INT4_MAX = 2147483647;

/** Length in code points, as PostgreSQL counts VARCHAR characters. */
export function characters(value: string): number {
  return value.length - (value.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0);
}

function reject(session: Session, spec: RecordTable, id: string, field: string, why: string) {
  return postgresErrors.valueRejected(session.name, spec.table, id, field, why);
}

function checkLength(session: Session, spec: RecordTable, id: string, field: FieldSpec, v: string) {
  if (field.maxChars === undefined || v.length <= field.maxChars) return;
  const length = characters(v);
  if (length > field.maxChars) {
    const why = `is ${length} characters long; LightRAG's column holds at most ${field.maxChars}`;
    throw reject(session, spec, id, field.field, why);
  }
}

function encodeField(
  session: Session,
  spec: RecordTable,
  id: string,
  field: FieldSpec,
  value: unknown,
): SqlValue {
  if (value === undefined) return field.absent ?? null;
  if (value === null) return null;
  if (field.kind === 'json') return session.policy.jsonText(value, spec.store, id, field.field);
  if (field.kind === 'int') {
    if (Number.isSafeInteger(value) && Math.abs(value as number) <= INT4_MAX)
      return value as number;
    throw reject(session, spec, id, field.field, `must be a whole number (got ${String(value)})`);
  }
  if (typeof value !== 'string') {
    throw reject(session, spec, id, field.field, `must be text (got ${typeof value})`);
  }
  const text = session.policy.text(value, spec.store, id, field.field);
  checkLength(session, spec, id, field, text);
  return text;
}

function stampValue(
  session: Session,
  spec: RecordTable,
  id: string,
  index: 0 | 1,
  value: unknown,
  now: Date,
): SqlValue {
  const { format, fields } = spec.stamps;
  if (format === 'seconds') {
    // As JsonKVStorage: update_time is always now; create_time is kept when given.
    if (index === 1 || value === undefined || value === null)
      return Math.floor(now.getTime() / 1000);
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  } else {
    // Doc status is stored as given: no time is made up for a record that has none.
    if (value === undefined || value === null) return null;
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return value;
  }
  const expected = format === 'seconds' ? 'Unix seconds' : 'an ISO-8601 time';
  throw reject(session, spec, id, fields[index], `must be ${expected} (got ${String(value)})`);
}

function isReserved(spec: RecordTable, key: string): boolean {
  return (spec.stamps.withId && key === '_id') || spec.stamps.fields.includes(key);
}

const knownFields = new WeakMap<RecordTable, Set<string>>();

function fieldsOf(spec: RecordTable): Set<string> {
  let known = knownFields.get(spec);
  if (!known) knownFields.set(spec, (known = new Set(spec.fields.map((f) => f.field))));
  return known;
}

function spareFields(session: Session, spec: RecordTable, id: string, record: KvRecord) {
  const known = fieldsOf(spec);
  const spare: Record<string, unknown> = {};
  for (const key in record) {
    if (known.has(key) || isReserved(spec, key) || !Object.hasOwn(record, key)) continue;
    if (spec.spare) spare[key] = session.policy.json(record[key], spec.store, id, key);
    else session.policy.dropped(spec.store, id, key);
  }
  if (!spec.spare || Object.keys(spare).length === 0) return [];
  return [JSON.stringify({ [spec.spare.key]: spare })];
}

function encodeRecord(
  session: Session,
  spec: RecordTable,
  id: string,
  record: KvRecord,
  now: Date,
): SqlValue[] {
  session.policy.id(id, spec.table);
  if (id.length > spec.idMaxChars && characters(id) > spec.idMaxChars) {
    throw reject(session, spec, id, 'id', `is longer than ${spec.idMaxChars} characters`);
  }
  const values = spec.fields.map((f) => encodeField(session, spec, id, f, record[f.field]));
  const spare = spareFields(session, spec, id, record);
  if (spec.spare) values.push(spare[0] ?? null);
  const [created, updated] = spec.stamps.fields;
  values.push(stampValue(session, spec, id, 0, record[created], now));
  values.push(stampValue(session, spec, id, 1, record[updated], now));
  return [id, ...values];
}

function storedColumns(spec: RecordTable): string[] {
  const columns = spec.fields.map((f) => f.column);
  if (spec.spare) columns.push(spec.spare.column);
  return ['id', ...columns, ...spec.stamps.columns];
}

function conflictClause(spec: RecordTable, keepCreated: boolean): string {
  const [created, updated] = spec.stamps.columns;
  const sets = storedColumns(spec)
    .slice(1, -2)
    .map((c) => `${c} = EXCLUDED.${c}`);
  sets.push(`${created} = ${keepCreated ? 't' : 'EXCLUDED'}.${created}`);
  sets.push(`${updated} = EXCLUDED.${updated}`);
  return `ON CONFLICT (workspace, id) DO UPDATE SET ${sets.join(', ')}`;
}

function upsertStatement(spec: RecordTable, keepCreated: boolean): (n: number) => string {
  const names = storedColumns(spec);
  const stamp =
    spec.stamps.format === 'seconds'
      ? "timezone('UTC', to_timestamp(?::double precision))"
      : "timezone('UTC', ?::timestamptz)";
  const wrap = names.map((_, i) => (i >= names.length - 2 ? stamp : undefined));
  const conflict = conflictClause(spec, keepCreated);
  return (n) =>
    `INSERT INTO ${spec.table} AS t (workspace, ${names.join(', ')}) VALUES ` +
    valuesList(n, names.length, 2, { prefix: ['$1'], wrap }) +
    ` ${conflict}`;
}

/** The stored columns with what their values are, for COPY (stamps are Unix seconds). */
function copyColumns(spec: RecordTable): CopyColumn[] {
  const columns: CopyColumn[] = [{ name: 'id', kind: 'text' }];
  for (const field of spec.fields) columns.push({ name: field.column, kind: field.kind });
  if (spec.spare) columns.push({ name: spec.spare.column, kind: 'json' });
  for (const name of spec.stamps.columns) columns.push({ name, kind: 'stamp' });
  return columns;
}

/** The COPY path (real server, thousands of rows): staging table, then one merge. */
async function copyUpsert(session: Session, spec: RecordTable, rows: Rows, keep: boolean) {
  const names = storedColumns(spec);
  const columns = copyColumns(spec);
  if (await copyIntoEmpty(session.client, spec.table, session.ws, columns, rows)) return;
  const stage = await stageRows(session.client, spec.table, session.ws, columns, rows);
  const select = names.map((n) => `v.${n}`).join(', ');
  await session.client.query(
    `INSERT INTO ${spec.table} AS t (workspace, ${names.join(', ')})
     SELECT $1::text, ${select} FROM ${stage} v ${conflictClause(spec, keep)}`,
    [session.ws],
  );
}

type Rows = () => Iterable<SqlValue[]>;

/**
 * The group's rows, encoded as they are read (on the COPY path, while the server stores
 * the previous chunk) and not kept. A second read (copy.ts redoes a COPY that collided)
 * encodes again under a policy that reports nothing, so no notice comes twice.
 */
function groupRows(session: Session, spec: RecordTable, group: Group): Rows {
  let reads = 0;
  return () => {
    if (reads++ === 0) return encodeGroup(session, spec, group);
    const quiet = new TextPolicy(session.name, silentLogger);
    return encodeGroup({ ...session, policy: quiet }, spec, group);
  };
}

async function upsertGroup(session: Session, spec: RecordTable, group: Group, keep: boolean) {
  if (group.ids.length === 0) return;
  const rows = groupRows(session, spec, group);
  // Doc-status times carry their own offsets, so they keep the path that converts them.
  const bulk = spec.stamps.format === 'seconds' && group.ids.length >= COPY_MIN_ROWS;
  if (session.canCopy && bulk) return copyUpsert(session, spec, rows, keep);
  await executeBatches(session.client, [...rows()], [session.ws], upsertStatement(spec, keep));
}

interface Group {
  records: Map<string, KvRecord>;
  ids: string[];
  now: Date;
}

function* encodeGroup(session: Session, spec: RecordTable, group: Group) {
  for (const id of group.ids) {
    yield encodeRecord(session, spec, id, group.records.get(id)!, group.now);
  }
}

/**
 * Replaces the records (a record's stored fields are those given, as in LightRAG's JSON
 * stores); a KV record without a creation time keeps the stored one. A record refused
 * by its checks fails the write, which rolls back whatever was sent before it.
 */
export async function upsertRecords(
  session: Session,
  spec: RecordTable,
  records: Map<string, KvRecord>,
): Promise<void> {
  const now = new Date();
  const given: Group = { records, ids: [], now };
  const kept: Group = { records, ids: [], now };
  for (const [id, record] of records) {
    const hasCreated = spec.stamps.format === 'iso' || record[spec.stamps.fields[0]] != null;
    (hasCreated ? given : kept).ids.push(id);
  }
  await upsertGroup(session, spec, given, false);
  await upsertGroup(session, spec, kept, true);
}

function storableIds(ids: string[]): string[] {
  return [...new Set(ids)].filter(isStorableText);
}

export async function deleteRecords(session: Session, spec: RecordTable, ids: string[]) {
  await session.client.query(`DELETE FROM ${spec.table} WHERE workspace = $1 AND id = ANY($2)`, [
    session.ws,
    storableIds(ids),
  ]);
}

function selectList(spec: RecordTable): string {
  const columns = ['id', ...spec.fields.map((f) => f.column)];
  if (spec.spare) columns.push(spec.spare.column);
  const [created, updated] = spec.stamps.columns;
  if (spec.stamps.format === 'seconds') {
    columns.push(`EXTRACT(EPOCH FROM ${created})::bigint AS ${created}`);
    columns.push(`EXTRACT(EPOCH FROM ${updated})::bigint AS ${updated}`);
  } else {
    columns.push(created, updated);
  }
  return columns.join(', ');
}

export async function getRecords(
  session: Session,
  spec: RecordTable,
  ids: string[],
): Promise<Map<string, KvRecord>> {
  const result = await session.client.query(
    `SELECT ${selectList(spec)} FROM ${spec.table} WHERE workspace = $1 AND id = ANY($2)`,
    [session.ws, storableIds(ids)],
  );
  return new Map(result.rows.map((row) => [row.id as string, decodeRecord(spec, row)]));
}

/**
 * A NULL column cannot say whether the record had the field set to null or lacked it:
 * it reads back as missing, except for the fields LightRAG always writes (`nullable`).
 * Shortcoming, kept on purpose: `{"error_msg": null}` comes back without error_msg.
 */
function decodeField(field: FieldSpec, value: unknown): { keep: boolean; value?: unknown } {
  if (value === null || value === undefined) return { keep: field.nullable === true, value: null };
  if (field.hideAbsent && JSON.stringify(value) === stringifyAbsent(field.absent)) {
    return { keep: false };
  }
  return { keep: true, value };
}

function stringifyAbsent(absent: SqlValue | undefined): string {
  return typeof absent === 'string' ? absent : JSON.stringify(absent);
}

/**
 * LightRAG's JSON shape again: its field names, the spare fields, and the timestamps as
 * the JSON stores hold them (Unix seconds with `_id`; ISO text with "+00:00").
 */
export function decodeRecord(spec: RecordTable, row: Record<string, unknown>): KvRecord {
  const record: KvRecord = {};
  for (const field of spec.fields) {
    const decoded = decodeField(field, row[field.column]);
    if (decoded.keep) record[field.field] = decoded.value;
  }
  const spare = spec.spare ? (row[spec.spare.column] as Record<string, unknown> | null) : null;
  const extra = spec.spare && spare && typeof spare === 'object' ? spare[spec.spare.key] : null;
  if (extra && typeof extra === 'object') Object.assign(record, extra);
  return addStamps(spec.stamps, row, record);
}

function addStamps(stamps: StampStyle, row: Record<string, unknown>, record: KvRecord) {
  const [createdColumn, updatedColumn] = stamps.columns;
  const [createdField, updatedField] = stamps.fields;
  if (stamps.format === 'seconds') {
    const created = (row[createdColumn] as number | null) ?? 0;
    const updated = (row[updatedColumn] as number | null) ?? 0;
    if (stamps.withId) record._id = row.id;
    record[createdField] = created;
    record[updatedField] = updated === 0 ? created : updated;
    return record;
  }
  for (const [column, field] of [
    [createdColumn, createdField],
    [updatedColumn, updatedField],
  ] as const) {
    if (row[column] !== null && row[column] !== undefined) {
      record[field] = isoFromTimestamp(row[column] as string);
    }
  }
  return record;
}

/** PostgreSQL's naive UTC text as Python's `isoformat()` plus "+00:00", as LightRAG reads. */
export function isoFromTimestamp(text: string): string {
  const [date, time = '00:00:00'] = text.split(' ');
  const [clock, fraction] = time.split('.');
  const micros = fraction ? '.' + fraction.padEnd(6, '0') : '';
  return `${date}T${clock}${micros}+00:00`;
}

export async function countRecords(session: Session, spec: RecordTable): Promise<number> {
  const result = await session.client.query(
    `SELECT count(*) AS n FROM ${spec.table} WHERE workspace = $1`,
    [session.ws],
  );
  return result.rows[0].n as number;
}
