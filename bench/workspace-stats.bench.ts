import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { readConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { PostgresStorage } from '../src/storage/postgres/index.ts';
import { rebuildStats } from '../src/storage/postgres/stats.ts';
import type { WorkspacePage, WorkspaceQuery } from '../src/storage/types.ts';
import { parseWorkspaceQuery } from '../src/workspace/query.ts';
import { fixed, note, numberOption, percentile, table, type BenchOptions } from './bench.ts';
import { benchEnv, connectTo, withScratchDatabase } from './pg-bench.ts';

/**
 * Issue 6's figures on the machine's PostgreSQL 15 (127.0.0.1:5432), in a database of
 * its own (`ragspace_stats_bench_<random>`, dropped afterwards):
 *
 * - 10,000 workspaces holding 2,000,000 entities and about 4,000,000 relations (`--full`:
 *   10,000,000 and 20,000,000), skewed as Zipf (a few large, many small), COPYed straight
 *   into the tables with triggers off, then the statistics rebuilt;
 * - p50/p95 of the full list with statistics (all workspaces) and of a filtered, sorted
 *   page, through `PostgresStorage.listWorkspaces` (SQL and `pg` parsing included), and
 *   of the same answers from the naive GROUP BY over the tables, as ratios; target: p95
 *   < 20 ms for both ragspace queries;
 * - the write overhead of the statistics: entities + relations written through the
 *   backend, with the statement-level triggers, without triggers, and with row-level
 *   triggers that update the statistics at once (the alternative not taken);
 * - contention: 8 connections committing small transactions into one workspace.
 *
 * `npm run bench -- workspace-stats [--full] [--runs N] [--workspaces N] [--entities N]`
 */

interface Scale {
  workspaces: number;
  entities: number;
}

/** Entities per workspace: Zipf (s = 1) by a shuffled rank, summing to `total`. */
function sizes(scale: Scale): number[] {
  const weights = Array.from({ length: scale.workspaces }, (_, i) => 1 / (i + 1));
  const sum = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.max(1, Math.floor((scale.entities * w) / sum)));
  counts[0]! += scale.entities - counts.reduce((a, b) => a + b, 0);
  let state = 42;
  const rnd = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    const t = Math.imul(state ^ (state >>> 15), state | 1);
    return ((t ^ (t >>> 13)) >>> 0) / 2 ** 32;
  };
  for (let i = counts.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [counts[i], counts[j]] = [counts[j]!, counts[i]!];
  }
  return counts;
}

const wsName = (i: number) => `ws_${String(i).padStart(5, '0')}`;
const entityName = (j: number) => `Entity ${String(j).padStart(7, '0')}`;

/** Relation pairs: (j, j+1) and (j, j+2) around a ring, or every pair when n < 5. */
function* pairs(n: number): Generator<[number, number]> {
  if (n < 5) {
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) yield [a, b];
    return;
  }
  for (let j = 0; j < n; j++) {
    for (const d of [1, 2]) {
      const k = (j + d) % n;
      yield j < k ? [j, k] : [k, j];
    }
  }
}

