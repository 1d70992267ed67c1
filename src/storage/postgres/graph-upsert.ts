import { postgresErrors } from '../../errors.ts';
import type { GraphAttributes } from '../../formats/graphml.ts';
import type { Entity, Relation } from '../types.ts';
import { COPY_MIN_ROWS, copyIntoEmpty, stageRows } from './copy.ts';
import {
  cleanAttributes,
  encodeAttributes,
  ENTITY_COLUMNS,
  RELATION_COLUMNS,
  type AttributeColumn,
} from './graph-codec.ts';
import type { Session } from './session.ts';
import { batches, BATCH_ROWS, execute, valuesList, type SqlValue } from './sql.ts';
import { ENTITIES_TABLE, RELATIONS_TABLE } from './tables.ts';

/**
 * Graph upserts: buffered per write and sent when something reads, deletes or commits,
 * so a caller upserting one by one still costs one statement per ~500 rows (or one COPY
 * for thousands). The merge is networkx's: given attributes replace, others survive.
 *
 * Degrees are kept by counting, never by recounting: each relation that is really
 * inserted (RETURNING xmax = 0) adds one to both ends, each one deleted takes one off
 * (`degreeChanges`). Relations go first; then the flush's entities and the relations'
 * endpoints are upserted carrying their change (inserted with it, or adding it to the
 * stored degree), so a bulk write touches each entity row once. An entity that did not
 * exist can only have this write's relations (every relation write creates its missing
 * endpoints, and deleting an entity deletes its relations), so its count is exact.
 * Changes left by deletes are applied in one UPDATE before commit.
 */
const NOW = "timezone('UTC', now())";
const SQL_TYPE = { text: 'text', long: 'bigint', double: 'double precision' };

interface GraphTable {
  table: string;
  key: string[];
  leading: string[];
  columns: AttributeColumn[];
  /** Columns after extra and attr_types. */
  trailing: { name: string; type: string }[];
  /** More assignments when the row exists. */
  onConflict: string[];
  returning: string;
}

const ENTITY_TABLE: GraphTable = {
  table: ENTITIES_TABLE,
  key: ['workspace', 'name'],
  leading: ['name', 'name_lower'],
  columns: ENTITY_COLUMNS,
  trailing: [{ name: 'degree', type: 'integer' }],
  onConflict: ['degree = t.degree + EXCLUDED.degree'],
  returning: '',
};

const RELATION_TABLE: GraphTable = {
  table: RELATIONS_TABLE,
  key: ['workspace', 'source', 'target'],
  leading: ['source', 'target'],
  columns: RELATION_COLUMNS,
  trailing: [],
  onConflict: [],
  returning: 'RETURNING source, target, (xmax = 0) AS inserted',
};

function mergeClause(key: string[], columns: AttributeColumn[], more: string[]): string {
  const sets = columns.map(
    (c) =>
      `${c.name} = CASE WHEN EXCLUDED.extra ? '${c.name}' THEN NULL ` +
      `ELSE COALESCE(EXCLUDED.${c.name}, t.${c.name}) END`,
  );
  const given = columns.map((c) => `CASE WHEN EXCLUDED.${c.name} IS NOT NULL THEN '${c.name}' END`);
  const asColumns = `array_remove(ARRAY[${given.join(', ')}]::text[], NULL)`;
  const inExtra = 'ARRAY(SELECT jsonb_object_keys(EXCLUDED.extra))';
  sets.push(`extra = (t.extra - ${asColumns}) || EXCLUDED.extra`);
  sets.push(`attr_types = (t.attr_types - ${asColumns} - ${inExtra}) || EXCLUDED.attr_types`);
  sets.push('updated_at = EXCLUDED.updated_at', ...more);
  return `ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${sets.join(', ')}`;
}

function columnNames(spec: GraphTable): string[] {
  const attributes = spec.columns.map((c) => c.name);
  return [
    ...spec.leading,
    ...attributes,
    'extra',
    'attr_types',
    ...spec.trailing.map((c) => c.name),
  ];
}

function columnTypes(spec: GraphTable): string[] {
  return [
    ...spec.leading.map(() => 'text'),
    ...spec.columns.map((c) => SQL_TYPE[c.kind]),
    'jsonb',
    'jsonb',
    ...spec.trailing.map((c) => c.type),
  ];
}

