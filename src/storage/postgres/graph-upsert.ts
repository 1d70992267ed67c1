import type { GraphAttributes } from '../../formats/graphml.ts';
import { orderedPair } from '../../graph/ids.ts';
import type { Entity, Relation } from '../types.ts';
import { COPY_MIN_ROWS, stageRows } from './copy.ts';
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
 * Degrees: relations go first; an entity that did not exist can only have the relations
 * of this flush (every relation write creates its missing endpoints, and deleting an
 * entity deletes its relations), so it is inserted with the degree counted here. Only
 * entities that already existed are recounted, once, before commit (`touched`).
 */
const NOW = "timezone('UTC', now())";
const SQL_TYPE = { text: 'text', long: 'bigint', double: 'double precision' };

interface GraphTable {
  table: string;
  key: string[];
  leading: string[];
  columns: AttributeColumn[];
  /** Columns after extra and attr_types, written on insert only. */
  trailing: { name: string; type: string }[];
  returning: string;
}

const ENTITY_TABLE: GraphTable = {
  table: ENTITIES_TABLE,
  key: ['workspace', 'name'],
  leading: ['name', 'name_lower'],
  columns: ENTITY_COLUMNS,
  trailing: [{ name: 'degree', type: 'integer' }],
  returning: 'RETURNING name, (xmax = 0) AS inserted',
};

const RELATION_TABLE: GraphTable = {
  table: RELATIONS_TABLE,
  key: ['workspace', 'source', 'target'],
  leading: ['source', 'target'],
  columns: RELATION_COLUMNS,
  trailing: [],
  returning: '',
};

function mergeClause(key: string[], columns: AttributeColumn[]): string {
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
  sets.push('updated_at = EXCLUDED.updated_at');
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
    `FROM ${source} ${mergeClause(spec.key, spec.columns)} ${spec.returning}`
  );
}

function valuesSource(spec: GraphTable, rows: number): string {
  const wrap = columnTypes(spec).map((type) => `?::${type}`);
  const list = valuesList(rows, wrap.length, 2, { wrap });
  return `(VALUES ${list}) AS v(${columnNames(spec).join(', ')})`;
}

type Returned = { name: string; inserted: boolean }[];

async function upsertRows(session: Session, spec: GraphTable, rows: SqlValue[][]) {
  const returned: Returned = [];
  if (session.canCopy && rows.length >= COPY_MIN_ROWS) {
    const staged = rows.map((row) => [session.ws, ...row]);
    const stage = await stageRows(
      session.client,
      spec.table,
      ['workspace', ...columnNames(spec)],
      staged,
    );
    const result = await session.client.query(upsertFrom(spec, `${stage} v`), [session.ws]);
    return result.rows as Returned;
  }
  for (const batch of batches(rows)) {
    const sql = upsertFrom(spec, valuesSource(spec, batch.length));
    const result = await execute(
      session.client,
      sql,
      [session.ws, ...batch.flat()],
      batch.length === BATCH_ROWS,
    );
    returned.push(...(result.rows as Returned));
  }
  return returned;
}

interface PendingRelation {
  source: string;
  target: string;
  properties: GraphAttributes;
}

/** Upserts waiting to be sent, and the entities whose degree a write may have changed. */
export class GraphBuffer {
  private entities = new Map<string, GraphAttributes>();
  private relations = new Map<string, PendingRelation>();
  readonly touched = new Set<string>();

  get pending(): boolean {
    return this.entities.size > 0 || this.relations.size > 0;
  }

  addEntity(session: Session, entity: Entity): void {
    const name = session.policy.id(entity.name, ENTITIES_TABLE, 'name');
    const where = { store: ENTITIES_TABLE, record: name };
    const clean = cleanAttributes(entity.properties, session.policy, where);
    // LightRAG keeps entity_id equal to the entity's name, whatever the caller sends.
    clean.entity_id = name;
    this.entities.set(name, Object.assign(this.entities.get(name) ?? {}, clean));
  }

  addRelation(session: Session, relation: Relation): void {
    const source = session.policy.id(relation.source, RELATIONS_TABLE, 'source');
    const target = session.policy.id(relation.target, RELATIONS_TABLE, 'target');
    const [low, high] = orderedPair(source, target);
    const key = JSON.stringify([low, high]);
    const current = this.relations.get(key) ?? { source: low, target: high, properties: {} };
    const where = { store: RELATIONS_TABLE, record: `${low} - ${high}` };
    Object.assign(current.properties, cleanAttributes(relation.properties, session.policy, where));
    this.relations.set(key, current);
  }

  async flush(session: Session): Promise<void> {
    const degrees = this.relations.size > 0 ? await this.flushRelations(session) : new Map();
    const named = new Set(this.entities.keys());
    if (this.entities.size > 0) this.counted(await this.flushEntities(session, degrees));
    const missing = [...degrees.keys()].filter((name) => !named.has(name));
    if (missing.length > 0) this.counted(await insertMissingEntities(session, missing, degrees));
  }

  /** Entities inserted after this flush's relations already have their exact degree. */
  private counted(returned: Returned): void {
    for (const row of returned) if (row.inserted) this.touched.delete(row.name);
  }

  private async flushEntities(session: Session, degrees: Map<string, number>) {
    const rows: SqlValue[][] = [];
    for (const [name, properties] of this.entities) {
      const encoded = encodeAttributes(properties, ENTITY_COLUMNS);
      const degree = degrees.get(name) ?? 0;
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
    return upsertRows(session, ENTITY_TABLE, rows);
  }

  /** Sends the relations; returns how many of them touch each endpoint. */
  private async flushRelations(session: Session): Promise<Map<string, number>> {
    const rows: SqlValue[][] = [];
    const degrees = new Map<string, number>();
    for (const { source, target, properties } of this.relations.values()) {
      const encoded = encodeAttributes(properties, RELATION_COLUMNS);
      rows.push([source, target, ...encoded.columns, encoded.extra, encoded.types]);
      // A self-loop counts twice, as networkx counts it.
      degrees.set(source, (degrees.get(source) ?? 0) + 1);
      degrees.set(target, (degrees.get(target) ?? 0) + 1);
    }
    this.relations.clear();
    await upsertRows(session, RELATION_TABLE, rows);
    for (const name of degrees.keys()) this.touched.add(name);
    return degrees;
  }
}

/** A relation's missing endpoint becomes an entity with only its entity_id. */
async function insertMissingEntities(
  session: Session,
  names: string[],
  degrees: Map<string, number>,
): Promise<Returned> {
  const result = await session.client.query(
    `INSERT INTO ${ENTITIES_TABLE} (workspace, name, name_lower, entity_id, degree, updated_at)
     SELECT $1, v.name, v.lower, v.name, v.degree, ${NOW}
       FROM unnest($2::text[], $3::text[], $4::int[]) AS v(name, lower, degree)
     ON CONFLICT (workspace, name) DO NOTHING
     RETURNING name, true AS inserted`,
    [session.ws, names, names.map((n) => n.toLowerCase()), names.map((n) => degrees.get(n) ?? 0)],
  );
  return result.rows as Returned;
}