/** COPY text, about 1 MB a chunk. */
function copyStream(lines: Generator<string>): Readable {
  return Readable.from(
    (function* () {
      let chunk = '';
      for (const line of lines) {
        chunk += line;
        if (chunk.length > 1 << 20) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    })(),
  );
}

function* entityLines(counts: number[], stamp: string): Generator<string> {
  for (const [i, n] of counts.entries()) {
    const ws = wsName(i);
    const degree = n < 5 ? n - 1 : 4;
    for (let j = 0; j < n; j++) {
      const name = entityName(j);
      const type = ['person', 'organization', 'location', 'concept'][j % 4];
      yield (
        `${ws}\t${name}\t${name.toLowerCase()}\t${name}\t${type}\tAbout ${name} of ${ws}\t` +
        `chunk-${j % 97}\tdoc-${j % 13}.pdf\t1718000000\t${degree}\t${stamp}\n`
      );
    }
  }
}

function* relationLines(counts: number[], stamp: string): Generator<string> {
  for (const [i, n] of counts.entries()) {
    const ws = wsName(i);
    for (const [a, b] of pairs(n)) {
      yield (
        `${ws}\t${entityName(a)}\t${entityName(b)}\t1\tLinks ${a} and ${b}\trelated\t` +
        `chunk-${a % 97}\tdoc-${a % 13}.pdf\t1718000000\t${stamp}\n`
      );
    }
  }
}

/** Documents (doc status) and chunks for four workspaces in five. */
function* documentLines(counts: number[], chunks: boolean, stamp: string): Generator<string> {
  for (const [i, n] of counts.entries()) {
    if (i % 5 === 0) continue;
    const docs = Math.ceil(n / 50);
    for (let d = 0; d < docs * (chunks ? 3 : 1); d++) {
      yield chunks
        ? `${wsName(i)}\tchunk-${d}\tdoc-${Math.floor(d / 3)}\ttext of chunk ${d}\t${stamp}\n`
        : `${wsName(i)}\tdoc-${d}\tprocessed\t${stamp}\n`;
    }
  }
}

const COPIES = {
  ragspace_entities:
    '(workspace, name, name_lower, entity_id, entity_type, description, source_id, file_path, ' +
    'created_at, degree, updated_at)',
  ragspace_relations:
    '(workspace, source, target, weight, description, keywords, source_id, file_path, ' +
    'created_at, updated_at)',
  lightrag_doc_status: '(workspace, id, status, updated_at)',
  lightrag_doc_chunks: '(workspace, id, full_doc_id, content, update_time)',
};

async function copyInto(client: pg.Client, table: keyof typeof COPIES, lines: Generator<string>) {
  const started = performance.now();
  await pipeline(
    copyStream(lines),
    client.query(copyFrom(`COPY ${table} ${COPIES[table]} FROM STDIN`)),
  );
  const rows = (await client.query(`SELECT count(*)::bigint AS n FROM ${table}`)).rows[0].n;
  note(`${table}: ${rows} rows in ${fixed((performance.now() - started) / 1000)} s`);
  return Number(rows);
}

/** Drops the graph's secondary indexes for the load and gives back their definitions. */
async function dropSecondaryIndexes(client: pg.Client): Promise<string[]> {
  const result = await client.query(
    `SELECT indexname, indexdef FROM pg_indexes
      WHERE tablename IN ('ragspace_entities', 'ragspace_relations')
        AND indexname NOT LIKE '%\\_pk'`,
  );
  for (const row of result.rows) await client.query(`DROP INDEX ${row.indexname}`);
  return result.rows.map((r) => r.indexdef as string);
}

interface Loaded {
  entities: number;
  relations: number;
  documents: number;
  chunks: number;
  loadSeconds: number;
  rebuildSeconds: number;
}

async function load(database: string, scale: Scale): Promise<Loaded> {
  const client = await connectTo(database);
  try {
    const counts = sizes(scale);
    const stamp = '2026-12-01 12:00:00';
    const started = performance.now();
    // Superuser only: no trigger fires in this session, so the load is a raw COPY.
    await client.query(`SET session_replication_role = replica`);
    await client.query(`SET maintenance_work_mem = '512MB'`);
    const indexes = await dropSecondaryIndexes(client);
    const loaded = {
      entities: await copyInto(client, 'ragspace_entities', entityLines(counts, stamp)),
      relations: await copyInto(client, 'ragspace_relations', relationLines(counts, stamp)),
      documents: await copyInto(client, 'lightrag_doc_status', documentLines(counts, false, stamp)),
      chunks: await copyInto(client, 'lightrag_doc_chunks', documentLines(counts, true, stamp)),
    };
    for (const definition of indexes) await client.query(definition);
    await client.query('RESET session_replication_role');
    const loadSeconds = (performance.now() - started) / 1000;
    note(`loaded and indexed in ${fixed(loadSeconds)} s; rebuilding the statistics`);
    const rebuilt = performance.now();
    await rebuildStats(client, { progress: (line) => note(line) });
    const rebuildSeconds = (performance.now() - rebuilt) / 1000;
    await client.query('VACUUM ANALYZE');
    return { ...loaded, loadSeconds, rebuildSeconds };
  } finally {
    await client.end();
  }
}

const NAIVE_SOURCES: [string, string, string][] = [
  ['e', 'ragspace_entities', 'updated_at'],
  ['r', 'ragspace_relations', 'updated_at'],
  ['d', 'lightrag_doc_status', 'updated_at'],
  ['f', 'lightrag_doc_full', 'update_time'],
  ['c', 'lightrag_doc_chunks', 'update_time'],
  ['w', 'ragspace_workspaces', 'updated_at'],
];

/**
 * The naive answer: every count by GROUP BY over the tables at request time. Written the
 * fast way (each table aggregated once, the results added up by workspace: hash
 * aggregates, no joins for the planner to misjudge), so the ratio is not flattered.
 */
function naiveSql(where: string, order: string, limit: number): string {
  const parts = NAIVE_SOURCES.map(([key, table, stamp]) => {
    const columns = NAIVE_SOURCES.map(([k]) => (k === key ? 'count(*)' : '0') + ` AS ${k}`);
    return `SELECT workspace, ${columns.join(', ')}, max(${stamp}) AS u
              FROM ${table} GROUP BY workspace`;
  });
  return `WITH s AS (
      SELECT workspace COLLATE "C" AS name, sum(e) AS entity_count, sum(r) AS relation_count,
             CASE WHEN sum(d) > 0 THEN sum(d) ELSE sum(f) END AS document_count,
             sum(c) AS chunk_count, date_trunc('milliseconds', max(u)) AS updated_at
        FROM (${parts.join(' UNION ALL ')}) x GROUP BY workspace)
    SELECT *, count(*) OVER () AS total FROM s WHERE ${where} ORDER BY ${order} LIMIT ${limit}`;
}

interface Case {
  label: string;
  params: Record<string, string>;
  naive: string;
}

function cases(scale: Scale): Case[] {
  return [
    {
      label: `full list (all ${scale.workspaces}, by name)`,
      params: { limit: String(Math.min(scale.workspaces + 100, 10_000)) },
      naive: naiveSql('true', 'name', 10_000),
    },
    {
      label: 'q=7, min_entities=100, sort=-entity_count, limit 50',
      params: { q: '7', min_entities: '100', sort: '-entity_count', limit: '50' },
      naive: naiveSql(
        `strpos(lower(name), '7') > 0 AND entity_count >= 100`,
        'entity_count DESC, name',
        50,
      ),
    },
  ];
}

async function timings(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times;
}

/** The naive rows must be the list's rows: the comparison is of equal answers. */
function checkSame(page: WorkspacePage, rows: Record<string, unknown>[], label: string): void {
  const listed = page.workspaces.map((w) => `${w.name}:${w.entity_count}:${w.relation_count}`);
  const naive = rows.map((r) => `${r.name}:${r.entity_count}:${r.relation_count}`);
  if (JSON.stringify(listed) !== JSON.stringify(naive) || Number(rows[0]?.total) !== page.count) {
    throw new Error(`${label}: the naive query answered differently`);
  }
}

/** GET /api/workspaces/{name} and label search on the largest workspace (p50, p95 ms). */
async function measureLargest(storage: PostgresStorage, scale: Scale, runs: number) {
  const counts = sizes(scale);
  const largest = wsName(counts.indexOf(Math.max(...counts)));
  const search = (q: string) => () => storage.read(largest, (r) => r.searchLabels(q, 20));
  const figures: [string, number[]][] = [
    [
      `describe ${largest} (${Math.max(...counts)} entities)`,
      await timings(5, () => storage.describeWorkspace(largest)),
    ],
    ['label search, prefix "entity 00012"', await timings(runs, search('entity 00012'))],
    ['label search, substring "0001234"', await timings(runs, search('0001234'))],
  ];
  return figures.map(([label, times]) => [
    label,
    fixed(percentile(times, 0.5), 1),
    fixed(percentile(times, 0.95), 1),
  ]);
}

interface QueryFigures {
  label: string;
  rows: number;
  p50: number;
  p95: number;
  /** The first list after another program's write (the copy in memory is fetched again). */
  changedP50: number;
  changedP95: number;
  /** With every filter in SQL (RAGSPACE_LIST_CACHE_WORKSPACES=0). */
  sqlP50: number;
  sqlP95: number;
  serverP50: number;
  serverP95: number;
  naiveP50: number;
  naiveP95: number;
}

interface Statement {
  text: string;
  values: unknown[];
}

/**
 * The statement `listWorkspaces` sends, seen on its way out (measurement only), so its
 * execution in the server can be timed apart from moving and parsing the rows in Node.
 */
async function sentStatement(fn: () => Promise<unknown>): Promise<Statement> {
  const original = pg.Client.prototype.query;
  let seen: Statement | undefined;
  const spy = function (this: pg.Client, ...args: unknown[]) {
    if (typeof args[0] === 'string' && args[0].includes('count(*) OVER ()')) {
      seen = { text: args[0], values: (args[1] as unknown[]) ?? [] };
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  pg.Client.prototype.query = spy as typeof original;
  try {
    await fn();
  } finally {
    pg.Client.prototype.query = original;
  }
  if (!seen) throw new Error('the list statement was not seen');
  return seen;
}

/** Execution time in the server alone (EXPLAIN ANALYZE without per-node timing). */
async function serverTimes(client: pg.Client, statement: Statement, runs: number) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const plan = await client.query(
      `EXPLAIN (ANALYZE, TIMING OFF) ${statement.text}`,
      statement.values,
    );
    const last = plan.rows.at(-1)['QUERY PLAN'] as string;
    times.push(Number(/Execution Time: ([\d.]+)/.exec(last)?.[1]));
  }
  return times;
}

/** Lists right after another program's one-row write to a small workspace, each time. */
async function timingsAfterWrites(
  client: pg.Client,
  ws: string,
  runs: number,
  list: () => Promise<unknown>,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await client.query(
      `INSERT INTO lightrag_llm_cache (workspace, id, return_value) VALUES ($2, $1, 'r')
       ON CONFLICT (workspace, id) DO UPDATE SET return_value = 'r2'`,
      [`bench-${i}`, ws],
    );
    times.push(...(await timings(1, list)));
  }
  return times;
}

