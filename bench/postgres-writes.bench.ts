import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { readConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { PostgresStorage } from '../src/storage/postgres/index.ts';
import type { KvRecord } from '../src/storage/types.ts';

/**
 * Issue 4's write figures, on the machine's PostgreSQL 15 (127.0.0.1:5432) in a database
 * of its own (`ragspace_test_bench_<random>`, dropped afterwards). The same N entities,
 * N relations and N entity_chunks records are written three ways into emptied tables:
 *
 * - ragspace: `PostgresStorage.write`, upserting one by one through the writer (batched
 *   into multi-row INSERT ... ON CONFLICT by the backend), 10,000 entities per write;
 * - LightRAG's pattern: single-row INSERT ... ON CONFLICT DO UPDATE statements, prepared
 *   once and sent 200 at a time in one pipelined round trip per batch and transaction,
 *   which is what asyncpg's executemany does for LightRAG's upserts;
 * - raw COPY of the same rows (no conflict handling: the floor no upsert can beat).
 *
 * Targets: ragspace >= 5x LightRAG's pattern, and at least half of raw COPY's rows/s.
 */
const HOST = process.env.RAGSPACE_TEST_PG_HOST ?? '127.0.0.1';
const PORT = Number(process.env.RAGSPACE_TEST_PG_PORT ?? 5432);
const USER = process.env.RAGSPACE_TEST_PG_USER ?? 'postgres';
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

function env(database: string): Record<string, string> {
  return {
    POSTGRES_HOST: HOST,
    POSTGRES_PORT: String(PORT),
    POSTGRES_USER: USER,
    POSTGRES_PASSWORD: process.env.RAGSPACE_TEST_PG_PASSWORD ?? 'unused',
    POSTGRES_DATABASE: database,
    POSTGRES_SSL_MODE: 'disable',
    LIGHTRAG_KV_STORAGE: 'PGKVStorage',
    LIGHTRAG_GRAPH_STORAGE: 'PGGraphStorage',
    LIGHTRAG_DOC_STATUS_STORAGE: 'PGDocStatusStorage',
    LOG_LEVEL: 'error',
  };
}

async function client(database: string, pipelined = false): Promise<pg.Client> {
  const c = new pg.Client({
    host: HOST,
    port: PORT,
    user: USER,
    database,
    pipeline: pipelined,
  } as pg.ClientConfig);
  await c.connect();
  return c;
}

async function truncate(database: string): Promise<void> {
  const c = await client(database);
  await c.query(
    'TRUNCATE ragspace_entities, ragspace_relations, lightrag_entity_chunks, ragspace_workspaces',
  );
  await c.query('VACUUM ANALYZE');
  await c.end();
}

async function viaRagspace(storage: PostgresStorage, rows: Row[]): Promise<void> {
  for (let start = 0; start < rows.length; start += WRITE_SIZE) {
    const slice = rows.slice(start, start + WRITE_SIZE);
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

const LIGHTRAG_SQL = {
  entity: `INSERT INTO ragspace_entities (workspace, name, name_lower, entity_id, entity_type, description,
             source_id, file_path, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
           ON CONFLICT (workspace, name) DO UPDATE SET entity_type = EXCLUDED.entity_type,
             description = EXCLUDED.description, source_id = EXCLUDED.source_id,
             file_path = EXCLUDED.file_path, created_at = EXCLUDED.created_at`,
  relation: `INSERT INTO ragspace_relations (workspace, source, target, weight, description, keywords,
               source_id, file_path, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
             ON CONFLICT (workspace, source, target) DO UPDATE SET weight = EXCLUDED.weight,
               description = EXCLUDED.description, keywords = EXCLUDED.keywords,
               source_id = EXCLUDED.source_id, file_path = EXCLUDED.file_path,
               created_at = EXCLUDED.created_at`,
  chunks: `INSERT INTO lightrag_entity_chunks (workspace, id, chunk_ids, count, create_time, update_time)
           VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (workspace, id) DO UPDATE SET
             chunk_ids = EXCLUDED.chunk_ids, count = EXCLUDED.count, update_time = EXCLUDED.update_time`,
};

function lightragParams(kind: keyof typeof LIGHTRAG_SQL, row: Row): unknown[] {
  const e = row.entity;
  const r = row.relation;
  const [source, target] = row.name < row.target ? [row.name, row.target] : [row.target, row.name];
  if (kind === 'entity') {
    return [
      'lightrag',
      row.name,
      row.name.toLowerCase(),
      row.name,
      e.entity_type,
      e.description,
      e.source_id,
      e.file_path,
      e.created_at,
    ];
  }
  if (kind === 'relation') {
    return [
      'lightrag',
      source,
      target,
      r.weight,
      r.description,
      r.keywords,
      r.source_id,
      r.file_path,
      r.created_at,
    ];
  }
  const now = new Date();
  return ['lightrag', row.name, JSON.stringify(row.chunks), 1, now, now];
}

/** One executemany: BEGIN, 200 prepared single-row statements and COMMIT, pipelined. */
async function executemany(
  c: pg.Client,
  kind: keyof typeof LIGHTRAG_SQL,
  rows: Row[],
): Promise<void> {
  const sent: Promise<unknown>[] = [c.query('BEGIN')];
  for (const row of rows)
    sent.push(c.query({ name: kind, text: LIGHTRAG_SQL[kind], values: lightragParams(kind, row) }));
  sent.push(c.query('COMMIT'));
  await Promise.all(sent);
}

async function viaLightragPattern(database: string, rows: Row[]): Promise<void> {
  const c = await client(database, true);
  try {
    for (const kind of ['entity', 'relation', 'chunks'] as const) {
      for (let i = 0; i < rows.length; i += LIGHTRAG_BATCH) {
        await executemany(c, kind, rows.slice(i, i + LIGHTRAG_BATCH));
      }
    }
  } finally {
    await c.end();
  }
}

function copyText(value: string | number): string {
  return String(value).replace(
    /[\\\t\n\r]/g,
    (ch) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[ch]!,
  );
}

function copyLines(rows: Row[], line: (row: Row) => (string | number)[]): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < rows.length; i += 1000) {
        yield rows
          .slice(i, i + 1000)
          .map((row) => line(row).map(copyText).join('\t') + '\n')
          .join('');
      }
    })(),
  );
}

