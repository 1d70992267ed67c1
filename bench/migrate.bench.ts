import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readGraphml } from '../src/formats/graphml.ts';
import {
  encodeFloat16Vector,
  normaliseVector,
  writeNanoVdb,
  type NanoRowOut,
} from '../src/formats/nano-vdb-writer.ts';
import type { TextSink } from '../src/formats/sink.ts';
import { silentLogger } from '../src/log.ts';
import {
  encodeAttributes,
  ENTITY_COLUMNS,
  orderedPair,
  RELATION_COLUMNS,
} from '../src/storage/postgres/graph-codec.ts';
import { copyValue } from '../src/storage/postgres/copy.ts';
import { createPool } from '../src/storage/postgres/pool.ts';
import type { SqlValue } from '../src/storage/postgres/sql.ts';
import { ensureSchema } from '../src/storage/postgres/schema.ts';
import { encodeVector } from '../src/storage/postgres/vectors.ts';
import { fixed, note, numberOption, runChild, table, type BenchOptions } from './bench.ts';
import { entityName, Rng, writeGraphml } from './generate.ts';

/**
 * Issue 5's figures: a generated workspace of 1,000,000 entities and 2,000,000 relations,
 * with 1024-dimension vectors for 100,000 entities (a vdb file of ~0.8 GB, past V8's
 * longest string), migrated end to end (checks, copy, verify) by `ragspace migrate` in its
 * own process: the graph into the PostgreSQL 15 server, the vectors into embedded PGlite.
 * Next to it, in the same run, the limit: the same graph rows loaded by `psql \copy` into
 * the same tables of a fresh database, and the same vectors by bare multi-row INSERTs
 * into PGlite (COPY FROM STDIN cannot go through its socket). `--scale 0.1` runs a tenth.
 */
const FULL = { entities: 1_000_000, relations: 2_000_000, vectors: 100_000, dim: 1024 };
const DESCRIPTION_CHARS = 120;
const SELF = fileURLToPath(import.meta.url);

interface Sizes {
  entities: number;
  relations: number;
  vectors: number;
  dim: number;
}

function sizes(scale: number): Sizes {
  const of = (n: number) => Math.max(10, Math.round(n * scale));
  return {
    entities: of(FULL.entities),
    relations: of(FULL.relations),
    vectors: of(FULL.vectors),
    dim: FULL.dim,
  };
}

// ---- generating the workspace ----