async function measureQueries(
  storages: { kept: PostgresStorage; sql: PostgresStorage },
  database: string,
  scale: Scale,
  runs: number,
): Promise<QueryFigures[]> {
  const client = await connectTo(database);
  const figures: QueryFigures[] = [];
  try {
    for (const c of cases(scale)) {
      const query: WorkspaceQuery = parseWorkspaceQuery(c.params);
      const page = await storages.kept.listWorkspaces(query);
      checkSame(page, (await client.query(c.naive)).rows, c.label);
      assert.deepEqual(await storages.sql.listWorkspaces(query), page, c.label);
      const fast = await timings(runs, () => storages.kept.listWorkspaces(query));
      const changed = await timingsAfterWrites(client, wsName(scale.workspaces - 1), runs, () =>
        storages.kept.listWorkspaces(query),
      );
      const sql = await timings(runs, () => storages.sql.listWorkspaces(query));
      const statement = await sentStatement(() => storages.sql.listWorkspaces(query));
      const server = await serverTimes(client, statement, runs);
      note(`${c.label}: p50 ${fixed(percentile(fast, 0.5))} ms; now the naive query`);
      const slow = await timings(Math.max(3, Math.round(runs / 8)), () => client.query(c.naive));
      figures.push({
        label: c.label,
        rows: page.workspaces.length,
        p50: percentile(fast, 0.5),
        p95: percentile(fast, 0.95),
        changedP50: percentile(changed, 0.5),
        changedP95: percentile(changed, 0.95),
        sqlP50: percentile(sql, 0.5),
        sqlP95: percentile(sql, 0.95),
        serverP50: percentile(server, 0.5),
        serverP95: percentile(server, 0.95),
        naiveP50: percentile(slow, 0.5),
        naiveP95: percentile(slow, 0.95),
      });
    }
  } finally {
    await client.end();
  }
  return figures;
}