async function viaCopy(database: string, rows: Row[]): Promise<void> {
  const c = await client(database);
  const stamp = new Date().toISOString();
  try {
    await c.query('BEGIN');
    const entities =
      'COPY ragspace_entities (workspace, name, name_lower, entity_id, entity_type, description, source_id, file_path, created_at) FROM STDIN';
    await pipeline(
      copyLines(rows, (r) => [
        'copy',
        r.name,
        r.name.toLowerCase(),
        r.name,
        r.entity.entity_type,
        r.entity.description,
        r.entity.source_id,
        r.entity.file_path,
        r.entity.created_at,
      ]),
      c.query(copyFrom(entities)),
    );
    const relations =
      'COPY ragspace_relations (workspace, source, target, weight, description, keywords, source_id, file_path, created_at) FROM STDIN';
    await pipeline(
      copyLines(rows, (r) => {
        const [s, t] = r.name < r.target ? [r.name, r.target] : [r.target, r.name];
        return [
          'copy',
          s,
          t,
          r.relation.weight,
          r.relation.description,
          r.relation.keywords,
          r.relation.source_id,
          r.relation.file_path,
          r.relation.created_at,
        ];
      }),
      c.query(copyFrom(relations)),
    );
    const chunks =
      'COPY lightrag_entity_chunks (workspace, id, chunk_ids, count, create_time, update_time) FROM STDIN';
    await pipeline(
      copyLines(rows, (r) => ['copy', r.name, JSON.stringify(r.chunks), 1, stamp, stamp]),
      c.query(copyFrom(chunks)),
    );
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

async function withDatabase<T>(fn: (database: string) => Promise<T>): Promise<T> {
  const database = `ragspace_test_bench_${randomBytes(4).toString('hex')}`;
  const admin = await client('postgres');
  await admin.query(`CREATE DATABASE ${database}`);
  try {
    return await fn(database);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

export async function run(options: { quick?: boolean } = {}): Promise<void> {
  const n = options.quick ? 20_000 : 100_000;
  const rows = makeRows(n);
  const total = rows.length * 3;
  await withDatabase(async (database) => {
    const storage = await PostgresStorage.open(readConfig(env(database)), { log: silentLogger });
    try {
      const results: [string, number][] = [];
      await truncate(database);
      results.push([
        'LightRAG pattern (single-row upserts, 200 per executemany)',
        await timed(() => viaLightragPattern(database, rows)),
      ]);
      await truncate(database);
      results.push(['raw COPY (no upsert)', await timed(() => viaCopy(database, rows))]);
      await truncate(database);
      results.push([
        'ragspace write() (multi-row upserts)',
        await timed(() => viaRagspace(storage, rows)),
      ]);
      report(n, total, results);
    } finally {
      await storage.close();
    }
  });
}

function report(n: number, total: number, results: [string, number][]): void {
  const rate = (seconds: number) => total / seconds;
  const [lightrag, copy, ragspace] = results.map(([, s]) => rate(s)) as [number, number, number];
  console.log(
    `\nPostgreSQL 15 writes: ${n} entities + ${n} relations + ${n} entity_chunks = ${total} rows`,
  );
  console.log('path                                                          seconds     rows/s');
  for (const [label, seconds] of results) {
    console.log(
      `${label.padEnd(60)} ${seconds.toFixed(2).padStart(8)} ${rate(seconds).toFixed(0).padStart(10)}`,
    );
  }
  console.log(`ragspace / LightRAG pattern: ${(ragspace / lightrag).toFixed(1)}x (target >= 5x)`);
  console.log(`ragspace / raw COPY: ${(ragspace / copy).toFixed(2)} (target >= 0.5)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run({ quick: process.argv.includes('--quick') });
}
