import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { rebuildStats } from '../../src/storage/postgres/stats.ts';
import type { StorageBackend } from '../../src/storage/types.ts';
import { testApp } from '../helpers.ts';
import { call, type App } from '../http/graph-helpers.ts';
import {
  assertKeptMatchesFresh,
  connectTo,
  openStats,
  seeded,
  STATS_BACKENDS,
  withClient,
  type OpenedStats,
  type StatsDatabase,
} from './helpers.ts';

/**
 * The statistics PostgreSQL keeps must equal a count from scratch after any sequence of
 * writes: ragspace's graph and key-value writes, HTTP edits (delete with cascading
 * relations, rename, merge, custom KG, clear), and other programs' SQL straight into
 * LightRAG's tables (inserts, moves between workspaces, rolled-back transactions).
 */
const WORKSPACES = ['ws_a', 'ws_b', 'ws-c', 'Ws_D'];

interface Ctx {
  app: App;
  storage: StorageBackend;
  client: pg.Client;
  rnd: () => number;
}

const pick = <T>(rnd: () => number, list: T[]): T => list[Math.floor(rnd() * list.length)]!;
const entityName = (rnd: () => number) => `E${Math.floor(rnd() * 12)}`;
const count = (rnd: () => number, max: number) => 1 + Math.floor(rnd() * max);

type Op = (ctx: Ctx, ws: string) => Promise<void>;

const graphWrite: Op = (ctx, ws) =>
  ctx.storage.write(ws, async (w) => {
    for (let i = count(ctx.rnd, 4); i > 0; i--) {
      await w.upsertEntity({ name: entityName(ctx.rnd), properties: { entity_type: 'org' } });
    }
    for (let i = count(ctx.rnd, 4); i > 0; i--) {
      const [a, b] = [entityName(ctx.rnd), entityName(ctx.rnd)];
      if (a !== b) await w.upsertRelation({ source: a, target: b, properties: { weight: 1 } });
    }
  });

const deleteEntity: Op = async (ctx, ws) => {
  const body = { entity_name: entityName(ctx.rnd) };
  await call(ctx.app, 'DELETE', '/graph/entity/delete', { workspace: ws, body });
};

const deleteRelation: Op = async (ctx, ws) => {
  const [a, b] = [entityName(ctx.rnd), entityName(ctx.rnd)];
  if (await ctx.storage.hasWorkspace(ws)) {
    await ctx.storage.write(ws, (w) => w.deleteRelation(a, b));
  }
};

const rename: Op = async (ctx, ws) => {
  const body = {
    entity_name: entityName(ctx.rnd),
    updated_data: { entity_name: entityName(ctx.rnd) },
    allow_rename: true,
    allow_merge: ctx.rnd() < 0.7,
  };
  await call(ctx.app, 'POST', '/graph/entity/edit', { workspace: ws, body });
};

const customKg: Op = async (ctx, ws) => {
  const n = Math.floor(ctx.rnd() * 1000);
  const [a, b] = [entityName(ctx.rnd), `K${n}`];
  const body = {
    chunks: [{ content: `chunk ${n} about ${a}`, source_id: `s${n}` }],
    entities: [{ entity_name: a, description: `about ${a}`, source_id: `s${n}` }],
    relationships: [
      { src_id: a, tgt_id: b, description: 'links', keywords: 'k', source_id: `s${n}` },
    ],
  };
  const response = await call(ctx.app, 'POST', '/insert_custom_kg', { workspace: ws, body });
  assert.equal(response.status, 200, response.text);
};

const KV_STORES = ['doc_status', 'full_docs', 'text_chunks'] as const;

const kvWrite: Op = (ctx, ws) =>
  ctx.storage.write(ws, async (w) => {
    const store = pick(ctx.rnd, [...KV_STORES]);
    const ids = Array.from({ length: count(ctx.rnd, 3) }, () => `D${Math.floor(ctx.rnd() * 8)}`);
    if (ctx.rnd() < 0.3) return w.deleteKv(store, ids);
    const record = store === 'doc_status' ? { status: 'processed' } : { content: 'text' };
    await w.upsertKv(store, new Map(ids.map((id) => [id, record])));
  });

