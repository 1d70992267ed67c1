import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PostgresStorage } from '../../src/storage/postgres/index.ts';
import {
  createTestDatabase,
  openPostgres,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  type TestDatabase,
} from './helpers.ts';
import { runWorker } from './process.ts';

describe('concurrency on the PostgreSQL 15 server', () => {
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

  it('two processes writing one workspace at once lose nothing', async () => {
    // Each write reads the counter and writes it back plus one: without serialisation
    // across processes, two writes would read the same value and one increment would vanish.
    const env = { ...db.env, ...PG_WITHOUT_VECTORS };
    const times = 15;
    const startAt = Date.now() + 3000;
    const results = await Promise.all(
      ['left', 'right'].map((tag) =>
        runWorker(env, {
          mode: 'increment',
          workspace: 'shared',
          times,
          tag,
          startAt,
          pauseMs: 20,
        }),
      ),
    );
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    await storage.read('shared', async (r) => {
      assert.equal((await r.getEntity('counter'))?.properties.n, 2 * times);
      assert.equal((await r.entities(0, 0)).total, 2 * times + 1);
      assert.equal((await r.relationsOf('counter')).length, 2 * times);
      assert.deepEqual(await r.popularLabels(1), ['counter']);
    });
  });

  it('two workspaces in one pool never see each other, under interleaved load', async () => {
    const workspaces = ['tenant_a', 'tenant_b'];
    await Promise.all(
      workspaces.map((ws) =>
        storage.write(ws, async (w) => {
          await w.upsertEntity({ name: 'N', properties: { description: `N of ${ws}` } });
          await w.upsertEntity({ name: `only-${ws}`, properties: {} });
          await w.upsertKv('full_docs', new Map([['doc', { content: ws }]]));
        }),
      ),
    );
    const reads = Array.from({ length: 100 }, (_, i) => {
      const ws = workspaces[i % 2]!;
      return storage.read(ws, async (r) => ({
        ws,
        description: (await r.getEntity('N'))?.properties.description,
        names: await r.searchLabels('only', 10),
        doc: (await r.getKv('full_docs', ['doc'])).get('doc')?.content,
      }));
    });
    for (const seen of await Promise.all(reads)) {
      assert.equal(seen.description, `N of ${seen.ws}`);
      assert.deepEqual(seen.names, [`only-${seen.ws}`]);
      assert.equal(seen.doc, seen.ws);
    }
  });

  it('a failed write leaves nothing behind, even after earlier statements ran', async () => {
    await assert.rejects(
      storage.write('atomic', async (w) => {
        await w.upsertKv('text_chunks', new Map([['c1', { content: 'x' }]]));
        await w.upsertEntity({ name: 'E', properties: {} });
        await w.entityNames(); // sends the buffered upsert
        await w.upsertKv('text_chunks', new Map([['c2', { content: 'x', tokens: 1.5 }]]));
      }),
      /tokens/,
    );
    assert.equal(await storage.hasWorkspace('atomic'), false);
  });
});
