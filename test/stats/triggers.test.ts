import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import {
  assertKeptMatchesFresh,
  connectTo,
  fillGraph,
  openStats,
  STATS_BACKENDS,
  withClient,
  type OpenedStats,
  type StatsDatabase,
} from './helpers.ts';

/**
 * The triggers behind the statistics: created once and idempotently at start-up, on
 * tables created later (by an event trigger, or at the next start-up without one), and
 * right after TRUNCATE, DROP TABLE, a lost trigger, bulk COPY and concurrent writers.
 */
async function catalog(client: pg.Client) {
  const rows = await client.query(
    `SELECT (SELECT count(*) FROM pg_class)::int AS classes,
            (SELECT string_agg(tgrelid::regclass || '.' || tgname, ' ' ORDER BY 1) FROM pg_trigger
              WHERE tgname LIKE 'ragspace\\_stats\\_%') AS triggers,
            (SELECT string_agg(proname || ':' || xmin, ' ' ORDER BY 1) FROM pg_proc
              WHERE proname LIKE 'ragspace\\_stats\\_%') AS functions,
            (SELECT string_agg(evtname, ' ' ORDER BY 1) FROM pg_event_trigger) AS events`,
  );
  return rows.rows[0] as Record<string, string | number>;
}

async function keptCount(client: pg.Client, ws: string, counter: string): Promise<number> {
  const result = await client.query(
    `SELECT ${counter} AS n FROM ragspace_workspace_stats WHERE workspace = $1`,
    [ws],
  );
  return Number(result.rows[0]?.n ?? 0);
}

const VECTOR_LIKE = `(id VARCHAR(255), workspace VARCHAR(255), content TEXT,
  update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (workspace, id))`;