/** INSERT ... SELECT from `source` (aliased v) ... ON CONFLICT merge ... RETURNING. */
function upsertFrom(spec: GraphTable, source: string): string {
  const names = columnNames(spec);
  const targets = ['workspace', ...names, 'updated_at'];
  const values = ['$1::text', ...names.map((n) => `v.${n}`), NOW];
  return (
    `INSERT INTO ${spec.table} AS t (${targets.join(', ')}) SELECT ${values.join(', ')} ` +
    `FROM ${source} ${mergeClause(spec.key, spec.columns, spec.onConflict)} ${spec.returning}`
  );
}

function valuesSource(spec: GraphTable, rows: number): string {
  const wrap = columnTypes(spec).map((type) => `?::${type}`);
  const list = valuesList(rows, wrap.length, 2, { wrap });
  return `(VALUES ${list}) AS v(${columnNames(spec).join(', ')})`;
}

/**
 * Names are index keys; a relation's key holds two. PostgreSQL refuses a btree entry over
 * about 2,700 bytes, so a name is limited to 1,200 UTF-8 bytes (about 400 CJK characters),
 * with an error naming it rather than a database failure.
 */
const MAX_NAME_BYTES = 1200;

function checkName(session: Session, name: string, table: string, field: string): string {
  session.policy.id(name, table, field);
  const bytes = Buffer.byteLength(name);
  if (bytes <= MAX_NAME_BYTES) return name;
  const shown = name.length > 60 ? name.slice(0, 60) + '…' : name;
  const why = `is ${bytes} bytes long; entity names are index keys of at most ${MAX_NAME_BYTES}`;
  throw postgresErrors.valueRejected(session.name, table, shown, field, why);
}

/**
 * Python's (code point) order without iterating code points: UTF-16 order agrees except
 * where a surrogate meets a unit from U+E000 to U+FFFF, which is corrected here.
 */
export function codePointOrder(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === length) return a.length - b.length;
  return rank(a.charCodeAt(i)) - rank(b.charCodeAt(i));
}

function rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

type Returned = { name: string; source: string; target: string; inserted: boolean }[];

async function upsertRows(session: Session, spec: GraphTable, rows: SqlValue[][]) {
  if (session.canCopy && rows.length >= COPY_MIN_ROWS) return copyUpsert(session, spec, rows);
  const returned: Returned = [];
  for (const batch of batches(rows)) {
    const sql = upsertFrom(spec, valuesSource(spec, batch.length));
    const full = batch.length === BATCH_ROWS;
    const result = await execute(session.client, sql, [session.ws, ...batch.flat()], full);
    returned.push(...(result.rows as Returned));
  }
  return returned;
}

async function copyUpsert(session: Session, spec: GraphTable, rows: SqlValue[][]) {
  const { client, ws } = session;
  const names = columnNames(spec);
  if (await copyIntoEmpty(client, spec.table, ws, names, rows)) return insertedRows(spec, rows);
  const stage = await stageRows(client, spec.table, ws, names, rows);
  const result = await client.query(upsertFrom(spec, `${stage} v`), [ws]);
  return result.rows as Returned;
}

/** What RETURNING would have said of rows that were all inserted. */
function insertedRows(spec: GraphTable, rows: SqlValue[][]): Returned {
  if (spec.returning === '') return [];
  return rows.map(([source, target]) => ({
    name: '',
    source: source as string,
    target: target as string,
    inserted: true,
  }));
}

interface PendingRelation {
  source: string;
  target: string;
  properties: GraphAttributes;
}

/** Upserts waiting to be sent, and the degree changes of entities that already existed. */
export class GraphBuffer {
  private entities = new Map<string, GraphAttributes>();
  private relations = new Map<string, PendingRelation>();
  readonly degreeChanges = new Map<string, number>();

  get pending(): boolean {
    return this.entities.size > 0 || this.relations.size > 0;
  }

  addEntity(session: Session, entity: Entity): void {
    const name = checkName(session, entity.name, ENTITIES_TABLE, 'name');
    const where = { store: ENTITIES_TABLE, record: name };
    const clean = cleanAttributes(entity.properties, session.policy, where);
    const merged = Object.assign(this.entities.get(name) ?? {}, clean);
    // LightRAG keeps entity_id equal to the entity's name, whatever the caller sends.
    merged.entity_id = name;
    this.entities.set(name, merged);
  }