const STATS_TRIGGERS = ['ragspace_stats_ins', 'ragspace_stats_upd', 'ragspace_stats_del'];

/** A table the write measurements switch between trigger modes. */
interface Target {
  table: string;
  counter: string;
  stamp: string;
}

const GRAPH: Target[] = [
  { table: 'ragspace_entities', counter: 'entity_count', stamp: 'updated_at' },
  { table: 'ragspace_relations', counter: 'relation_count', stamp: 'updated_at' },
];
const CHUNKS: Target[] = [
  { table: 'lightrag_doc_chunks', counter: 'chunk_count', stamp: 'update_time' },
];

/**
 * The alternative not taken: row-level triggers updating the statistics row at once
 * (static SQL, so the comparison is fair to it).
 */
function rowLevelFunction(target: Target): string {
  const { counter, stamp } = target;
  return `CREATE OR REPLACE FUNCTION bench_row_${counter}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO ragspace_workspace_stats AS s (workspace, ${counter}, updated_at)
        VALUES (NEW.workspace, 1, NEW.${stamp})
        ON CONFLICT (workspace) DO UPDATE SET ${counter} = s.${counter} + 1,
          updated_at = GREATEST(s.updated_at, EXCLUDED.updated_at);
      ELSE
        UPDATE ragspace_workspace_stats SET ${counter} = ${counter} - 1
         WHERE workspace = OLD.workspace;
      END IF;
      RETURN NULL;
    END $$`;
}

type Mode = 'statement-level (kept)' | 'no triggers' | 'row-level, immediate';
const MODES: Mode[] = ['statement-level (kept)', 'no triggers', 'row-level, immediate'];