for (const backend of STATS_BACKENDS) {
  describe(`statistics triggers on ${backend.label}`, () => {
    let db: StatsDatabase;
    let opened: OpenedStats;
    let client: pg.Client;

    before(async () => {
      db = await backend.create();
      opened = await openStats(db);
      client = await connectTo(db.env);
      await fillGraph(opened.storage, 'main', 'n', 5);
    });
    after(async () => {
      await client.end();
      await opened.close();
      await db.drop();
    });

    it('are attached to every source table, and a second start-up changes nothing', async () => {
      const before = await catalog(client);
      for (const table of ['ragspace_entities', 'lightrag_doc_status', 'lightrag_llm_cache']) {
        for (const kind of ['ins', 'upd', 'del', 'trunc']) {
          assert.match(String(before.triggers), new RegExp(`${table}\\.ragspace_stats_${kind}`));
        }
      }
      assert.equal(before.events, 'ragspace_stats_ddl ragspace_stats_drop');
      const again = await openStats(db);
      await again.close();
      assert.deepEqual(await catalog(client), before);
    });

    it('count a table another program creates later, rows in the same transaction', async () => {
      await client.query('BEGIN');
      await client.query(`CREATE TABLE lightrag_vdb_entity_other_model_8d ${VECTOR_LIKE}`);
      await client.query(
        `INSERT INTO lightrag_vdb_entity_other_model_8d (workspace, id)
         VALUES ('later', 'a'), ('later', 'b')`,
      );
      await client.query('COMMIT');
      await client.query(
        `CREATE TABLE lightrag_copied AS SELECT 'later'::varchar AS workspace, 'x' AS id`,
      );
      assert.equal(await keptCount(client, 'later', 'other_rows'), 3);
      await assertKeptMatchesFresh(db.env, 'after CREATE TABLE');
    });

    it('recount at once after TRUNCATE and DROP TABLE', async () => {
      await client.query(
        `INSERT INTO lightrag_doc_chunks (workspace, id, content) VALUES ('main', 'c1', 'x')`,
      );
      assert.equal(await keptCount(client, 'main', 'chunk_count'), 1);
      await client.query('TRUNCATE lightrag_doc_chunks');
      assert.equal(await keptCount(client, 'main', 'chunk_count'), 0);
      await client.query('DROP TABLE lightrag_copied');
      assert.equal(await keptCount(client, 'later', 'other_rows'), 2);
      await client.query('DROP TABLE lightrag_vdb_entity_other_model_8d');
      const later = await client.query(
        `SELECT 1 FROM ragspace_workspace_stats WHERE workspace = 'later'`,
      );
      assert.equal(later.rowCount, 0, 'a workspace left without rows is gone');
      await assertKeptMatchesFresh(db.env, 'after TRUNCATE and DROP', { stamps: false });
    });

    it('without event triggers (no superuser), start-up attaches and forgets tables', async () => {
      await client.query('DROP EVENT TRIGGER ragspace_stats_ddl');
      await client.query('DROP EVENT TRIGGER ragspace_stats_drop');
      await client.query(`CREATE TABLE lightrag_unseen ${VECTOR_LIKE}`);
      await client.query(`INSERT INTO lightrag_unseen (workspace, id) VALUES ('late', 'a')`);
      assert.equal(await keptCount(client, 'late', 'other_rows'), 0, 'not attached yet');
      await (await openStats(db)).close();
      assert.equal(await keptCount(client, 'late', 'other_rows'), 1, 'attached with its rows');
      await client.query(`INSERT INTO lightrag_unseen (workspace, id) VALUES ('late', 'b')`);
      assert.equal(await keptCount(client, 'late', 'other_rows'), 2, 'and counted since');
      await client.query('DROP EVENT TRIGGER ragspace_stats_drop');
      await client.query('DROP TABLE lightrag_unseen');
      await (await openStats(db)).close();
      assert.equal(await keptCount(client, 'late', 'other_rows'), 0, 'forgotten at start-up');
      await assertKeptMatchesFresh(db.env, 'after start-ups', { stamps: false });
    });

    it('apply each transaction once, with savepoints and immediate constraints', async () => {
      const insert = (id: string) =>
        client.query(
          `INSERT INTO lightrag_doc_chunks (workspace, id, content) VALUES ('tx', $1, 'x')`,
          [id],
        );
      for (const step of [
        'BEGIN',
        'SET CONSTRAINTS ALL IMMEDIATE',
        'a',
        'b',
        'COMMIT',
        'BEGIN',
        'SAVEPOINT s',
        'c',
        'ROLLBACK TO SAVEPOINT s',
        'd',
        'COMMIT',
        'BEGIN',
        'e',
        'SAVEPOINT s',
        'f',
        'RELEASE SAVEPOINT s',
        'SAVEPOINT t',
        'g',
        'ROLLBACK TO SAVEPOINT t',
        'TRUNCATE lightrag_llm_cache',
        'h',
        'COMMIT',
      ]) {
        await (step.length === 1 ? insert(step) : client.query(step));
      }
      assert.equal(await keptCount(client, 'tx', 'chunk_count'), 6, 'a, b, d, e, f and h');
      const pending = await client.query('SELECT count(*)::int AS n FROM ragspace_stats_pending');
      assert.equal(pending.rows[0].n, 0, 'nothing left pending');
      await assertKeptMatchesFresh(db.env, 'after the transactions', { stamps: false });
    });

    it('are repaired at start-up when one of them was dropped', async () => {
      await client.query('DROP TRIGGER ragspace_stats_del ON lightrag_doc_status');
      await opened.storage.write('main', (w) =>
        w.upsertKv('doc_status', new Map([['d', { status: 'processed' }]])),
      );
      await client.query(`DELETE FROM lightrag_doc_status WHERE workspace = 'main'`);
      assert.equal(await keptCount(client, 'main', 'doc_status_count'), 1, 'missed');
      await (await openStats(db)).close();
      assert.equal(await keptCount(client, 'main', 'doc_status_count'), 0, 'recounted');
    });

    it('leave writers working when the statistics table is dropped', async () => {
      await client.query('DROP TABLE ragspace_workspace_stats');
      const triggers = await client.query(
        `SELECT 1 FROM pg_trigger
          WHERE tgname LIKE 'ragspace\\_stats\\_%' AND tgname <> 'ragspace_stats_commit'`,
      );
      assert.equal(triggers.rowCount, 0, 'detached everywhere');
      await fillGraph(opened.storage, 'main', 'm', 3);
      await (await openStats(db)).close();
      await assertKeptMatchesFresh(db.env, 'recreated and rebuilt at start-up');
    });

    if (!backend.embedded) {
      it('count bulk writes that go through COPY', async () => {
        await fillGraph(opened.storage, 'bulk', 'b', 2500);
        assert.equal(await keptCount(client, 'bulk', 'entity_count'), 2500);
        assert.equal(await keptCount(client, 'bulk', 'relation_count'), 2499);
        await fillGraph(opened.storage, 'bulk', 'b', 3000);
        assert.equal(await keptCount(client, 'bulk', 'entity_count'), 3000);
        await assertKeptMatchesFresh(db.env, 'after COPY');
      });

      it('stay exact under 8 concurrent writers of one workspace, without deadlocks', async () => {
        const writer = async (n: number) => {
          const c = await connectTo(db.env);
          try {
            for (let t = 0; t < 25; t++) {
              await c.query('BEGIN');
              await c.query(
                `INSERT INTO lightrag_doc_chunks (workspace, id, content) VALUES ('hot', $1, 'x')`,
                [`c${n}-${t}`],
              );
              await c.query(
                `INSERT INTO lightrag_doc_status (workspace, id, status) VALUES ('hot', $1, 'x'),
                   ($2, $1, 'x')`,
                [`d${n}-${t}`, `other${t % 3}`],
              );
              if (t % 3 === 0) {
                await c.query(
                  `DELETE FROM lightrag_doc_chunks WHERE workspace = 'hot' AND id = $1`,
                  [`c${n}-${t - 1}`],
                );
              }
              await c.query('COMMIT');
            }
          } finally {
            await c.end();
          }
        };
        const graph = fillGraph(opened.storage, 'hot', 'h', 50);
        await Promise.all([graph, ...Array.from({ length: 8 }, (_, n) => writer(n))]);
        assert.equal(await keptCount(client, 'hot', 'doc_status_count'), 200);
        assert.equal(await keptCount(client, 'hot', 'chunk_count'), 200 - 8 * 8);
        const pending = await client.query('SELECT count(*)::int AS n FROM ragspace_stats_pending');
        assert.equal(pending.rows[0].n, 0, 'every transaction applied its deltas');
        await assertKeptMatchesFresh(db.env, 'after concurrent writers', { stamps: false });
      });
    }
  });
}

describe('statistics of a database LightRAG filled before ragspace first started', () => {
  let db: StatsDatabase;

  before(async () => {
    db = await STATS_BACKENDS[0]!.create();
  });
  after(() => db.drop());

  it('are built at the first start-up', async () => {
    const first = await openStats(db);
    await first.close();
    await withClient(db.env, async (client) => {
      // As if another program had written while no statistics existed.
      await client.query(
        `DROP TABLE ragspace_workspace_stats, ragspace_stats_pending, ragspace_stats_sources
         CASCADE`,
      );
      await client.query(
        `INSERT INTO lightrag_doc_status (workspace, id, status) VALUES ('pre', 'a', 'processed'),
           ('pre', 'b', 'failed')`,
      );
    });
    await (await openStats(db)).close();
    const kept = await assertKeptMatchesFresh(db.env, 'built at start-up');
    assert.deepEqual(
      kept.map((s) => [s.workspace, s.document_count]),
      [['pre', 2]],
    );
  });
});
