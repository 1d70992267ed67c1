import { postgresErrors } from '../../errors.ts';
import type { GraphAttributes } from '../../formats/graphml.ts';
import type { Entity, Relation } from '../types.ts';
import { COPY_MIN_ROWS, copyIntoEmpty, stageRows, type CopyColumn } from './copy.ts';
import {
  attributesAreClean,
  cleanAttributes,
  encodeAttributesInto,
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
const COPY_KIND = { text: 'text', long: 'int', double: 'float' } as const;

interface GraphTable {
  table: string;
  key: string[];
  leading: string[];
  columns: AttributeColumn[];
  /** Columns after extra and attr_types (whole numbers). */
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

function copyColumns(spec: GraphTable): CopyColumn[] {
  return [
    ...spec.leading.map((name) => ({ name, kind: 'text' as const })),
    ...spec.columns.map((c) => ({ name: c.name, kind: COPY_KIND[c.kind] })),
    { name: 'extra', kind: 'json' },
    { name: 'attr_types', kind: 'json' },
    ...spec.trailing.map((c) => ({ name: c.name, kind: 'int' as const })),
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
  // A UTF-16 unit is at most 3 UTF-8 bytes: most names need no count.
  if (name.length * 3 <= MAX_NAME_BYTES) return name;
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

/**
 * The text policy applied to attributes. The record's name (an entity's, or a relation's
 * two ends) is only put together when something changes: this runs for every upsert.
 */
function cleaned(
  session: Session,
  properties: GraphAttributes,
  store: string,
  name: string,
  target?: string,
): GraphAttributes {
  if (attributesAreClean(properties)) return properties;
  const record = target === undefined ? name : `${name} - ${target}`;
  return cleanAttributes(properties, session.policy, { store, record });
}

interface Returned {
  source: string;
  target: string;
  inserted: boolean;
}

/**
 * The rows to upsert, made afresh by each call: the COPY path encodes them while the
 * server stores the previous chunk, and may need them twice (copy.ts). Each call yields
 * one array refilled for every row, read before the next.
 */
type Rows = () => Iterable<SqlValue[]>;

async function upsertRows(session: Session, spec: GraphTable, count: number, rows: Rows) {
  if (session.canCopy && count >= COPY_MIN_ROWS) return copyUpsert(session, spec, rows);
  const returned: Returned[] = [];
  for (const batch of batches(Array.from(rows(), (row) => row.slice()))) {
    const sql = upsertFrom(spec, valuesSource(spec, batch.length));
    const full = batch.length === BATCH_ROWS;
    const result = await execute(session.client, sql, [session.ws, ...batch.flat()], full);
    returned.push(...(result.rows as Returned[]));
  }
  return returned;
}

/** RETURNING's rows, or 'all' when the rows went into an empty table (all inserted). */
async function copyUpsert(session: Session, spec: GraphTable, rows: Rows) {
  const { client, ws } = session;
  const columns = copyColumns(spec);
  if (await copyIntoEmpty(client, spec.table, ws, columns, rows)) return 'all';
  const stage = await stageRows(client, spec.table, ws, columns, rows);
  const result = await client.query(upsertFrom(spec, `${stage} v`), [ws]);
  return result.rows as Returned[];
}

interface PendingRelation {
  source: string;
  target: string;
  properties: GraphAttributes;
}

interface PendingEntity {
  properties: GraphAttributes;
  /** Relations of this flush inserted with this entity as an end. */
  degree: number;
}

/** Upserts waiting to be sent, and the degree changes of entities that already existed. */
export class GraphBuffer {
  private entities = new Map<string, PendingEntity>();
  private relations = new Map<string, PendingRelation>();
  readonly degreeChanges = new Map<string, number>();

  get pending(): boolean {
    return this.entities.size > 0 || this.relations.size > 0;
  }

  addEntity(session: Session, entity: Entity): void {
    const name = checkName(session, entity.name, ENTITIES_TABLE, 'name');
    const clean = cleaned(session, entity.properties, ENTITIES_TABLE, name);
    const pending = this.entities.get(name);
    const merged = pending ? Object.assign(pending.properties, clean) : { ...clean };
    // LightRAG keeps entity_id equal to the entity's name, whatever the caller sends.
    merged.entity_id = name;
    if (!pending) this.entities.set(name, { properties: merged, degree: 0 });
  }

  addRelation(session: Session, relation: Relation): void {
    const source = checkName(session, relation.source, RELATIONS_TABLE, 'source');
    const target = checkName(session, relation.target, RELATIONS_TABLE, 'target');
    const ordered = codePointOrder(source, target) <= 0;
    const low = ordered ? source : target;
    const high = ordered ? target : source;
    const key = low + '\u0000' + high;
    const current = this.relations.get(key) ?? { source: low, target: high, properties: {} };
    const clean = cleaned(session, relation.properties, RELATIONS_TABLE, low, high);
    Object.assign(current.properties, clean);
    this.relations.set(key, current);
  }

  /** Adds `by` to the degree of `name` (negative for removed relations). */
  changeDegree(name: string, by: number): void {
    this.degreeChanges.set(name, (this.degreeChanges.get(name) ?? 0) + by);
  }

  async flush(session: Session): Promise<void> {
    const { entities, relations } = this;
    this.entities = new Map();
    this.relations = new Map();
    const others =
      relations.size > 0 ? await this.flushRelations(session, relations, entities) : [];
    if (entities.size > 0) await this.flushEntities(session, entities);
    if (others.length > 0) await this.upsertEndpoints(session, others);
    for (const name of entities.keys()) this.degreeChanges.delete(name);
    for (const name of others) this.degreeChanges.delete(name);
  }

  private async flushEntities(session: Session, entities: Map<string, PendingEntity>) {
    const degrees = this.degreeChanges;
    const degreeAt = 2 + ENTITY_COLUMNS.length + 2;
    function* rows(): Generator<SqlValue[]> {
      const row: SqlValue[] = new Array(degreeAt + 1);
      for (const [name, { properties, degree }] of entities) {
        row[0] = name;
        row[1] = name.toLowerCase();
        encodeAttributesInto(properties, ENTITY_COLUMNS, row, 2);
        row[degreeAt] = degree + (degrees.get(name) ?? 0);
        yield row;
      }
    }
    await upsertRows(session, ENTITY_TABLE, entities.size, rows);
  }

  /**
   * Sends the relations and counts the degrees of those really inserted: on the pending
   * entity row when the end is one, else as a change. Returns the other ends, each once,
   * in the relations' order (they may not exist yet).
   */
  private async flushRelations(
    session: Session,
    relations: Map<string, PendingRelation>,
    entities: Map<string, PendingEntity>,
  ): Promise<string[]> {
    // Each end's pending entity (or its name), looked up while the rows are encoded: on
    // the COPY path that overlaps the server's work, and an import inserts them all.
    let ends: (PendingEntity | string)[] = [];
    function* rows(): Generator<SqlValue[]> {
      ends = [];
      const row: SqlValue[] = new Array(2 + RELATION_COLUMNS.length + 2);
      for (const { source, target, properties } of relations.values()) {
        ends.push(entities.get(source) ?? source, entities.get(target) ?? target);
        row[0] = source;
        row[1] = target;
        encodeAttributesInto(properties, RELATION_COLUMNS, row, 2);
        yield row;
      }
    }
    const returned = await upsertRows(session, RELATION_TABLE, relations.size, rows);
    const others = new Set<string>();
    const count = (end: PendingEntity | string, by: number) => {
      if (typeof end !== 'string') {
        end.degree += by;
        return;
      }
      others.add(end);
      if (by !== 0) this.changeDegree(end, by);
    };
    // A self-loop counts twice, as networkx counts it.
    const all = returned === 'all';
    for (const end of ends) count(end, all ? 1 : 0);
    if (all) return [...others];
    for (const { source, target, inserted } of returned) {
      if (!inserted) continue;
      count(entities.get(source) ?? source, 1);
      count(entities.get(target) ?? target, 1);
    }
    return [...others];
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