async function setMode(client: pg.Client, targets: Target[], mode: Mode): Promise<void> {
  const action = mode === 'statement-level (kept)' ? 'ENABLE' : 'DISABLE';
  for (const target of targets) {
    for (const name of STATS_TRIGGERS) {
      await client.query(`ALTER TABLE ${target.table} ${action} TRIGGER ${name}`);
    }
    await client.query(`DROP TRIGGER IF EXISTS bench_row ON ${target.table}`);
    if (mode !== 'row-level, immediate') continue;
    await client.query(rowLevelFunction(target));
    await client.query(
      `CREATE TRIGGER bench_row AFTER INSERT OR DELETE ON ${target.table}
         FOR EACH ROW EXECUTE FUNCTION bench_row_${target.counter}()`,
    );
  }
}

/** Runs `write(mode, round)` for every mode, interleaved, `rounds` times; median seconds. */
async function perMode(
  client: pg.Client,
  targets: Target[],
  rounds: number,
  write: (mode: Mode, round: number) => Promise<void>,
): Promise<Map<Mode, number>> {
  const times = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) {
    for (const mode of MODES) {
      await setMode(client, targets, mode);
      const started = performance.now();
      await write(mode, round);
      times.get(mode)!.push((performance.now() - started) / 1000);
    }
  }
  await setMode(client, targets, 'statement-level (kept)');
  return new Map(MODES.map((m) => [m, percentile(times.get(m)!, 0.5)]));
}

/** A write of `entities` new entities and about twice as many relations, through the backend. */
async function writeBatch(storage: PostgresStorage, ws: string, entities: number) {
  await storage.write(ws, async (w) => {
    for (let j = 0; j < entities; j++) {
      const properties = { entity_type: 'concept', description: `Entity ${j} of ${ws}` };
      await w.upsertEntity({ name: entityName(j), properties });
    }
    for (const [a, b] of pairs(entities)) {
      const properties = { description: `Links ${a} and ${b}`, keywords: 'related', weight: 1 };
      await w.upsertRelation({ source: entityName(a), target: entityName(b), properties });
    }
  });
}

export interface Rate {
  mode: Mode;
  perSecond: number;
}

const rates = (seconds: Map<Mode, number>, units: number): Rate[] =>
  MODES.map((mode) => ({ mode, perSecond: units / seconds.get(mode)! }));

/** Two writes of 10,000 entities and 20,000 relations (COPY on a real server). */
async function measureBulk(storage: PostgresStorage, database: string): Promise<Rate[]> {
  const client = await connectTo(database);
  try {
    const seconds = await perMode(client, GRAPH, 2, async (mode, round) => {
      for (let k = 0; k < 2; k++) {
        await writeBatch(storage, `bulk_${round}_${MODES.indexOf(mode)}_${k}`, 10_000);
      }
    });
    return rates(seconds, 2 * 30_000);
  } finally {
    await client.end();
  }
}

/**
 * LightRAG's pattern: single-row upserts, 200 per transaction, pipelined as asyncpg's
 * executemany sends them: the triggers' cost per statement, not per row.
 */
async function measureSingleRows(database: string): Promise<Rate[]> {
  const admin = await connectTo(database);
  const client = await connectTo(database, true);
  const sql = `INSERT INTO lightrag_doc_chunks (workspace, id, content) VALUES ($1, $2, 'text')
               ON CONFLICT (workspace, id) DO UPDATE SET content = EXCLUDED.content`;
  try {
    const seconds = await perMode(admin, CHUNKS, 3, async (mode, round) => {
      const ws = `single_${round}_${MODES.indexOf(mode)}`;
      for (let batch = 0; batch < 25; batch++) {
        const sent: Promise<unknown>[] = [client.query('BEGIN')];
        for (let i = 0; i < 200; i++) {
          sent.push(client.query({ name: 'upsert', text: sql, values: [ws, `c${batch}-${i}`] }));
        }
        sent.push(client.query('COMMIT'));
        await Promise.all(sent);
      }
    });
    return rates(seconds, 25 * 200);
  } finally {
    await client.end();
    await admin.end();
  }
}

/** 8 connections, each committing 40 transactions of 5 single-row inserts, one workspace. */
async function measureContention(database: string): Promise<Rate[]> {
  const admin = await connectTo(database);
  try {
    const seconds = await perMode(admin, CHUNKS, 1, (mode) =>
      Promise.all(Array.from({ length: 8 }, (_, n) => contentionWriter(database, mode, n))).then(),
    );
    return rates(seconds, 8 * 40);
  } finally {
    await admin.end();
  }
}

