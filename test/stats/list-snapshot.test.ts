import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PostgresStorage } from '../../src/storage/postgres/index.ts';
import type { WorkspacePage } from '../../src/storage/types.ts';
import { MAX_LIMIT, parseWorkspaceQuery } from '../../src/workspace/query.ts';
import { fillGraph, openStats, STATS_BACKENDS, withClient, type StatsDatabase } from './helpers.ts';

/**
 * The list kept in memory is checked against the statistics table on every request: a
 * change by ragspace or by another program shows in the next answer, an unchanged table
 * is not read again, and past RAGSPACE_LIST_CACHE_WORKSPACES the SQL answers instead.
 */
const EVERYTHING = parseWorkspaceQuery({ limit: String(MAX_LIMIT) });

const counts = (page: WorkspacePage) =>
  page.workspaces.map((w) => `${w.name}:${w.entity_count}/${w.relation_count}`);

for (const backend of STATS_BACKENDS) {
  describe(`the workspace list kept in memory on ${backend.label}`, () => {
    let db: StatsDatabase;
    let close: () => Promise<void>;
    let storage: PostgresStorage;

    before(async () => {
      db = await backend.create();
      const opened = await openStats(db);
      storage = opened.postgres;
      close = () => opened.close();
      await fillGraph(storage, 'alpha', 'a', 3);
      await fillGraph(storage, 'beta', 'b', 2);
    });
    after(async () => {
      await close();
      await db.drop();
    });

    it('reuses the rows while the statistics are unchanged', async () => {
      const first = await storage.listWorkspaces(EVERYTHING);
      const second = await storage.listWorkspaces(EVERYTHING);
      assert.deepEqual(counts(first), ['alpha:3/2', 'beta:2/1']);
      assert.equal(second.workspaces[0], first.workspaces[0], 'the same object, not re-read');
    });

    it("shows ragspace's own writes at once", async () => {
      const before = await storage.listWorkspaces(EVERYTHING);
      await fillGraph(storage, 'beta', 'b', 5);
      const after = await storage.listWorkspaces(EVERYTHING);
      assert.deepEqual(counts(after), ['alpha:3/2', 'beta:5/4']);
      assert.notEqual(after.workspaces[0], before.workspaces[0], 'read again after a change');
    });

    it("shows another program's inserts, moves and deletes at once", async () => {
      await withClient(db.env, (c) =>
        c.query(`INSERT INTO ragspace_entities (workspace, name, name_lower)
                 VALUES ('gamma', 'G', 'g')`),
      );
      let page = await storage.listWorkspaces(EVERYTHING);
      assert.deepEqual(counts(page), ['alpha:3/2', 'beta:5/4', 'gamma:1/0']);

      await withClient(db.env, (c) =>
        c.query(`UPDATE ragspace_entities SET workspace = 'gamma' WHERE workspace = 'alpha'
                   AND name = 'a0'`),
      );
      page = await storage.listWorkspaces(EVERYTHING);
      assert.deepEqual(counts(page), ['alpha:2/2', 'beta:5/4', 'gamma:2/0']);

      await withClient(db.env, (c) =>
        c.query(`DELETE FROM ragspace_entities WHERE workspace = 'gamma'`),
      );
      page = await storage.listWorkspaces(EVERYTHING);
      assert.deepEqual(counts(page), ['alpha:2/2', 'beta:5/4']);
    });
  });
}

describe('the workspace list past RAGSPACE_LIST_CACHE_WORKSPACES', () => {
  let db: StatsDatabase;
  let small: Awaited<ReturnType<typeof openStats>>;
  let sql: Awaited<ReturnType<typeof openStats>>;

  before(async () => {
    db = await STATS_BACKENDS[0]!.create();
    small = await openStats(db, { RAGSPACE_LIST_CACHE_WORKSPACES: '2' });
    sql = await openStats(db, { RAGSPACE_LIST_CACHE_WORKSPACES: '0' });
    for (const [i, name] of ['one', 'two', 'three'].entries()) {
      await fillGraph(small.postgres, name, 'e', i + 1);
    }
  });
  after(async () => {
    await small.close();
    await sql.close();
    await db.drop();
  });

  it('answers from SQL, as without a copy in memory', async () => {
    const query = parseWorkspaceQuery({ sort: '-entity_count', limit: '2' });
    const page = await small.postgres.listWorkspaces(query);
    assert.deepEqual(page, await sql.postgres.listWorkspaces(query));
    assert.deepEqual(counts(page), ['three:3/2', 'two:2/1']);
    const again = await small.postgres.listWorkspaces(query);
    assert.notEqual(again.workspaces[0], page.workspaces[0], 'nothing kept past the limit');
  });
});
