import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { acquire, inTransaction } from '../../storage/postgres/pool.ts';
import { ENTITY_COLUMNS } from '../../storage/postgres/graph-codec.ts';
import { toEntity } from '../../storage/postgres/graph.ts';
import { ENTITIES_TABLE, RELATIONS_TABLE } from '../../storage/postgres/tables.ts';
import type { Entity } from '../../storage/types.ts';
import { withClient } from '../target.ts';
import { ENTITY_LINE_COLUMNS, RELATION_LINE_COLUMNS } from './graph-lines.ts';
import type { TargetContext } from './types.ts';

/**
 * The fast way into an empty graph on a real server (never the PGlite socket, where COPY
 * FROM STDIN wedges the database). Relations are COPYed straight into their table, a
 * batch per transaction. Entities are COPYed into a temporary table first and inserted at
 * the end in one statement that computes each degree from the relations already there,
 * so every entity row is written once (recounting degrees afterwards would rewrite every
 * row and all its indexes). Anything unusual (a reciprocal duplicate edge, a node given
 * twice) falls back to the backend's upsert, which merges as networkx does; the degrees,
 * counted once from the relations into a temporary table, are then set from that table.
 */
const STAGE = 'ragspace_mig_entities';
const DEGREES_TABLE = 'ragspace_mig_degrees';

export interface BulkGraph {
  client: pg.PoolClient;
  /** Set once anything took the slow path: degrees must be settled from the counts. */
  recount: boolean;
  relationsByUpsert: boolean;
}

async function copyText(client: pg.PoolClient, table: string, columns: string[], text: string) {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
    stream.end(text);
  });
}

/** Whether the workspace has no graph rows yet, so nothing can collide with a COPY. */
export async function graphIsEmpty(target: TargetContext): Promise<boolean> {
  return withClient(target.db, target.log, async (client) => {
    const found = await client.query(
      `SELECT EXISTS (SELECT 1 FROM ${ENTITIES_TABLE} WHERE workspace = $1)
           OR EXISTS (SELECT 1 FROM ${RELATIONS_TABLE} WHERE workspace = $1) AS taken`,
      [target.ws],
    );
    return found.rows[0].taken === false;
  });
}

export async function startBulk(target: TargetContext): Promise<BulkGraph> {
  const { db, log } = target;
  const client = await acquire(db.pool, db.where, db.retry, log);
  await client.query(`DROP TABLE IF EXISTS pg_temp.${STAGE}, pg_temp.${DEGREES_TABLE}`);
  await client.query(`CREATE TEMP TABLE ${STAGE} (LIKE ${ENTITIES_TABLE} INCLUDING DEFAULTS)`);
  await client.query(`ALTER TABLE ${STAGE} ADD COLUMN seq BIGSERIAL`);
  return { client, recount: false, relationsByUpsert: false };
}

/** Stages a batch of entities, as `entityLines` text. */
export async function stageEntities(bulk: BulkGraph, lines: string): Promise<void> {
  await copyText(bulk.client, STAGE, ENTITY_LINE_COLUMNS, lines);
}

/** COPYs a batch of relations (`relationLines` text); false when a key collided. */
export async function copyRelations(bulk: BulkGraph, lines: string): Promise<boolean> {
  try {
    await inTransaction(bulk.client, 'BEGIN', () =>
      copyText(bulk.client, RELATIONS_TABLE, RELATION_LINE_COLUMNS, lines),
    );
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') throw error;
    bulk.relationsByUpsert = bulk.recount = true;
    return false;
  }
}

const DEGREES = `SELECT name, count(*)::int AS n FROM (
    SELECT source AS name FROM ${RELATIONS_TABLE} WHERE workspace = $1
    UNION ALL SELECT target FROM ${RELATIONS_TABLE} WHERE workspace = $1) ends
  GROUP BY name`;

const DEGREE_WORK_MEM = '128MB';

/**
 * Every endpoint's degree, counted once into a temporary table: the entities' INSERT and
 * the search for undeclared endpoints both join it (each aggregate over the relations
 * costs seconds on a large graph).
 */
async function countDegrees(bulk: BulkGraph, ws: string): Promise<void> {
  await bulk.client.query(`CREATE TEMP TABLE ${DEGREES_TABLE} (name TEXT COLLATE "C", n INT)`);
  await inTransaction(bulk.client, 'BEGIN', async () => {
    // One hash aggregate over the relations; the default 4 MB spills a large graph's to
    // disk several times over. For this statement only.
    await bulk.client.query(`SET LOCAL work_mem = '${DEGREE_WORK_MEM}'`);
    await bulk.client.query(`INSERT INTO ${DEGREES_TABLE} ${DEGREES}`, [ws]);
  });
  // Temporary tables are never analysed automatically; the joins below want row counts.
  await bulk.client.query(`ANALYZE ${DEGREES_TABLE}, ${STAGE}`);
}

