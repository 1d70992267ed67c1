import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { readConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { PostgresStorage } from '../src/storage/postgres/index.ts';
import type { KvRecord } from '../src/storage/types.ts';
import { numberOption, type BenchOptions } from './bench.ts';
import { benchEnv, connectTo, withScratchDatabase } from './pg-bench.ts';

/**
 * Issue 4's write figures, on the machine's PostgreSQL 15 (127.0.0.1:5432) in a database
 * of its own (`ragspace_test_bench_<random>`, dropped afterwards). The same N entities,
 * N relations and N entity_chunks records are written three ways into emptied tables:
 *
 * - ragspace: `PostgresStorage.write`, upserting one by one through the writer (batched
 *   by the backend into multi-row INSERT or COPY + INSERT ... SELECT ... ON CONFLICT), as
 *   one write (an import) and as writes of 10,000 entities whose relations also reach
 *   entities of other writes (so existing rows get updated);
 * - LightRAG's pattern: single-row INSERT ... ON CONFLICT DO UPDATE statements, prepared
 *   once and sent 200 at a time in one pipelined round trip per batch and transaction,
 *   which is what asyncpg's executemany does for LightRAG's upserts;
 * - raw COPY of the same rows (no conflict handling: the floor no upsert can beat).
 *
 * Targets: ragspace >= 5x LightRAG's pattern, and at least half of raw COPY's rows/s.
 */
const WRITE_SIZE = 10_000;
const LIGHTRAG_BATCH = 200;

interface Row {
  name: string;
  entity: {
    entity_type: string;
    description: string;
    source_id: string;
    file_path: string;
    created_at: number;
  };
  target: string;
  relation: {
    weight: number;
    description: string;
    keywords: string;
    source_id: string;
    file_path: string;
    created_at: number;
  };
  chunks: string[];
}

function makeRows(n: number): Row[] {
  const name = (i: number) => `Entity ${String(i).padStart(7, '0')}`;
  return Array.from({ length: n }, (_, i) => {
    const chunk = `chunk-${randomBytes(16).toString('hex')}`;
    return {
      name: name(i),
      entity: {
        entity_type: ['person', 'organization', 'location', 'concept'][i % 4]!,
        description: `Description of entity ${i}: ${'lorem ipsum dolor sit amet '.repeat(3)}`,
        source_id: chunk,
        file_path: `doc-${i % 97}.pdf`,
        created_at: 1_718_000_000 + i,
      },
      target: name((i * 7 + 1) % n),
      relation: {
        weight: 1 + (i % 5) / 2,
        description: `Relation from entity ${i}: ${'consectetur adipiscing '.repeat(2)}`,
        keywords: 'related,linked',
        source_id: chunk,
        file_path: `doc-${i % 97}.pdf`,
        created_at: 1_718_000_000 + i,
      },
      chunks: [chunk],
    };
  });
}

async function truncate(database: string): Promise<void> {
  const c = await connectTo(database);
  await c.query(
    'TRUNCATE ragspace_entities, ragspace_relations, lightrag_entity_chunks, ragspace_workspaces',
  );
  await c.query('VACUUM ANALYZE');
  await c.end();
}

async function viaRagspace(storage: PostgresStorage, rows: Row[], size: number): Promise<void> {
  for (let start = 0; start < rows.length; start += size) {
    const slice = rows.slice(start, start + size);
    await storage.write('bench', async (w) => {
      for (const row of slice) await w.upsertEntity({ name: row.name, properties: row.entity });
      for (const row of slice) {
        await w.upsertRelation({ source: row.name, target: row.target, properties: row.relation });
      }
      const chunks = new Map<string, KvRecord>(
        slice.map((r) => [r.name, { chunk_ids: r.chunks, count: 1 }]),
      );
      await w.upsertKv('entity_chunks', chunks);
    });
  }
}

/** The rows the LightRAG pattern and COPY write, as column lists and values per row. */
interface TableRows {
  table: string;
  key: string[];
  columns: string[];
  values: (workspace: string, row: Row, now: string) => (string | number)[];
}

function ordered(row: Row): [string, string] {
  return row.name < row.target ? [row.name, row.target] : [row.target, row.name];
}

const ENTITY_COLUMNS = 'workspace name name_lower entity_id entity_type description';
const RELATION_COLUMNS = 'workspace source target weight description keywords';
const COMMON_COLUMNS = 'source_id file_path created_at';

function entityValues(ws: string, { name, entity: e }: Row): (string | number)[] {
  const head = [ws, name, name.toLowerCase(), name, e.entity_type, e.description];
  return [...head, e.source_id, e.file_path, e.created_at];
}

function relationValues(ws: string, row: Row): (string | number)[] {
  const r = row.relation;
  const head = [ws, ...ordered(row), r.weight, r.description, r.keywords];
  return [...head, r.source_id, r.file_path, r.created_at];
}

const TABLES: Record<'entity' | 'relation' | 'chunks', TableRows> = {
  entity: {
    table: 'ragspace_entities',
    key: ['workspace', 'name'],
    columns: `${ENTITY_COLUMNS} ${COMMON_COLUMNS}`.split(' '),
    values: entityValues,
  },
  relation: {
    table: 'ragspace_relations',
    key: ['workspace', 'source', 'target'],
    columns: `${RELATION_COLUMNS} ${COMMON_COLUMNS}`.split(' '),
    values: relationValues,
  },
  chunks: {
    table: 'lightrag_entity_chunks',
    key: ['workspace', 'id'],
    columns: ['workspace', 'id', 'chunk_ids', 'count', 'create_time', 'update_time'],
    values: (ws, row, now) => [ws, row.name, JSON.stringify(row.chunks), 1, now, now],
  },
};

/** LightRAG's upsert shape: one row, ON CONFLICT overwriting the other columns. */
function singleRowUpsert(t: TableRows): string {
  const params = t.columns.map((_, i) => `$${i + 1}`).join(', ');
  const sets = t.columns
    .filter((c) => !t.key.includes(c) && c !== 'create_time')
    .map((c) => `${c} = EXCLUDED.${c}`);
  return (
    `INSERT INTO ${t.table} (${t.columns.join(', ')}) VALUES (${params}) ` +
    `ON CONFLICT (${t.key.join(', ')}) DO UPDATE SET ${sets.join(', ')}`
  );
}

/** One executemany: BEGIN, 200 prepared single-row statements and COMMIT, pipelined. */
async function executemany(c: pg.Client, kind: keyof typeof TABLES, rows: Row[], now: string) {
  const t = TABLES[kind];
  const text = singleRowUpsert(t);
  const sent: Promise<unknown>[] = [c.query('BEGIN')];
  for (const row of rows)
    sent.push(c.query({ name: kind, text, values: t.values('lightrag', row, now) }));
  sent.push(c.query('COMMIT'));
  await Promise.all(sent);
}

async function viaLightragPattern(database: string, rows: Row[]): Promise<void> {
  const c = await connectTo(database, true);
  const now = new Date().toISOString();
  try {
    for (const kind of ['entity', 'relation', 'chunks'] as const) {
      for (let i = 0; i < rows.length; i += LIGHTRAG_BATCH) {
        await executemany(c, kind, rows.slice(i, i + LIGHTRAG_BATCH), now);
      }
    }
  } finally {
    await c.end();
  }
}

const COPY_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};

