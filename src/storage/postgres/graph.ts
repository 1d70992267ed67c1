import type { SubgraphSource } from '../../graph/subgraph.ts';
import type { Entity, Page, Relation } from '../types.ts';
import { orderedPair } from '../../graph/ids.ts';
import { decodeAttributes, ENTITY_COLUMNS, RELATION_COLUMNS } from './graph-codec.ts';
import type { Session } from './session.ts';
import { ENTITIES_TABLE, RELATIONS_TABLE } from './tables.ts';

/**
 * The graph in ragspace_entities / ragspace_relations: deletes, reads, degree recounts
 * and the BFS source. Upserts live in graph-upsert.ts.
 */
export { GraphBuffer } from './graph-upsert.ts';

const DEGREE_BATCH = 5000;

/** Recounts the degree of `names` (a self-loop counts twice, as in networkx). */
export async function updateDegrees(session: Session, names: Iterable<string>): Promise<void> {
  const all = [...names];
  for (let i = 0; i < all.length; i += DEGREE_BATCH) {
    await session.client.query(
      `UPDATE ${ENTITIES_TABLE} e SET degree = d.n
         FROM (SELECT u.name,
                 (SELECT count(*) FROM ${RELATIONS_TABLE} r
                   WHERE r.workspace = $1 AND r.source = u.name)
               + (SELECT count(*) FROM ${RELATIONS_TABLE} r
                   WHERE r.workspace = $1 AND r.target = u.name) AS n
                 FROM unnest($2::text[]) AS u(name)) d
        WHERE e.workspace = $1 AND e.name = d.name AND e.degree <> d.n`,
      [session.ws, all.slice(i, i + DEGREE_BATCH)],
    );
  }
}

export async function deleteEntity(session: Session, name: string): Promise<string[]> {
  const removed = await session.client.query(
    `DELETE FROM ${RELATIONS_TABLE} WHERE workspace = $1 AND (source = $2 OR target = $2)
     RETURNING source, target`,
    [session.ws, name],
  );
  await session.client.query(`DELETE FROM ${ENTITIES_TABLE} WHERE workspace = $1 AND name = $2`, [
    session.ws,
    name,
  ]);
  const neighbours = removed.rows.map((r) => (r.source === name ? r.target : r.source));
  return neighbours.filter((n: string) => n !== name);
}