/** The staged entities in one INSERT, each with its degree; false on a collision. */
async function insertStaged(bulk: BulkGraph): Promise<boolean> {
  const columns = ENTITY_LINE_COLUMNS.join(', ');
  const source = ENTITY_LINE_COLUMNS.map((c) => `s.${c}`).join(', ');
  try {
    await inTransaction(bulk.client, 'BEGIN', async () => {
      await bulk.client.query(`SET LOCAL work_mem = '${DEGREE_WORK_MEM}'`);
      await bulk.client.query(
        `INSERT INTO ${ENTITIES_TABLE} (${columns}, degree)
         SELECT ${source}, COALESCE(d.n, 0)
           FROM ${STAGE} s LEFT JOIN ${DEGREES_TABLE} d ON d.name = s.name`,
      );
    });
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') throw error;
    return false;
  }
}

/** The slow way for the staged entities: the backend's upsert, in file order. */
async function upsertStaged(bulk: BulkGraph, upsert: (entities: Entity[]) => Promise<void>) {
  bulk.recount = true;
  const columns = ['name', ...ENTITY_COLUMNS.map((c) => c.name), 'extra', 'attr_types', 'seq'];
  // The temporary table is only visible to its own session, so it is paged here.
  for (let after = 0; ;) {
    const { rows } = await bulk.client.query(
      `SELECT ${columns.join(', ')} FROM ${STAGE} WHERE seq > $1 ORDER BY seq LIMIT 2000`,
      [after],
    );
    if (rows.length === 0) return;
    after = rows[rows.length - 1].seq as number;
    await upsert(rows.map((row) => toEntity(row)));
  }
}

/**
 * Endpoints no node declared get a bare entity, as networkx's add_edge makes one (its
 * degree is set by `settleDegrees`). Returns how many there were.
 */
async function addUndeclaredEndpoints(bulk: BulkGraph, target: TargetContext): Promise<number> {
  // Every staged entity is in the table by now (inserted, or upserted on the slow way).
  const found = await bulk.client.query(
    `SELECT d.name FROM ${DEGREES_TABLE} d
      WHERE NOT EXISTS (SELECT 1 FROM ${STAGE} s WHERE s.name = d.name)`,
  );
  const names = found.rows.map((row) => row.name as string);
  if (names.length === 0) return 0;
  await bulk.client.query(
    `INSERT INTO ${ENTITIES_TABLE} (workspace, name, name_lower, entity_id, updated_at)
     SELECT $1, u.name, u.lower, u.name, timezone('UTC', now())
       FROM unnest($2::text[], $3::text[]) AS u(name, lower)
     ON CONFLICT (workspace, name) DO NOTHING`,
    [target.ws, names, names.map((n) => n.toLowerCase())],
  );
  return names.length;
}

/**
 * Gives every entity the degree counted from the relations, where the slow path or an
 * undeclared endpoint left another, in two set-based statements. (Recounting name by
 * name ran for hours on a large workspace whose statistics were taken while it was empty.)
 */
async function settleDegrees(bulk: BulkGraph, ws: string): Promise<void> {
  await bulk.client.query(`ANALYZE ${ENTITIES_TABLE}`);
  await inTransaction(bulk.client, 'BEGIN', async () => {
    await bulk.client.query(`SET LOCAL work_mem = '${DEGREE_WORK_MEM}'`);
    await bulk.client.query(
      `UPDATE ${ENTITIES_TABLE} e SET degree = d.n FROM ${DEGREES_TABLE} d
        WHERE e.workspace = $1 AND e.name = d.name AND e.degree <> d.n`,
      [ws],
    );
    await bulk.client.query(
      `UPDATE ${ENTITIES_TABLE} e SET degree = 0
        WHERE e.workspace = $1 AND e.degree <> 0
          AND NOT EXISTS (SELECT 1 FROM ${DEGREES_TABLE} d WHERE d.name = e.name)`,
      [ws],
    );
  });
}

/**
 * Lets go of the bulk path's connection after a failure. The connection is closed rather
 * than returned to the pool: it may be inside a transaction or a COPY, and its temporary
 * tables go with it.
 */
export function abandonBulk(bulk: BulkGraph): void {
  bulk.client.release(true);
}

/**
 * Inserts the staged entities with their degrees (or upserts them, if one collides),
 * adds the endpoints no node declared, and leaves every degree right.
 */
export async function finishBulk(
  bulk: BulkGraph,
  target: TargetContext,
  upsert: (entities: Entity[]) => Promise<void>,
): Promise<void> {
  try {
    await countDegrees(bulk, target.ws);
    if (!(await insertStaged(bulk))) await upsertStaged(bulk, upsert);
    const undeclared = await addUndeclaredEndpoints(bulk, target);
    if (bulk.recount || undeclared > 0) await settleDegrees(bulk, target.ws);
    await bulk.client.query(`DROP TABLE IF EXISTS pg_temp.${STAGE}, pg_temp.${DEGREES_TABLE}`);
  } finally {
    bulk.client.release();
  }
}