/** Another program's transaction of several statements straight into LightRAG's tables. */
const directInsert: Op = async (ctx, ws) => {
  const n = Math.floor(ctx.rnd() * 50);
  const stamp = `2026-0${1 + Math.floor(ctx.rnd() * 9)}-1${Math.floor(ctx.rnd() * 9)} 10:00:00`;
  await ctx.client.query('BEGIN');
  await ctx.client.query(
    `INSERT INTO lightrag_doc_status (workspace, id, status, updated_at)
     VALUES ($1, $2, 'pending', $3) ON CONFLICT DO NOTHING`,
    [ws, `py-${n}`, stamp],
  );
  await ctx.client.query(
    `INSERT INTO lightrag_doc_chunks (workspace, id, content) VALUES ($1, $2, 'x'), ($1, $3, 'y')
     ON CONFLICT (workspace, id) DO UPDATE SET content = EXCLUDED.content`,
    [ws, `py-${n}`, `py-${n + 1}`],
  );
  await ctx.client.query(
    `INSERT INTO lightrag_llm_cache (workspace, id, return_value) VALUES ($1, $2, 'r')
     ON CONFLICT DO NOTHING`,
    [ws, `${ws}:${n}`],
  );
  await ctx.client.query(ctx.rnd() < 0.2 ? 'ROLLBACK' : 'COMMIT');
};

/** Another program deletes rows: a deletion is dated by its transaction. */
const directDelete: Op = async (ctx, ws) => {
  await ctx.client.query(
    `DELETE FROM lightrag_doc_chunks WHERE workspace = $1 AND id IN
       (SELECT id FROM lightrag_doc_chunks WHERE workspace = $1 ORDER BY id LIMIT 1)`,
    [ws],
  );
};

/** An UPDATE that moves rows to another workspace counts out of one and into the other. */
const directMove: Op = async (ctx, ws) => {
  const other = pick(ctx.rnd, WORKSPACES);
  await ctx.client.query(
    `UPDATE lightrag_llm_cache SET workspace = $2, update_time = $3
      WHERE workspace = $1 AND id IN (SELECT id FROM lightrag_llm_cache WHERE workspace = $1
                                      ORDER BY id LIMIT 2)`,
    [ws, other, '2026-11-30 12:00:00'],
  );
};

const clear: Op = async (ctx, ws) => {
  await call(ctx.app, 'DELETE', '/documents', { workspace: ws });
};

type Weighted = [string, Op, number][];

/** Writes after which a count from scratch finds the same time as the kept one. */
const DATED_BY_ROWS: Weighted = [
  ['graph write', graphWrite, 6],
  ['delete entity', deleteEntity, 2],
  ['delete relation', deleteRelation, 2],
  ['rename or merge', rename, 2],
  ['custom KG', customKg, 2],
  ['key-value write', kvWrite, 3],
  ['direct SQL insert', directInsert, 3],
];

/**
 * Other programs' deletions and moves: only the kept time knows when they happened. A clear
 * too: doc status's TIMESTAMP(0) rounds a stamp up to the next second, so a row it deletes
 * can carry a time later than the clear's own, which the count from scratch cannot see.
 */
const ALL_WRITES: Weighted = [
  ...DATED_BY_ROWS,
  ['clear', clear, 1],
  ['direct SQL delete', directDelete, 2],
  ['direct SQL move', directMove, 2],
];

function chooseOp(rnd: () => number, ops: Weighted): [string, Op] {
  const total = ops.reduce((sum, [, , weight]) => sum + weight, 0);
  let at = rnd() * total;
  for (const [name, op, weight] of ops) {
    if ((at -= weight) < 0) return [name, op];
  }
  return [ops[0]![0], ops[0]![1]];
}

async function randomWrites(ctx: Ctx, env: Record<string, string>, ops: Weighted, n: number) {
  const seen = new Set<string>();
  const stamps = ops === DATED_BY_ROWS;
  for (let step = 0; step < n; step++) {
    const [name, op] = chooseOp(ctx.rnd, ops);
    const ws = pick(ctx.rnd, WORKSPACES);
    await op(ctx, ws);
    seen.add(name);
    await assertKeptMatchesFresh(env, `step ${step}: ${name} on ${ws}`, { stamps });
  }
  assert.equal(seen.size, ops.length, 'every kind of write was exercised');
}