function copyText(value: string | number): string {
  return String(value).replace(/[\\\t\n\r]/g, (ch) => COPY_ESCAPES[ch]!);
}

function* copyLines(t: TableRows, rows: Row[], now: string): Generator<string> {
  for (let i = 0; i < rows.length; i += 1000) {
    const lines = rows.slice(i, i + 1000).map((row) => t.values('copy', row, now).map(copyText));
    yield lines.map((line) => line.join('\t') + '\n').join('');
  }
}

async function viaCopy(database: string, rows: Row[]): Promise<void> {
  const c = await connectTo(database);
  const now = new Date().toISOString();
  try {
    await c.query('BEGIN');
    for (const t of Object.values(TABLES)) {
      const sql = `COPY ${t.table} (${t.columns.join(', ')}) FROM STDIN`;
      await pipeline(Readable.from(copyLines(t, rows, now)), c.query(copyFrom(sql)));
    }
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
}

/** Wall seconds, and this process's CPU seconds (encoding, driver) meanwhile. */
async function timed(fn: () => Promise<void>): Promise<{ seconds: number; cpu: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
}

interface Path {
  label: string;
  write: () => Promise<void>;
}

/** Runs every path `repeats` times, interleaved, each into emptied tables; medians. */
async function measure(database: string, paths: Path[], repeats: number) {
  const runs = new Map<string, { seconds: number; cpu: number }[]>(paths.map((p) => [p.label, []]));
  for (let round = 0; round < repeats; round++) {
    for (const path of paths) {
      await truncate(database);
      runs.get(path.label)!.push(await timed(path.write));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  return paths.map((p) => {
    const of = runs.get(p.label)!;
    return {
      label: p.label,
      seconds: median(of.map((r) => r.seconds)),
      cpu: median(of.map((r) => r.cpu)),
    };
  });
}

/**
 * The workspace statistics (stats.ts) keep counts with triggers on every table, which
 * every path pays. By default they are detached in the bench database, so the figures
 * are the write paths themselves; `withStats` measures the tables as ragspace ships them.
 */
async function detachStats(database: string): Promise<void> {
  const c = await connectTo(database);
  await c.query('SELECT ragspace_stats_detach_all()');
  await c.end();
}

interface Options {
  quick?: boolean;
  withStats?: boolean;
  runs?: number;
}

/** From `npm run bench -- postgres-writes [--quick] [--with-stats] [--runs N]` too. */
function optionsOf(options: Options & Partial<BenchOptions>): Options {
  const args = options.args ?? [];
  return {
    quick: options.quick ?? args.includes('--quick'),
    withStats: options.withStats ?? args.includes('--with-stats'),
    runs: options.runs ?? numberOption(args, 'runs', 3),
  };
}

export async function run(given: Options & Partial<BenchOptions> = {}) {
  const options = optionsOf(given);
  const n = options.quick ? 20_000 : 100_000;
  const rows = makeRows(n);
  await withScratchDatabase('ragspace_test_bench', async (database) => {
    const storage = await PostgresStorage.open(readConfig(benchEnv(database)), {
      log: silentLogger,
    });
    if (!options.withStats) await detachStats(database);
    console.log(`\nstatistics triggers: ${options.withStats ? 'attached' : 'detached'}`);
    try {
      const paths: Path[] = [
        { label: LABELS.lightrag, write: () => viaLightragPattern(database, rows) },
        { label: LABELS.copy, write: () => viaCopy(database, rows) },
        { label: LABELS.one, write: () => viaRagspace(storage, rows, rows.length) },
        { label: LABELS.many, write: () => viaRagspace(storage, rows, WRITE_SIZE) },
      ];
      report(n, rows.length * 3, await measure(database, paths, options.runs ?? 3));
    } finally {
      await storage.close();
    }
  });
}

const LABELS = {
  lightrag: 'LightRAG pattern: single-row upserts, 200 per executemany',
  copy: 'raw COPY, no upsert (floor)',
  one: 'ragspace: one write()',
  many: `ragspace: write()s of ${WRITE_SIZE} entities`,
};

interface Result {
  label: string;
  seconds: number;
  cpu: number;
}

function report(n: number, total: number, results: Result[]) {
  const rate = (label: string) => total / results.find((r) => r.label === label)!.seconds;
  console.log(`\nPostgreSQL writes: ${n} entities + ${n} relations + ${n} entity_chunks`);
  console.log(`(${total} rows; median of interleaved runs; client CPU = this Node process)`);
  const head = `${'seconds'.padStart(8)} ${'rows/s'.padStart(10)} ${'client CPU s'.padStart(13)}`;
  console.log(`${'path'.padEnd(60)} ${head}`);
  for (const { label, seconds, cpu } of results) {
    const rows = rate(label).toFixed(0).padStart(10);
    const times = `${seconds.toFixed(2).padStart(8)} ${rows} ${cpu.toFixed(2).padStart(13)}`;
    console.log(`${label.padEnd(60)} ${times}`);
  }
  for (const label of [LABELS.one, LABELS.many]) {
    const vsLightrag = (rate(label) / rate(LABELS.lightrag)).toFixed(1);
    const vsCopy = (rate(label) / rate(LABELS.copy)).toFixed(2);
    console.log(
      `${label}: ${vsLightrag}x LightRAG's pattern (target >= 5), ${vsCopy} of COPY (>= 0.5)`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run({ args: process.argv.slice(2) });
}