class SyncFileSink implements TextSink {
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  async write(piece: string | Uint8Array): Promise<void> {
    writeSync(this.fd, typeof piece === 'string' ? Buffer.from(piece) : piece);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Rows made again from the seed on each pass: the writer walks them twice. */
function* vectorRows(count: number, dim: number): Generator<NanoRowOut> {
  const rng = new Rng(99);
  for (let i = 0; i < count; i++) {
    const raw = new Float32Array(dim);
    for (let d = 0; d < dim; d++) raw[d] = rng.next() * 2 - 1;
    const name = entityName(i);
    const data = {
      __id__: `ent-${i.toString(16).padStart(32, '0')}`,
      __created_at__: 1_760_000_000,
      entity_name: name,
      content: `${name}\nA generated entity.`,
      source_id: 'doc-1-chunk-1',
      file_path: 'report.pdf',
      vector: encodeFloat16Vector(raw),
    };
    yield { data, matrix: normaliseVector(raw) };
  }
}

async function writeVectors(path: string, count: number, dim: number): Promise<void> {
  const sink = new SyncFileSink(path);
  await writeNanoVdb({ embeddingDim: dim, rows: () => vectorRows(count, dim) }, sink);
  sink.close();
}

async function ensureWorkspace(dataDir: string, s: Sizes): Promise<string> {
  const workingDir = join(dataDir, `rag_storage-${s.entities}`);
  const dir = join(workingDir, 'big');
  const manifest = join(dir, '.manifest');
  if (existsSync(manifest) && readFileSync(manifest, 'utf8') === JSON.stringify(s))
    return workingDir;
  rmSync(workingDir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  note(`generating ${s.entities} entities, ${s.relations} relations, ${s.vectors} vectors`);
  writeGraphml(join(dir, 'graph_chunk_entity_relation.graphml'), {
    nodes: s.entities,
    edges: s.relations,
    seed: 7,
    descriptionChars: DESCRIPTION_CHARS,
  });
  await writeVectors(join(dir, 'vdb_entities.json'), s.vectors, s.dim);
  await writeVectors(join(dir, 'vdb_relationships.json'), 0, s.dim);
  await writeVectors(join(dir, 'vdb_chunks.json'), 0, s.dim);
  writeFileSync(manifest, JSON.stringify(s));
  return workingDir;
}

// ---- the limit: the same rows, loaded raw ----

/** Lines of COPY text, written to a file in 1 MiB pieces. */
class CopyFile {
  private readonly fd: number;
  private pending = '';

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  row(values: SqlValue[]): void {
    this.pending += values.map(copyValue).join('\t') + '\n';
    if (this.pending.length > 1 << 20) this.flush();
  }

  private flush(): void {
    writeSync(this.fd, this.pending);
    this.pending = '';
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** The graph as COPY text for ragspace's tables, encoded as the backend encodes it. */
async function copyFiles(graphml: string, out: string) {
  const paths = { entities: join(out, 'entities.tsv'), relations: join(out, 'relations.tsv') };
  if (existsSync(paths.relations)) return paths;
  const entities = new CopyFile(paths.entities);
  const relations = new CopyFile(paths.relations);
  await readGraphml(graphml, {
    wantsAttributes: true,
    onNode: (node) => {
      const enc = encodeAttributes({ ...node.attributes, entity_id: node.id }, ENTITY_COLUMNS);
      const head = ['bench', node.id, node.id.toLowerCase()];
      entities.row([...head, ...enc.columns, enc.extra, enc.types]);
    },
    onEdge: (edge) => {
      const [low, high] = orderedPair(edge.source, edge.target);
      const enc = encodeAttributes(edge.attributes, RELATION_COLUMNS);
      relations.row(['bench', low, high, ...enc.columns, enc.extra, enc.types]);
    },
  });
  entities.close();
  relations.close();
  return paths;
}

async function withDatabase<T>(name: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: name });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function createDatabase(): Promise<string> {
  const name = `ragspace_mig_bench_${randomBytes(4).toString('hex')}`;
  await withDatabase('postgres', (c) => c.query(`CREATE DATABASE ${name}`));
  return name;
}

async function dropDatabase(name: string): Promise<void> {
  await withDatabase('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * Each timed load starts from a server at rest: the previous load's dirty pages flushed by
 * a checkpoint now, not in the middle of the next one (which slowed a bare copy that ran
 * after a migration by up to 10 s).
 */
async function settleServer(): Promise<void> {
  await withDatabase('postgres', (c) => c.query('CHECKPOINT'));
}

/** `psql \copy` of the same rows into the same tables (made by the backend's schema code). */
async function rawCopy(files: { entities: string; relations: string }): Promise<number> {
  const database = await createDatabase();
  try {
    const pool = createPool({
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      password: undefined,
      database,
      maxConnections: 1,
      ssl: false,
    });
    const client = await pool.connect();
    const stores = { graph: true, kv: false, vector: false, docStatus: false };
    await ensureSchema(client, { stores, vectors: undefined, database }, silentLogger);
    client.release();
    await pool.end();
    const entityColumns = [
      'workspace',
      'name',
      'name_lower',
      ...ENTITY_COLUMNS.map((c) => c.name),
      'extra',
      'attr_types',
    ];
    const relationColumns = [
      'workspace',
      'source',
      'target',
      ...RELATION_COLUMNS.map((c) => c.name),
      'extra',
      'attr_types',
    ];
    await settleServer();
    const started = performance.now();
    for (const [table, columns, file] of [
      ['ragspace_entities', entityColumns, files.entities],
      ['ragspace_relations', relationColumns, files.relations],
    ] as const) {
      const copy = `\\copy ${table} (${columns.join(', ')}) FROM '${file}'`;
      const result = spawnSync(
        'psql',
        ['-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-c', copy],
        { encoding: 'utf8' },
      );
      if (result.status !== 0) throw new Error(`psql \\copy failed: ${result.stderr}`);
    }
    return (performance.now() - started) / 1000;
  } finally {
    await dropDatabase(database);
  }
}

/**
 * The PGlite limit: bare multi-row INSERTs of binary vectors, 200 a statement, through the
 * socket server and `pg` as the migration sends them; timed on up to 20,000 rows.
 */
async function rawVectorInserts(count: number, dim: number): Promise<number> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  const pool = createPool({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: undefined,
    database: 'postgres',
    maxConnections: 1,
    ssl: false,
  });
  try {
    return (
      (await timeInserts(pool, Math.min(count, 20_000), dim)) * (count / Math.min(count, 20_000))
    );
  } finally {
    await pool.end();
    await server.stop();
    await db.close();
  }
}

async function timeInserts(pool: pg.Pool, count: number, dim: number): Promise<number> {
  await pool.query(`CREATE EXTENSION IF NOT EXISTS vector`);
  await pool.query(`CREATE TABLE v (workspace VARCHAR(255), id VARCHAR(255),
    entity_name VARCHAR(512),
    content TEXT, content_vector VECTOR(${dim}), PRIMARY KEY (workspace, id))`);
  const rows = [...vectorRows(count, dim)];
  const started = performance.now();
  for (let i = 0; i < rows.length; i += 200) {
    const batch = rows.slice(i, i + 200);
    const values = batch.flatMap((row) => [
      'bench',
      row.data.__id__,
      row.data.entity_name,
      row.data.content,
      encodeVector(row.matrix, 'vector'),
    ]);
    const tuples = batch.map(
      (_, j) => `($${j * 5 + 1},$${j * 5 + 2},$${j * 5 + 3},$${j * 5 + 4},$${j * 5 + 5})`,
    );
    await pool.query(`INSERT INTO v VALUES ${tuples.join(',')}`, values);
  }
  return (performance.now() - started) / 1000;
}

// ---- the migration, in its own process ----

/**
 * PGlite in a process of its own, so the migration's peak RSS is the migration's (an
 * embedded PGlite alone holds 300-800 MB of WASM heap in whichever process runs it).
 */
async function startPgliteProcess(
  directory: string,
): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--pglite-server', directory], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`the PGlite server stopped (${code})`)));
  });
  return { port, child };
}

function peakRssMb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

/** Child mode: one `migrate` through the library, as the CLI runs it; prints JSON. */
async function child(envFile: string): Promise<void> {
  const { loadEnv, readConfig } = await import('../src/config.ts');
  const { migrate } = await import('../src/migrate/migrate.ts');
  const env = loadEnv(envFile, {});
  const config = readConfig(env);
  const started = performance.now();
  const report = await migrate(config, { workspaces: ['big'], log: silentLogger });
  const ws = report.workspaces[0]!;
  const records = ws.stores.reduce((sum, s) => sum + s.records, 0);
  const result = {
    status: ws.status,
    records,
    seconds: (performance.now() - started) / 1000,
    peakRssMb: peakRssMb(),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

async function migrateInChild(env: Record<string, string>, dataDir: string, label: string) {
  const envFile = join(dataDir, `${label}.env`);
  writeFileSync(
    envFile,
    Object.entries({ LOG_LEVEL: 'error', ...env })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );
  note(`migrating (${label})`);
  const args = ['--import', 'tsx', SELF, '--child', envFile];
  const { report } = await runChild(process.execPath, args);
  if (report.status !== 'migrated') throw new Error(`migration ${label} ended ${report.status}`);
  return report as { records: number; seconds: number; peakRssMb: number };
}

export async function run(options: BenchOptions): Promise<void> {
  const scale = numberOption(options.args, 'scale', 1);
  const s = sizes(scale);
  mkdirSync(options.dataDir, { recursive: true });
  const workingDir = await ensureWorkspace(options.dataDir, s);
  const big = join(workingDir, 'big');

  note('encoding the raw COPY files (not timed)');
  const files = await copyFiles(join(big, 'graph_chunk_entity_relation.graphml'), big);
  note('psql \\copy of the graph rows');
  const rawSeconds = await rawCopy(files);
  note('bare INSERTs of the vectors into PGlite');
  const rawVectorSeconds = await rawVectorInserts(s.vectors, s.dim);

  const database = await createDatabase();
  const pglite = join(options.dataDir, `pglite-${randomBytes(4).toString('hex')}`);
  try {
    const graphEnv = {
      WORKING_DIR: workingDir,
      LIGHTRAG_GRAPH_STORAGE: 'PGGraphStorage',
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_USER: 'postgres',
      POSTGRES_PASSWORD: 'unused',
      POSTGRES_DATABASE: database,
    };
    await settleServer();
    const graph = await migrateInChild(graphEnv, options.dataDir, 'graph-to-postgres');
    note('starting PGlite (its own process)');
    const server = await startPgliteProcess(pglite);
    const vectorEnv = {
      WORKING_DIR: workingDir,
      LIGHTRAG_VECTOR_STORAGE: 'PGVectorStorage',
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_PORT: String(server.port),
      POSTGRES_USER: 'postgres',
      POSTGRES_PASSWORD: 'unused',
      POSTGRES_DATABASE: 'postgres',
      POSTGRES_SSL_MODE: 'disable',
      EMBEDDING_MODEL: 'bench',
      EMBEDDING_DIM: String(s.dim),
      POSTGRES_VECTOR_INDEX_TYPE: '',
    };
    const vectors = await migrateInChild(vectorEnv, options.dataDir, 'vectors-to-pglite').finally(
      () => server.child.kill(),
    );
    report(s, scale, { graph, vectors, rawSeconds, rawVectorSeconds });
  } finally {
    await dropDatabase(database);
    rmSync(pglite, { recursive: true, force: true });
  }
}

interface Results {
  graph: { records: number; seconds: number; peakRssMb: number };
  vectors: { records: number; seconds: number; peakRssMb: number };
  rawSeconds: number;
  rawVectorSeconds: number;
}

function report(s: Sizes, scale: number, r: Results): void {
  const graphRows = s.entities + s.relations;
  const rate = (rows: number, seconds: number) => fixed(rows / seconds, 0);
  const rows = [
    [
      'graph -> PostgreSQL 15',
      'ragspace migrate (check+copy+verify)',
      String(graphRows),
      fixed(r.graph.seconds),
      rate(graphRows, r.graph.seconds),
      fixed(r.graph.peakRssMb, 0),
    ],
    [
      'graph -> PostgreSQL 15',
      'psql \\copy (limit)',
      String(graphRows),
      fixed(r.rawSeconds),
      rate(graphRows, r.rawSeconds),
      '-',
    ],
    [
      'vectors -> PGlite',
      'ragspace migrate (check+copy+verify)',
      String(s.vectors),
      fixed(r.vectors.seconds),
      rate(s.vectors, r.vectors.seconds),
      fixed(r.vectors.peakRssMb, 0),
    ],
    [
      'vectors -> PGlite',
      'bare INSERTs (limit)',
      String(s.vectors),
      fixed(r.rawVectorSeconds),
      rate(s.vectors, r.rawVectorSeconds),
      '-',
    ],
  ];
  process.stdout.write(
    `scale ${scale}: ${s.entities} entities, ${s.relations} relations, ` +
      `${s.vectors} vectors of ${s.dim}\n`,
  );
  process.stdout.write(table(['target', 'how', 'rows', 'seconds', 'rows/s', 'peak RSS MB'], rows));
  const share = (r.rawSeconds / r.graph.seconds) * 100;
  process.stdout.write(
    `graph: ${fixed(share, 0)} % of the raw copy rate (target 50 %); peak RSS target < 300 MB\n`,
  );
}

/** Server mode: PGlite with pgvector behind its socket server, until killed. */
async function pgliteServer(directory: string): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(directory, { extensions: { vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 8 });
  await server.start();
  process.stdout.write(
    JSON.stringify({ port: Number(server.getServerConn().split(':').pop()) }) + '\n',
  );
}

if (process.argv[1] === SELF && process.argv[2] === '--child') await child(process.argv[3]!);
if (process.argv[1] === SELF && process.argv[2] === '--pglite-server') {
  await pgliteServer(process.argv[3]!);
}