  addRelation(session: Session, relation: Relation): void {
    const source = checkName(session, relation.source, RELATIONS_TABLE, 'source');
    const target = checkName(session, relation.target, RELATIONS_TABLE, 'target');
    const [low, high] = codePointOrder(source, target) <= 0 ? [source, target] : [target, source];
    const key = low + '\u0000' + high;
    const current = this.relations.get(key) ?? { source: low, target: high, properties: {} };
    const where = { store: RELATIONS_TABLE, record: `${low} - ${high}` };
    Object.assign(current.properties, cleanAttributes(relation.properties, session.policy, where));
    this.relations.set(key, current);
  }

  /** Adds `by` to the degree of `name` (negative for removed relations). */
  changeDegree(name: string, by: number): void {
    this.degreeChanges.set(name, (this.degreeChanges.get(name) ?? 0) + by);
  }

  async flush(session: Session): Promise<void> {
    const endpoints = this.relations.size > 0 ? await this.flushRelations(session) : [];
    const named = new Set(this.entities.keys());
    if (this.entities.size > 0) await this.flushEntities(session);
    const others = endpoints.filter((name) => !named.has(name));
    if (others.length > 0) await this.upsertEndpoints(session, others);
    for (const name of [...named, ...others]) this.degreeChanges.delete(name);
  }

  private async flushEntities(session: Session): Promise<void> {
    const rows: SqlValue[][] = [];
    for (const [name, properties] of this.entities) {
      const encoded = encodeAttributes(properties, ENTITY_COLUMNS);
      const degree = this.degreeChanges.get(name) ?? 0;
      rows.push([
        name,
        name.toLowerCase(),
        ...encoded.columns,
        encoded.extra,
        encoded.types,
        degree,
      ]);
    }
    this.entities.clear();
    await upsertRows(session, ENTITY_TABLE, rows);
  }

  /** Sends the relations; returns their endpoints. */
  private async flushRelations(session: Session): Promise<string[]> {
    const rows: SqlValue[][] = [];
    const endpoints = new Set<string>();
    for (const { source, target, properties } of this.relations.values()) {
      const encoded = encodeAttributes(properties, RELATION_COLUMNS);
      rows.push([source, target, ...encoded.columns, encoded.extra, encoded.types]);
      endpoints.add(source).add(target);
    }
    this.relations.clear();
    for (const row of await upsertRows(session, RELATION_TABLE, rows)) {
      if (!row.inserted) continue;
      // A self-loop counts twice, as networkx counts it.
      this.changeDegree(row.source, 1);
      this.changeDegree(row.target, 1);
    }
    return [...endpoints];
  }

  private async upsertEndpoints(session: Session, names: string[]): Promise<void> {
    const changes = names.map((name) => this.degreeChanges.get(name) ?? 0);
    await upsertEndpoints(session, names, changes);
  }

  /** Applies the degree changes of entities that existed before; call before commit. */
  async applyDegreeChanges(session: Session): Promise<void> {
    const changed = [...this.degreeChanges].filter(([, by]) => by !== 0);
    this.degreeChanges.clear();
    if (changed.length === 0) return;
    await session.client.query(
      `UPDATE ${ENTITIES_TABLE} e SET degree = e.degree + d.change
         FROM unnest($2::text[], $3::int[]) AS d(name, change)
        WHERE e.workspace = $1 AND e.name = d.name`,
      [session.ws, changed.map(([name]) => name), changed.map(([, by]) => by)],
    );
  }
}

/**
 * Relation endpoints: a missing one becomes an entity with only its entity_id (as
 * networkx's add_edge makes it); an existing one gets its degree change.
 */
async function upsertEndpoints(session: Session, names: string[], changes: number[]) {
  await session.client.query(
    `INSERT INTO ${ENTITIES_TABLE} AS t (workspace, name, name_lower, entity_id, degree, updated_at)
     SELECT $1, v.name, v.lower, v.name, v.change, ${NOW}
       FROM unnest($2::text[], $3::text[], $4::int[]) AS v(name, lower, change)
     ON CONFLICT (workspace, name) DO UPDATE SET degree = t.degree + EXCLUDED.degree
      WHERE EXCLUDED.degree <> 0`,
    [session.ws, names, names.map((n) => n.toLowerCase()), changes],
  );
}
