import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { searchLabels as rankInMemory } from '../../src/graph/labels.ts';
import { INNER_SQL, PREFIX_SQL, searchParams } from '../../src/storage/postgres/label-search.ts';
import {
  connectTo,
  openStats,
  seeded,
  STATS_BACKENDS,
  type OpenedStats,
  type StatsDatabase,
} from './helpers.ts';

/**
 * `/graph/label/search` on PostgreSQL: LightRAG's ranking (the in-memory ranking of the
 * file backend is the reference) answered through the name indexes, which EXPLAIN shows
 * in use for a workspace with many entities (plan node and index names, never timings).
 */
const WORDS = ['acme', 'Acme', 'ACME corp', 'acme_labs', 'the acme', 'beta', 'alphabet', 'Ärger'];

function randomNames(rnd: () => number, n: number): string[] {
  const names = new Set<string>(WORDS);
  const parts = ['acme', 'be', 'ta', 'x', 'Corp', '_', ' ', '%', 'ä', 'Ω', 'labs', '1'];
  while (names.size < n) {
    let name = '';
    for (let i = 1 + Math.floor(rnd() * 4); i > 0; i--) {
      name += parts[Math.floor(rnd() * parts.length)];
    }
    if (name.trim()) names.add(name);
  }
  return [...names];
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

async function explain(client: pg.Client, sql: string, params: unknown[]): Promise<PlanNode[]> {
  const result = await client.query(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  return nodes((result.rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan);
}

const scans = (plan: PlanNode[]) =>
  plan.filter((n) => n['Relation Name'] || n['Index Name']).map((n) => n['Node Type']);

/** 30,000 entities in `big`, 10,000 in `other`, written as another program would. */
async function manyEntities(client: pg.Client): Promise<void> {
  for (const [ws, n] of [
    ['big', 30_000],
    ['other', 10_000],
  ] as const) {
    await client.query(
      `INSERT INTO ragspace_entities (workspace, name, name_lower)
       SELECT $1, name, lower(name)
         FROM (SELECT 'Entity ' || i || ' ' || md5(i::text) AS name
                 FROM generate_series(1, $2::int) i) g`,
      [ws, n],
    );
  }
  await client.query('ANALYZE ragspace_entities');
}

for (const backend of STATS_BACKENDS) {
  describe(`label search on ${backend.label}`, () => {
    let db: StatsDatabase;
    let opened: OpenedStats;
    let client: pg.Client;
    const names = randomNames(seeded(3), 300);

    before(async () => {
      db = await backend.create();
      opened = await openStats(db);
      client = await connectTo(db.env);
      await opened.storage.write('labels', async (w) => {
        for (const name of names) await w.upsertEntity({ name, properties: {} });
      });
      await manyEntities(client);
    });
    after(async () => {
      await client.end();
      await opened.close();
      await db.drop();
    });

    const search = (q: string, limit: number) =>
      opened.storage.read('labels', (r) => r.searchLabels(q, limit));

    it('ranks as LightRAG does, for 60 queries and limits', async () => {
      const rnd = seeded(9);
      const queries = ['acme', 'ACME', ' acme ', 'a', 'be', '_', '%', 'ä', 'corp', 'labs', 'zz'];
      for (let i = 0; i < 60; i++) {
        const q = queries[i % queries.length]!;
        const limit = 1 + Math.floor(rnd() * 40);
        assert.deepEqual(await search(q, limit), rankInMemory(names, q, limit), `${q} ${limit}`);
      }
      assert.deepEqual(await search('', 10), []);
    });

    it('finds exact and prefix matches through the (workspace, name_lower) btree', async () => {
      const params = searchParams('big', 'entity 123', 20).prefix;
      const plan = await explain(client, PREFIX_SQL, params);
      assert.ok(!scans(plan).includes('Seq Scan'), JSON.stringify(scans(plan)));
      const index = plan.find((n) => n['Index Name'] === 'idx_ragspace_entities_name_lower');
      assert.ok(index, JSON.stringify(plan.map((n) => n['Index Name'] ?? n['Node Type'])));
      assert.match(index['Index Cond'] ?? '', /name_lower >= /);
    });

    it('finds other substring matches through the pg_trgm GIN index', async () => {
      const params = searchParams('big', 'c4ca4', 20).inner;
      const plan = await explain(client, INNER_SQL, params);
      assert.ok(!scans(plan).includes('Seq Scan'), JSON.stringify(scans(plan)));
      const trigram = plan.find((n) => n['Index Name'] === 'idx_ragspace_entities_name_trgm');
      assert.equal(trigram?.['Node Type'], 'Bitmap Index Scan');
    });

    it('answers the same without pg_trgm (prefix matches still from the btree)', async () => {
      await client.query('DROP INDEX idx_ragspace_entities_name_trgm');
      try {
        assert.deepEqual(await search('acme', 50), rankInMemory(names, 'acme', 50));
        assert.deepEqual(await search('ta', 50), rankInMemory(names, 'ta', 50));
        const plan = await explain(client, PREFIX_SQL, searchParams('big', 'entity 9', 5).prefix);
        assert.ok(plan.some((n) => n['Index Name'] === 'idx_ragspace_entities_name_lower'));
      } finally {
        await client.query(
          `CREATE INDEX idx_ragspace_entities_name_trgm ON ragspace_entities
             USING gin (name_lower gin_trgm_ops)`,
        );
      }
    });
  });
}