async function contentionWriter(database: string, mode: Mode, n: number): Promise<void> {
  const client = await connectTo(database);
  try {
    for (let t = 0; t < 40; t++) {
      await client.query('BEGIN');
      for (let s = 0; s < 5; s++) {
        await client.query(
          `INSERT INTO lightrag_doc_chunks (workspace, id, content) VALUES ('hot', $1, 'x')`,
          [`${MODES.indexOf(mode)}-${n}-${t}-${s}`],
        );
      }
      await client.query('COMMIT');
    }
  } finally {
    await client.end();
  }
}

function scaleOf(args: string[]): Scale {
  const full = args.includes('--full');
  return {
    workspaces: numberOption(args, 'workspaces', 10_000),
    entities: numberOption(args, 'entities', full ? 10_000_000 : 2_000_000),
  };
}

export async function run(options: BenchOptions): Promise<void> {
  const scale = scaleOf(options.args);
  const runs = numberOption(options.args, 'runs', 40);
  await withScratchDatabase('ragspace_stats_bench', async (database) => {
    const storage = await PostgresStorage.open(readConfig(benchEnv(database)), {
      log: silentLogger,
    });
    const sqlEnv = { ...benchEnv(database), RAGSPACE_LIST_CACHE_WORKSPACES: '0' };
    const sql = await PostgresStorage.open(readConfig(sqlEnv), { log: silentLogger });
    try {
      note(`loading ${scale.entities} entities into ${scale.workspaces} workspaces`);
      const loaded = await load(database, scale);
      const queries = await measureQueries({ kept: storage, sql }, database, scale, runs);
      const largest = await measureLargest(storage, scale, runs);
      note('bulk writes through the backend, three ways');
      const bulk = await measureBulk(storage, database);
      note("LightRAG's single-row upserts, three ways");
      const single = await measureSingleRows(database);
      note('8 concurrent writers of one workspace, three ways');
      const contention = await measureContention(database);
      report(scale, loaded, queries, { bulk, single, contention, largest });
    } finally {
      await storage.close();
      await sql.close();
    }
  });
}

interface Measured {
  bulk: Rate[];
  single: Rate[];
  contention: Rate[];
  largest: string[][];
}

function rateTable(title: string, unit: string, figures: Rate[]): string {
  const base = figures.find((f) => f.mode === 'no triggers')!.perSecond;
  return table(
    [title, unit, 'vs no triggers'],
    figures.map((f) => [f.mode, fixed(f.perSecond, 0), fixed(f.perSecond / base, 2)]),
  );
}

function report(scale: Scale, loaded: Loaded, queries: QueryFigures[], measured: Measured) {
  console.log(
    `\nWorkspace statistics: ${scale.workspaces} workspaces, ${loaded.entities} entities, ` +
      `${loaded.relations} relations, ${loaded.documents} documents, ${loaded.chunks} chunks`,
  );
  console.log(
    `COPY load + indexes ${fixed(loaded.loadSeconds)} s; ` +
      `statistics rebuilt in ${fixed(loaded.rebuildSeconds, 2)} s\n`,
  );
  const ms = (v: number) => fixed(v, 1);
  const pair = (p50: number, p95: number) => `${ms(p50)} / ${ms(p95)}`;
  const rows = queries.map((q) => [
    q.label,
    String(q.rows),
    pair(q.p50, q.p95),
    q.p95 < 20 ? 'yes' : 'NO',
    pair(q.changedP50, q.changedP95),
    pair(q.sqlP50, q.sqlP95),
    pair(q.serverP50, q.serverP95),
    pair(q.naiveP50, q.naiveP95),
    `${fixed(q.naiveP50 / q.p50, 0)}x`,
  ]);
  const headers = ['query', 'rows', 'p50 / p95 ms', 'p95 < 20', 'after a write', 'all in SQL'];
  console.log(table([...headers, 'in the server', 'naive', 'naive / ragspace (p50)'], rows));
  console.log(table(['the largest workspace', 'p50 ms', 'p95 ms'], measured.largest));
  console.log(rateTable('bulk writes through the backend', 'rows/s', measured.bulk));
  console.log(
    rateTable("LightRAG's single-row upserts, 200 a transaction", 'rows/s', measured.single),
  );
  console.log(
    rateTable('8 writers, one workspace, 5-row transactions', 'commits/s', measured.contention),
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}
