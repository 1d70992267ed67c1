import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import { compareCodePoints } from '../../src/graph/ids.ts';
import { codePointOrder } from '../../src/storage/postgres/graph-upsert.ts';
import type { PostgresStorage } from '../../src/storage/postgres/index.ts';
import {
  createTestDatabase,
  openPostgres,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  sql,
  type TestDatabase,
} from './helpers.ts';

/** The relational graph: attribute types, search, degrees and the BFS on PostgreSQL 15. */
describe('graph tables', () => {
  let db: TestDatabase;
  let storage: PostgresStorage;

  before(async () => {
    db = await createTestDatabase();
    storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
  });
  after(async () => {
    await storage.close();
    await db.drop();
  });

  it('keeps every attribute with its type: columns, extras, numbers JSON cannot hold', async () => {
    const properties = {
      entity_type: 'person',
      description: 'desc',
      source_id: 'c1<SEP>c2',
      file_path: 'a.txt',
      created_at: 1718000000,
      truncate: '',
      rank: 3,
      score: 2.5,
      big: 2 ** 53 + 2,
      flag: false,
      nan: NaN,
      inf: -Infinity,
      negativeZero: -0,
      text_number: '42',
    };
    const odd = { entity_type: 7, created_at: 'yesterday', weight: 'heavy' };
    await storage.write('types', async (w) => {
      await w.upsertEntity({ name: 'A', properties });
      await w.upsertEntity({ name: 'B', properties: odd });
      await w.upsertRelation({
        source: 'B',
        target: 'A',
        properties: { weight: 1, created_at: 1.5 },
      });
    });
    const read = await storage.read('types', async (r) => ({
      a: await r.getEntity('A'),
      b: await r.getEntity('B'),
      rel: await r.getRelation('A', 'B'),
    }));
    assert.deepEqual(read.a?.properties, { ...properties, entity_id: 'A' });
    assert.ok(Object.is(read.a?.properties.negativeZero, -0));
    assert.deepEqual(read.b?.properties, { ...odd, entity_id: 'B' });
    assert.deepEqual(read.rel?.properties, { weight: 1, created_at: 1.5 });
    const columns = await sql(
      db.env,
      `SELECT created_at, entity_type, extra->'created_at' AS extra_created
       FROM ragspace_entities WHERE workspace = 'types' ORDER BY name`,
    );
    assert.deepEqual(columns, [
      { created_at: '1718000000', entity_type: 'person', extra_created: null },
      { created_at: null, entity_type: null, extra_created: 'yesterday' },
    ]);
  });

  it('moves an attribute between its column and extra when its type changes', async () => {
    await storage.write('moves', (w) =>
      w.upsertEntity({ name: 'M', properties: { created_at: 'soon' } }),
    );
    await storage.write('moves', (w) =>
      w.upsertEntity({ name: 'M', properties: { created_at: 5 } }),
    );
    const first = await storage.read('moves', (r) => r.getEntity('M'));
    assert.deepEqual(first?.properties, { entity_id: 'M', created_at: 5 });
    await storage.write('moves', (w) =>
      w.upsertEntity({ name: 'M', properties: { created_at: 'late' } }),
    );
    const second = await storage.read('moves', (r) => r.getEntity('M'));
    assert.deepEqual(second?.properties, { entity_id: 'M', created_at: 'late' });
  });

  it('stores each unordered pair once, source before target by code point', async () => {
    await storage.write('pairs', async (w) => {
      await w.upsertRelation({ source: '😀', target: 'Ａ', properties: { description: 'one' } });
      await w.upsertRelation({ source: 'Ａ', target: '😀', properties: { keywords: 'two' } });
    });
    const rows = await sql(
      db.env,
      `SELECT source, target, description, keywords FROM ragspace_relations
        WHERE workspace = 'pairs'`,
    );
    assert.deepEqual(rows, [{ source: 'Ａ', target: '😀', description: 'one', keywords: 'two' }]);
  });

  it('searches labels case-insensitively in any script, ranked as LightRAG ranks', async () => {
    await storage.write('search', async (w) => {
      for (const name of ['Marta Kowalczyk', 'КОВАЛЬ', 'kowal', 'Jan_Kowalski', 'Ковальчук Іван']) {
        await w.upsertEntity({ name, properties: {} });
      }
    });
    const latin = await storage.read('search', (r) => r.searchLabels('  KOWAL ', 10));
    assert.deepEqual(latin, ['kowal', 'Jan_Kowalski', 'Marta Kowalczyk']);
    const cyrillic = await storage.read('search', (r) => r.searchLabels('коваль', 10));
    assert.deepEqual(cyrillic, ['КОВАЛЬ', 'Ковальчук Іван']);
    assert.deepEqual(await storage.read('search', (r) => r.searchLabels('%', 10)), []);
    assert.deepEqual(await storage.read('search', (r) => r.searchLabels(' ', 10)), []);
  });

  it('keeps degrees right through upserts and deletes (popular labels)', async () => {
    await storage.write('degrees', async (w) => {
      for (const leaf of ['a', 'b', 'c'])
        await w.upsertRelation({ source: 'hub', target: leaf, properties: {} });
      await w.upsertRelation({ source: 'a', target: 'b', properties: {} });
    });
    assert.deepEqual(await storage.read('degrees', (r) => r.popularLabels(2)), ['hub', 'a']);
    await storage.write('degrees', async (w) => {
      await w.deleteEntity('hub');
      await w.upsertRelation({ source: 'c', target: 'b', properties: {} });
    });
    assert.deepEqual(await storage.read('degrees', (r) => r.popularLabels(3)), ['b', 'a', 'c']);
    const degrees = await sql(
      db.env,
      `SELECT name, degree FROM ragspace_entities WHERE workspace = 'degrees' ORDER BY name`,
    );
    assert.deepEqual(degrees, [
      { name: 'a', degree: 1 },
      { name: 'b', degree: 2 },
      { name: 'c', degree: 1 },
    ]);
  });

  it('explores a hub with thousands of neighbours within max_nodes', async () => {
    await storage.write('hub', async (w) => {
      for (let i = 0; i < 3000; i++) {
        await w.upsertRelation({
          source: 'Hub',
          target: `leaf-${String(i).padStart(4, '0')}`,
          properties: {},
        });
      }
      await w.upsertRelation({ source: 'leaf-0001', target: 'leaf-0002', properties: {} });
    });
    const graph = await storage.read('hub', (r) => r.knowledgeGraph('Hub', 3, 10));
    assert.equal(graph.nodes.length, 10);
    assert.equal(graph.is_truncated, true);
    assert.deepEqual(
      graph.nodes.slice(0, 3).map((n) => n.id),
      ['Hub', 'leaf-0001', 'leaf-0002'],
    );
    assert.ok(graph.edges.some((e) => e.id === 'leaf-0001-leaf-0002'));
  });

  it('keeps each degree equal to a recount through random writes (small, and COPY)', async () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const name = (i: number) => `n${i}`;
    for (let round = 0; round < 6; round++) {
      const bulk = round % 3 === 2;
      await storage.write('random', async (w) => {
        for (let i = 0; i < (bulk ? 6000 : 40); i++) {
          const op = random(10);
          const a = name(random(bulk ? 4000 : 60));
          const b = name(random(bulk ? 4000 : 60));
          if (op < 5) await w.upsertRelation({ source: a, target: b, properties: { weight: op } });
          else if (op < 7) await w.upsertEntity({ name: a, properties: { description: 'd' } });
          else if (op < 9) await w.deleteRelation(a, b);
          else await w.deleteEntity(a);
        }
      });
      const wrong = await sql(
        db.env,
        `SELECT e.name, e.degree,
                (SELECT count(*) FROM ragspace_relations r
                  WHERE r.workspace = e.workspace AND r.source = e.name)
              + (SELECT count(*) FROM ragspace_relations r
                  WHERE r.workspace = e.workspace AND r.target = e.name)
                AS actual
           FROM ragspace_entities e WHERE e.workspace = 'random'`,
      );
      const mismatched = wrong.filter((row) => Number(row.actual) !== row.degree);
      assert.deepEqual(mismatched, [], `round ${round}`);
      const dangling = await sql(
        db.env,
        `SELECT count(*)::int AS n FROM ragspace_relations r
          WHERE r.workspace = 'random' AND NOT EXISTS
                (SELECT 1 FROM ragspace_entities e
                  WHERE e.workspace = r.workspace AND e.name IN (r.source, r.target)
                  GROUP BY e.workspace
                 HAVING count(*) = CASE WHEN r.source = r.target THEN 1 ELSE 2 END)`,
      );
      assert.deepEqual(dangling, [{ n: 0 }], 'every relation has both entities');
    }
  });

  it('refuses a name too long to index, naming it, before writing anything', async () => {
    const long = '名'.repeat(401);
    await assert.rejects(
      storage.write('long-name', (w) =>
        w.upsertRelation({ source: 'a', target: long, properties: {} }),
      ),
      (error) =>
        isRagspaceError(error) &&
        error.code === 'VALUE_REJECTED' &&
        /1203 bytes/.test(error.message),
    );
    assert.equal(await storage.hasWorkspace('long-name'), false);
  });
});

describe('code point order', () => {
  it('agrees with the reference comparison, surrogates and U+E000-U+FFFF included', () => {
    const alphabet = ['a', 'Z', 'é', '\uE000', '\uFF21', '\uFFFF', '😀', '\u{10000}', '\u{10FFFF}'];
    let seed = 3;
    const pick = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return alphabet[seed % alphabet.length]!;
    };
    for (let i = 0; i < 2000; i++) {
      const a = Array.from({ length: 1 + (i % 4) }, pick).join('');
      const b = Array.from({ length: 1 + ((i >> 2) % 4) }, pick).join('');
      assert.equal(
        Math.sign(codePointOrder(a, b)),
        Math.sign(compareCodePoints(a, b)),
        `${a} ${b}`,
      );
    }
  });
});