/** Deletes the relation; true when there was one. */
export async function deleteRelation(session: Session, a: string, b: string): Promise<boolean> {
  const [source, target] = orderedPair(a, b);
  const result = await session.client.query(
    `DELETE FROM ${RELATIONS_TABLE} WHERE workspace = $1 AND source = $2 AND target = $3`,
    [session.ws, source, target],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function clearGraph(session: Session): Promise<void> {
  await session.client.query(`DELETE FROM ${RELATIONS_TABLE} WHERE workspace = $1`, [session.ws]);
  await session.client.query(`DELETE FROM ${ENTITIES_TABLE} WHERE workspace = $1`, [session.ws]);
}

export function toEntity(row: Record<string, unknown>): Entity {
  return { name: row.name as string, properties: decodeAttributes(row, ENTITY_COLUMNS) };
}

export function toRelation(row: Record<string, unknown>): Relation {
  return {
    source: row.source as string,
    target: row.target as string,
    properties: decodeAttributes(row, RELATION_COLUMNS),
  };
}

const ENTITY_FIELDS = `name, ${ENTITY_COLUMNS.map((c) => c.name).join(', ')}, extra, attr_types`;
const RELATION_NAMES = RELATION_COLUMNS.map((c) => c.name).join(', ');
const RELATION_FIELDS = `source, target, ${RELATION_NAMES}, extra, attr_types`;

export async function getEntity(session: Session, name: string): Promise<Entity | undefined> {
  const result = await session.client.query(
    `SELECT ${ENTITY_FIELDS} FROM ${ENTITIES_TABLE} WHERE workspace = $1 AND name = $2`,
    [session.ws, name],
  );
  return result.rows[0] ? toEntity(result.rows[0]) : undefined;
}

export async function getEntities(session: Session, names: string[]): Promise<Entity[]> {
  const result = await session.client.query(
    `SELECT ${ENTITY_FIELDS} FROM ${ENTITIES_TABLE} WHERE workspace = $1 AND name = ANY($2)`,
    [session.ws, names],
  );
  return result.rows.map(toEntity);
}

export async function getRelation(
  session: Session,
  a: string,
  b: string,
): Promise<Relation | undefined> {
  const [source, target] = orderedPair(a, b);
  const result = await session.client.query(
    `SELECT ${RELATION_FIELDS} FROM ${RELATIONS_TABLE}
      WHERE workspace = $1 AND source = $2 AND target = $3`,
    [session.ws, source, target],
  );
  return result.rows[0] ? toRelation(result.rows[0]) : undefined;
}

export async function relationsOf(session: Session, name: string): Promise<Relation[]> {
  const result = await session.client.query(
    `SELECT ${RELATION_FIELDS} FROM ${RELATIONS_TABLE}
      WHERE workspace = $1 AND (source = $2 OR target = $2) ORDER BY source, target`,
    [session.ws, name],
  );
  return result.rows.map(toRelation);
}

/** Relations with both ends in `names` (the subgraph they induce). */
export async function relationsAmong(session: Session, names: string[]): Promise<Relation[]> {
  const result = await session.client.query(
    `SELECT ${RELATION_FIELDS} FROM ${RELATIONS_TABLE}
      WHERE workspace = $1 AND source = ANY($2) AND target = ANY($2) ORDER BY source, target`,
    [session.ws, names],
  );
  return result.rows.map(toRelation);
}

async function count(session: Session, table: string): Promise<number> {
  const result = await session.client.query(
    `SELECT count(*) AS n FROM ${table} WHERE workspace = $1`,
    [session.ws],
  );
  return result.rows[0].n as number;
}

export async function entityPage(
  session: Session,
  offset: number,
  limit: number,
): Promise<Page<Entity>> {
  const result = await session.client.query(
    `SELECT ${ENTITY_FIELDS} FROM ${ENTITIES_TABLE} WHERE workspace = $1
      ORDER BY name OFFSET $2 LIMIT $3`,
    [session.ws, offset, limit],
  );
  return { items: result.rows.map(toEntity), total: await count(session, ENTITIES_TABLE) };
}

export async function relationPage(
  session: Session,
  offset: number,
  limit: number,
): Promise<Page<Relation>> {
  const result = await session.client.query(
    `SELECT ${RELATION_FIELDS} FROM ${RELATIONS_TABLE} WHERE workspace = $1
      ORDER BY source, target OFFSET $2 LIMIT $3`,
    [session.ws, offset, limit],
  );
  return { items: result.rows.map(toRelation), total: await count(session, RELATIONS_TABLE) };
}

export async function entityNames(session: Session): Promise<string[]> {
  const result = await session.client.query(
    `SELECT name FROM ${ENTITIES_TABLE} WHERE workspace = $1 ORDER BY name`,
    [session.ws],
  );
  return result.rows.map((r) => r.name as string);
}

export async function popularLabels(session: Session, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const result = await session.client.query(
    `SELECT name FROM ${ENTITIES_TABLE} WHERE workspace = $1
      ORDER BY degree DESC, name LIMIT $2`,
    [session.ws, limit],
  );
  return result.rows.map((r) => r.name as string);
}

/** Label search goes through the name indexes (label-search.ts). */
export { searchLabels } from './label-search.ts';

async function namedValues(session: Session, sql: string, names: string[]) {
  const result = await session.client.query(sql, [session.ws, names]);
  return result.rows as { a: string; b: unknown }[];
}

/**
 * The graph as the backend-neutral BFS in src/graph/subgraph.ts asks for it: every call
 * is one statement for a whole BFS level, never one per node. Shortcoming: `neighbours`
 * returns every neighbour of the level (the BFS then keeps the highest-degree ones), so
 * a hub with hundreds of thousands of relations costs one large index scan.
 */
export function subgraphSource(session: Session): SubgraphSource {
  return {
    async degrees(names) {
      const sql = `SELECT name AS a, degree AS b FROM ${ENTITIES_TABLE}
                    WHERE workspace = $1 AND name = ANY($2)`;
      const rows = await namedValues(session, sql, names);
      return new Map(rows.map((r) => [r.a, r.b as number]));
    },
    async neighbours(names) {
      const sql = `SELECT source AS a, target AS b FROM ${RELATIONS_TABLE}
                    WHERE workspace = $1 AND source = ANY($2)
                   UNION ALL
                   SELECT target AS a, source AS b FROM ${RELATIONS_TABLE}
                    WHERE workspace = $1 AND target = ANY($2)`;
      const found = new Map<string, string[]>();
      for (const row of await namedValues(session, sql, names)) {
        const list = found.get(row.a) ?? found.set(row.a, []).get(row.a)!;
        list.push(row.b as string);
      }
      return found;
    },
    async topByDegree(limit) {
      return {
        names: await popularLabels(session, limit),
        total: await count(session, ENTITIES_TABLE),
      };
    },
    async nodeProperties(names) {
      const entities = await getEntities(session, names);
      return new Map(entities.map((e) => [e.name, e.properties]));
    },
    edgesAmong: (names) => relationsAmong(session, names),
  };
}
