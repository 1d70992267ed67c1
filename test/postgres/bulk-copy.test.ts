import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import type { PostgresStorage } from '../../src/storage/postgres/index.ts';
import type { KvRecord, WorkspaceWriter } from '../../src/storage/types.ts';
import {
  createTestDatabase,
  openPostgres,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  sql,
  type TestDatabase,
} from './helpers.ts';

/**
 * The bulk path (2,000 rows and more: binary COPY, straight in or through the staging
 * table) must store exactly what the multi-row INSERT path stores, for every column type
 * and awkward value, and fall back to text COPY for column types it has no encoder for.
 */
const N = 2100;
const LONG = 'long 名前 '.repeat(40_000);

function entityProperties(i: number): Record<string, string | number | boolean> {
  const properties: Record<string, string | number | boolean> = {
    entity_type: ['person', 'organisation', 'lieu'][i % 3]!,
    description: i === 7 ? LONG : `desc ${i}\twith tab\nnewline \\ backslash é 😀`,
    source_id: `chunk-${i}<SEP>chunk-${i + 1}`,
    file_path: `doc-${i % 5}.pdf`,
    created_at: [1_718_000_000 + i, -5, 2 ** 53 - 1][i % 3]!,
  };
  if (i % 10 === 0) Object.assign(properties, { rank: i, flag: true, score: 0.5 });
  if (i % 13 === 0) properties.truncate = '';
  return properties;
}

const name = (i: number) => (i % 4 === 0 ? `Entité ${i}` : `Entity ${i} 名`);
const WEIGHTS = [1, 2.5, NaN, -0, Infinity, 1e-300];

async function writeAll(w: WorkspaceWriter, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    await w.upsertEntity({ name: name(i), properties: entityProperties(i) });
  }
  for (let i = from; i < to; i++) {
    await w.upsertRelation({
      source: name(i),
      target: name((i * 7 + 1) % N),
      properties: { weight: WEIGHTS[i % WEIGHTS.length]!, keywords: 'k', created_at: i },
    });
  }
  const chunks = new Map<string, KvRecord>();
  const texts = new Map<string, KvRecord>();
  for (let i = from; i < to; i++) {
    // Times far from 2000 too: microseconds past 2^53, and before the common era.
    const created = [1_718_000_000.7, 8e12, -1e11][i % 3]!;
    chunks.set(name(i), { chunk_ids: [`chunk-${i}`], count: i, create_time: created });
    texts.set(`chunk-${i}`, {
      content: `text\t${i}\n`,
      tokens: i,
      chunk_order_index: i % 50,
      full_doc_id: `doc-${i % 5}`,
      llm_cache_list: [`cache-${i}`],
    });
  }
  await w.upsertKv('entity_chunks', chunks);
  await w.upsertKv('text_chunks', texts);
}

/** Everything stored for a workspace except the times of the write itself. */
async function stored(db: TestDatabase, workspace: string) {
  const entities = await sql(
    db.env,
    `SELECT name, name_lower, entity_id, entity_type, description, source_id, file_path,
            created_at, truncate, extra, attr_types, degree
       FROM ragspace_entities WHERE workspace = $1 ORDER BY name`,
    [workspace],
  );
  const relations = await sql(
    db.env,
    `SELECT source, target, weight::text, description, keywords, source_id, file_path,
            created_at, truncate, extra, attr_types
       FROM ragspace_relations WHERE workspace = $1 ORDER BY source, target`,
    [workspace],
  );
  const chunks = await sql(
    db.env,
    `SELECT id, chunk_ids, count, create_time::text FROM lightrag_entity_chunks
      WHERE workspace = $1 ORDER BY id`,
    [workspace],
  );
  const texts = await sql(
    db.env,
    `SELECT id, full_doc_id, chunk_order_index, tokens, content, llm_cache_list
       FROM lightrag_doc_chunks WHERE workspace = $1 ORDER BY id`,
    [workspace],
  );
  return { entities, relations, chunks, texts };
}

describe('bulk writes through COPY', () => {
  let db: TestDatabase;
  let storage: PostgresStorage;

  before(async () => {
    db = await createTestDatabase();
    storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
    // The reference: batches under the COPY threshold, which take multi-row INSERTs.
    for (let from = 0; from < N; from += 500) {
      await storage.write('small', (w) => writeAll(w, from, Math.min(N, from + 500)));
    }
  });
  after(async () => {
    await storage.close();
    await db.drop();
  });

  it('stores straight into empty tables what multi-row INSERTs store', async () => {
    await storage.write('bulk', (w) => writeAll(w, 0, N));
    const expected = await stored(db, 'small');
    assert.equal(expected.entities.length, N);
    assert.equal(expected.chunks.length, N);
    assert.deepEqual(await stored(db, 'bulk'), expected);
  });

  it('merges through the staging table what multi-row INSERTs merge', async () => {
    await storage.write('staged', (w) => writeAll(w, 0, 30));
    await storage.write('staged', (w) => writeAll(w, 0, N));
    assert.deepEqual(await stored(db, 'staged'), await stored(db, 'small'));
  });

  it('refuses a bad record met in the middle of a COPY, storing nothing', async () => {
    // About 500 bytes a record: the bad one comes after the first chunks were sent.
    const ids = (i: number) => Array.from({ length: 20 }, (_, j) => `chunk-${i}-${j}`);
    const records = new Map<string, KvRecord>();
    for (let i = 0; i < N; i++) records.set(`id-${i}`, { chunk_ids: ids(i), count: i });
    records.set('id-1500', { chunk_ids: [], count: 'many' });
    await assert.rejects(
      storage.write('rejected', (w) => w.upsertKv('entity_chunks', records)),
      (error) => isRagspaceError(error) && error.code === 'VALUE_REJECTED',
    );
    assert.equal(await storage.hasWorkspace('rejected'), false);
    records.set('id-1500', { chunk_ids: [], count: 1500 });
    await storage.write('rejected', (w) => w.upsertKv('entity_chunks', records));
    const count = await sql(
      db.env,
      `SELECT count(*)::int AS n FROM lightrag_entity_chunks WHERE workspace = 'rejected'`,
    );
    assert.deepEqual(count, [{ n: N }]);
  });

  // Last: it changes a column type of the shared test database.
  it('sends text COPY to a column type without a binary encoder', async () => {
    await sql(db.env, 'ALTER TABLE lightrag_entity_chunks ALTER COLUMN count TYPE numeric');
    await storage.write('text-copy', (w) => writeAll(w, 0, N));
    const [bulk, small] = [await stored(db, 'text-copy'), await stored(db, 'small')];
    const asNumbers = (rows: Record<string, unknown>[]) =>
      rows.map((row) => ({ ...row, count: Number(row.count) }));
    assert.deepEqual(asNumbers(bulk.chunks), asNumbers(small.chunks));
    assert.deepEqual(bulk.entities, small.entities);
  });
});
