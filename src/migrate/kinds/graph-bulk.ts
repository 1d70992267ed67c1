import type pg from 'pg';
import type { Logger } from '../../log.ts';
import { from as copyFrom } from 'pg-copy-streams';
import { acquire, inTransaction } from '../../storage/postgres/pool.ts';
import { ENTITY_COLUMNS } from '../../storage/postgres/graph-codec.ts';
import { toEntity } from '../../storage/postgres/graph.ts';
import { ENTITIES_TABLE, RELATIONS_TABLE } from '../../storage/postgres/tables.ts';
import type { Entity } from '../../storage/types.ts';
import { withClient } from '../target.ts';
import { ENTITY_LINE_COLUMNS, RELATION_LINE_COLUMNS } from './graph-lines.ts';
import type { EdgeEnds, TargetContext } from './types.ts';

/**
 * The fast way into an empty graph on a real server (never the PGlite socket, where COPY
 * FROM STDIN wedges the database). Before the check pass is over nothing is written but
 * temporary tables: the check's edge ends go into one, from which each entity's degree is
 * counted, and the entities are COPYed into another as they are read. At the first
 * relation, the staged entities are inserted in one statement that takes each degree from
 * the counts, while the relations are COPYed straight into their table on a second
 * connection: the server loads both tables at once, and every entity row is written once
 * (recounting degrees afterwards would rewrite every row and all its indexes).
 *
 * Anything unusual falls back: a reciprocal duplicate edge or a node given twice to the
 * backend's upsert, which merges as networkx does, and a node renamed to its entity_id
 * (B04, which the check's ends do not know of) to degrees counted from the relations once
 * they are all in. After a fallback the degrees are set again from those counts.
 */
const STAGE = 'ragspace_mig_entities';
const ENDS_TABLE = 'ragspace_mig_edge_ends';
const DEGREES_TABLE = 'ragspace_mig_degrees';

export type EntityUpsert = (entities: Entity[]) => Promise<void>;