for (const backend of STATS_BACKENDS) {
  describe(`kept statistics on ${backend.label}`, () => {
    let db: StatsDatabase;
    let opened: OpenedStats;
    let storage: StorageBackend;
    let ctx: Ctx;

    before(async () => {
      db = await backend.create();
      opened = await openStats(db);
      storage = opened.storage;
      ctx = { app: testApp(storage), storage, client: await connectTo(db.env), rnd: seeded(6) };
    });
    after(async () => {
      await ctx.client.end();
      await opened.close();
      await db.drop();
    });

    it('equal a count from scratch, time included, after each of 80 random writes', () =>
      randomWrites(ctx, db.env, DATED_BY_ROWS, 80));

    it('and after 40 more with deletions and moves by other programs', () =>
      randomWrites(ctx, db.env, ALL_WRITES, 40));

    it('rebuilt, equal a count from scratch again (the kept time stays)', async () => {
      const report = await withClient(db.env, (client) => rebuildStats(client));
      assert.deepEqual(report.changed, []);
      await ctx.client.query('DELETE FROM ragspace_workspace_stats');
      await withClient(db.env, (client) => rebuildStats(client));
      await assertKeptMatchesFresh(db.env, 'rebuilt from nothing');
    });

    it('list a workspace that only another program wrote, and drop it when emptied', async () => {
      await ctx.client.query(
        `INSERT INTO lightrag_doc_full (workspace, id, content) VALUES ('py_only', 'd', 'x')`,
      );
      const page = await storage.listWorkspaces({
        sort: 'name',
        descending: false,
        limit: 100,
        offset: 0,
        prefix: 'py_',
      });
      assert.deepEqual(
        page.workspaces.map((w) => [w.name, w.document_count]),
        [['py_only', 1]],
      );
      await ctx.client.query(`DELETE FROM lightrag_doc_full WHERE workspace = 'py_only'`);
      const kept = await assertKeptMatchesFresh(db.env, 'after the delete', { stamps: false });
      assert.ok(!kept.some((s) => s.workspace === 'py_only'));
    });

    it('count deletions by other programs; their time is kept, even by a rebuild', async () => {
      await ctx.client.query(
        `INSERT INTO lightrag_doc_chunks (workspace, id, content, update_time)
         VALUES ('old', 'a', 'x', '2020-01-01'), ('old', 'b', 'x', '2020-01-01')`,
      );
      await ctx.client.query(
        `DELETE FROM lightrag_doc_chunks WHERE workspace = 'old' AND id = 'a'`,
      );
      const kept = await assertKeptMatchesFresh(db.env, 'after', { stamps: false });
      const old = kept.find((s) => s.workspace === 'old')!;
      assert.equal(old.chunk_count, 1);
      assert.ok(old.updated_at! > '2026-01-01', 'the deletion dated the workspace');
      const report = await withClient(db.env, (client) => rebuildStats(client));
      assert.deepEqual(report.changed, []);
      await ctx.client.query(`DELETE FROM lightrag_doc_chunks WHERE workspace = 'old'`);
    });

    it('a rebuild repairs damaged statistics and reports each change', async () => {
      await ctx.client.query(
        `UPDATE ragspace_workspace_stats SET entity_count = entity_count + 5
          WHERE workspace = (SELECT min(workspace) FROM ragspace_workspace_stats)`,
      );
      await ctx.client.query(`INSERT INTO ragspace_workspace_stats (workspace) VALUES ('ghost')`);
      const report = await withClient(db.env, (client) => rebuildStats(client));
      assert.equal(report.changed.length, 2);
      assert.equal(report.changed.find((c) => c.workspace === 'ghost')?.after, null);
      const fixed = report.changed.find((c) => c.workspace !== 'ghost')!;
      assert.equal(fixed.after!.entity_count, fixed.before!.entity_count - 5);
      await assertKeptMatchesFresh(db.env, 'after the rebuild');
    });

    it('a rebuild of one workspace touches only that one', async () => {
      await ctx.client.query(`UPDATE ragspace_workspace_stats SET chunk_count = chunk_count + 1`);
      const lines: string[] = [];
      const report = await withClient(db.env, (client) =>
        rebuildStats(client, { workspace: 'ws_a', progress: (line) => lines.push(line) }),
      );
      assert.deepEqual(
        report.changed.map((c) => c.workspace),
        ['ws_a'],
      );
      assert.ok(lines.some((line) => /^ragspace_entities: \d+ rows in 1 workspaces/.test(line)));
      await ctx.client.query(`UPDATE ragspace_workspace_stats SET chunk_count = chunk_count - 1
                               WHERE workspace <> 'ws_a'`);
      await assertKeptMatchesFresh(db.env, 'after undoing the damage');
    });
  });
}