export interface BulkGraph {
  /** Holds the temporary tables (staged entities, edge ends, degrees) and their INSERT. */
  client: pg.PoolClient;
  /** Writes the relations, beside the entities' INSERT. */
  relationsClient: pg.PoolClient;
  upsertEntities: EntityUpsert;
  log: Logger;
  /** The workspace column. */
  ws: string;
  /** Whether the check's edge ends all arrived, and no node was renamed since. */
  endsComplete: boolean;
  nodeRenamed: boolean;
  /** The staged entities' INSERT, started at the first relation; resolves to its last seq. */
  entityInsert?: Promise<number>;
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

export async function startBulk(target: TargetContext, upsert: EntityUpsert): Promise<BulkGraph> {
  const { db, log } = target;
  const client = await acquire(db.pool, db.where, db.retry, log);
  const relationsClient = await acquire(db.pool, db.where, db.retry, log).catch((error) => {
    client.release();
    throw error;
  });
  await createTempTables(client).catch((error) => {
    client.release(true);
    relationsClient.release();
    throw error;
  });
  return {
    client,
    relationsClient,
    upsertEntities: upsert,
    log,
    ws: target.ws,
    endsComplete: false,
    nodeRenamed: false,
    recount: false,
    relationsByUpsert: false,
  };
}

async function createTempTables(client: pg.PoolClient): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS pg_temp.${STAGE}, pg_temp.${ENDS_TABLE}`);
  await client.query(`CREATE TEMP TABLE ${STAGE} (LIKE ${ENTITIES_TABLE} INCLUDING DEFAULTS)`);
  await client.query(`ALTER TABLE ${STAGE} ADD COLUMN seq BIGSERIAL`);
  await client.query(`CREATE TEMP TABLE ${ENDS_TABLE} (name TEXT COLLATE "C")`);
}

/** Text gathered into COPYs of about `chars` characters, one in flight while the next fills. */
export class CopyBatches {
  private text = '';
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (text: string) => Promise<void>,
    private readonly chars: number,
  ) {}

  async add(text: string): Promise<void> {
    this.text += text;
    if (this.text.length >= this.chars) await this.next();
  }

  async flush(): Promise<void> {
    if (this.text !== '') await this.next();
    await this.sending;
  }

  private async next(): Promise<void> {
    await this.sending;
    this.sending = this.send(this.text);
    this.sending.catch(() => undefined); // awaited by the next send or by flush
    this.text = '';
  }
}

/** Characters of edge ends per COPY. */
const ENDS_CHARS = 1 << 20;

/**
 * Where the check pass sends the edge ends: COPYs of about a megabyte into the ends table
 * (the server is otherwise nearly idle then). Not one COPY for the whole pass: the early
 * reader's staging shares the connection meanwhile.
 */
export function edgeEndsOf(bulk: BulkGraph): EdgeEnds {
  const copy = (text: string) => copyText(bulk.client, ENDS_TABLE, ['name'], text);
  const batches = new CopyBatches(copy, ENDS_CHARS);
  return {
    write: (ends) => batches.add(ends),
    close: async () => {
      await batches.flush();
      bulk.endsComplete = true;
    },
    renamed: () => {
      bulk.nodeRenamed = true;
    },
  };
}

/** Runs one step of the bulk path, logged (debug) with its duration. */
async function step<T>(bulk: BulkGraph, name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  const ms = Math.round(performance.now() - started);
  bulk.log.debug('migrate.graph_step', { step: name, ms });
  return result;
}

/** Whether the degrees may be counted from the check's edge ends. */
const endsTrusted = (bulk: BulkGraph) => bulk.endsComplete && !bulk.nodeRenamed;

/** Stages a batch of entities, as `entityLines` text (after the INSERT, if it started). */
export async function stageEntities(bulk: BulkGraph, lines: string): Promise<void> {
  // A node after the first edge: the INSERT holds the connection in a transaction.
  if (bulk.entityInsert) await bulk.entityInsert;
  await copyText(bulk.client, STAGE, ENTITY_LINE_COLUMNS, lines);
}

/** COPYs a batch of relations (`relationLines` text); false when a key collided. */
export async function copyRelations(bulk: BulkGraph, lines: string): Promise<boolean> {
  const client = bulk.relationsClient;
  try {
    await inTransaction(client, 'BEGIN', () =>
      copyText(client, RELATIONS_TABLE, RELATION_LINE_COLUMNS, lines),
    );
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') throw error;
    bulk.relationsByUpsert = bulk.recount = true;
    return false;
  }
}

/**
 * At the first relation, with every node before it staged: counts the degrees from the
 * edge ends, inserts the staged entities and the endpoints no node declared, while the
 * relations are being COPYed.
 */
export function startEntityInsert(bulk: BulkGraph): void {
  if (bulk.entityInsert || !endsTrusted(bulk)) return;
  bulk.entityInsert = (async () => {
    await step(bulk, 'degrees_from_ends', () => countDegrees(bulk, ENDS_DEGREES, []));
    const upTo = await step(bulk, 'entities_inserted', () => insertEntities(bulk, 0));
    // A node declared later than this merges into its bare entity, as in networkx.
    await step(bulk, 'undeclared_ends', () => addUndeclaredEndpoints(bulk));
    return upTo;
  })();
  bulk.entityInsert.catch(() => undefined); // awaited by finishBulk, or let go by abandon
}

const ENDS_DEGREES = `SELECT name, count(*)::int AS n FROM ${ENDS_TABLE} GROUP BY name`;

const RELATION_DEGREES = `SELECT name, count(*)::int AS n FROM (
    SELECT source AS name FROM ${RELATIONS_TABLE} WHERE workspace = $1
    UNION ALL SELECT target FROM ${RELATIONS_TABLE} WHERE workspace = $1) ends
  GROUP BY name`;

const DEGREE_WORK_MEM = '128MB';

/**
 * Every endpoint's degree, counted once (from the edge ends or from the relations) into a
 * temporary table, which the entities' INSERT, the undeclared endpoints and the settling
 * of degrees join (each aggregate over the relations costs seconds on a large graph).
 */
async function countDegrees(bulk: BulkGraph, query: string, params: unknown[]): Promise<void> {
  await bulk.client.query(`DROP TABLE IF EXISTS pg_temp.${DEGREES_TABLE}`);
  await bulk.client.query(`CREATE TEMP TABLE ${DEGREES_TABLE} (name TEXT COLLATE "C", n INT)`);
  await inTransaction(bulk.client, 'BEGIN', async () => {
    // One hash aggregate; the default 4 MB spills a large graph's to disk several times
    // over. For this statement only.
    await bulk.client.query(`SET LOCAL work_mem = '${DEGREE_WORK_MEM}'`);
    await bulk.client.query(`INSERT INTO ${DEGREES_TABLE} ${query}`, params);
  });
  // Temporary tables are never analysed automatically; the joins below want row counts.
  await bulk.client.query(`ANALYZE ${DEGREES_TABLE}, ${STAGE}`);
}

/**
 * The entities staged after `after` (by seq), each with its degree, in one INSERT; or, if
 * one collides, through the backend's upsert. Returns the last seq it took.
 */
async function insertEntities(bulk: BulkGraph, after: number): Promise<number> {
  const last = await bulk.client.query(`SELECT max(seq) AS seq FROM ${STAGE}`);
  const upTo = Number(last.rows[0].seq ?? 0);
  if (upTo <= after) return after;
  if (!(await insertStaged(bulk, after, upTo))) await upsertStaged(bulk, after, upTo);
  return upTo;
}

/** Staged entities in (after, upTo] in one INSERT, each with its degree; false on a collision. */
async function insertStaged(bulk: BulkGraph, after: number, upTo: number): Promise<boolean> {
  const columns = ENTITY_LINE_COLUMNS.join(', ');
  const source = ENTITY_LINE_COLUMNS.map((c) => `s.${c}`).join(', ');
  try {
    await inTransaction(bulk.client, 'BEGIN', async () => {
      await bulk.client.query(`SET LOCAL work_mem = '${DEGREE_WORK_MEM}'`);
      await bulk.client.query(
        `INSERT INTO ${ENTITIES_TABLE} (${columns}, degree)
         SELECT ${source}, COALESCE(d.n, 0)
           FROM ${STAGE} s LEFT JOIN ${DEGREES_TABLE} d ON d.name = s.name
          WHERE s.seq > $1 AND s.seq <= $2`,
        [after, upTo],
      );
    });
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') throw error;
    return false;
  }
}

/** The slow way for staged entities in (after, upTo]: the backend's upsert, in file order. */
async function upsertStaged(bulk: BulkGraph, after: number, upTo: number): Promise<void> {
  bulk.recount = true;
  const columns = ['name', ...ENTITY_COLUMNS.map((c) => c.name), 'extra', 'attr_types', 'seq'];
  // The temporary table is only visible to its own session, so it is paged here.
  for (let from = after; ;) {
    const { rows } = await bulk.client.query(
      `SELECT ${columns.join(', ')} FROM ${STAGE}
        WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT 2000`,
      [from, upTo],
    );
    if (rows.length === 0) return;
    from = Number(rows[rows.length - 1].seq);
    await bulk.upsertEntities(rows.map((row) => toEntity(row)));
  }
}

/**
 * Endpoints no node declared get a bare entity with its degree, as networkx's add_edge
 * makes one. Their names are lower-cased here, as everywhere else, not by the server.
 */
async function addUndeclaredEndpoints(bulk: BulkGraph): Promise<void> {
  // Every staged entity is in the table by now (inserted, or upserted on the slow way).
  const found = await bulk.client.query(
    `SELECT d.name FROM ${DEGREES_TABLE} d
      WHERE NOT EXISTS (SELECT 1 FROM ${STAGE} s WHERE s.name = d.name)`,
  );
  const names = found.rows.map((row) => row.name as string);
  if (names.length === 0) return;
  await bulk.client.query(
    `INSERT INTO ${ENTITIES_TABLE} (workspace, name, name_lower, entity_id, degree, updated_at)
     SELECT $1, u.name, u.lower, u.name, d.n, timezone('UTC', now())
       FROM unnest($2::text[], $3::text[]) AS u(name, lower)
       JOIN ${DEGREES_TABLE} d ON d.name = u.name
     ON CONFLICT (workspace, name) DO NOTHING`,
    [bulk.ws, names, names.map((n) => n.toLowerCase())],
  );
}

/**
 * Gives every entity the degree counted from the relations, where the slow path left
 * another, in two set-based statements. (Recounting name by name ran for hours on a large
 * workspace whose statistics were taken while it was empty.)
 */
async function settleDegrees(bulk: BulkGraph): Promise<void> {
  await bulk.client.query(`ANALYZE ${ENTITIES_TABLE}`);
  await inTransaction(bulk.client, 'BEGIN', async () => {
    await bulk.client.query(`SET LOCAL work_mem = '${DEGREE_WORK_MEM}'`);
    await bulk.client.query(
      `UPDATE ${ENTITIES_TABLE} e SET degree = d.n FROM ${DEGREES_TABLE} d
        WHERE e.workspace = $1 AND e.name = d.name AND e.degree <> d.n`,
      [bulk.ws],
    );
    await bulk.client.query(
      `UPDATE ${ENTITIES_TABLE} e SET degree = 0
        WHERE e.workspace = $1 AND e.degree <> 0
          AND NOT EXISTS (SELECT 1 FROM ${DEGREES_TABLE} d WHERE d.name = e.name)`,
      [bulk.ws],
    );
  });
}

/**
 * Lets go of the bulk path's connections after a failure. They are closed rather than
 * returned to the pool: either may be inside a transaction or a COPY (the entities'
 * INSERT may still run), and the temporary tables go with them.
 */
export function abandonBulk(bulk: BulkGraph): void {
  bulk.client.release(true);
  bulk.relationsClient.release(true);
}

/** The degrees the entities' rows must end with, counted once into the degrees table. */
async function finalDegrees(bulk: BulkGraph): Promise<void> {
  // Relations merged by the upsert, or a renamed node: only the relations table knows.
  if (bulk.relationsByUpsert || !endsTrusted(bulk)) {
    return countDegrees(bulk, RELATION_DEGREES, [bulk.ws]);
  }
  // No relation at all, so no INSERT started: the ends (none) still count.
  if (!bulk.entityInsert) await countDegrees(bulk, ENDS_DEGREES, []);
}

/**
 * After the last relation: the entities' INSERT (or, if it never started, the whole of
 * it and the endpoints no node declared), then the nodes staged after the first edge, and
 * every degree right.
 */
export async function finishBulk(bulk: BulkGraph): Promise<void> {
  bulk.relationsClient.release();
  try {
    const inserted = bulk.entityInsert ? await bulk.entityInsert : 0;
    await step(bulk, 'final_degrees', () => finalDegrees(bulk));
    await step(bulk, 'entities_left', () => insertEntities(bulk, inserted));
    if (!bulk.entityInsert) await step(bulk, 'undeclared_ends', () => addUndeclaredEndpoints(bulk));
    if (bulk.recount) await step(bulk, 'degrees_settled', () => settleDegrees(bulk));
    await bulk.client.query(
      `DROP TABLE IF EXISTS pg_temp.${STAGE}, pg_temp.${ENDS_TABLE}, pg_temp.${DEGREES_TABLE}`,
    );
  } catch (error) {
    bulk.client.release(true);
    throw error;
  }
  bulk.client.release();
}
