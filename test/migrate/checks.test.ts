import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderReport } from '../../src/migrate/render.ts';
import { silentProgress, type Progress } from '../../src/migrate/progress.ts';
import { rollback } from '../../src/migrate/rollback.ts';
import { verify } from '../../src/migrate/verify.ts';
import { silentLogger } from '../../src/log.ts';
import { tempDir, writeTree } from '../helpers.ts';
import {
  createMigDatabase,
  graphmlDocument,
  migConfig,
  only,
  run,
  spawnCli,
  treeChecksum,
  weightedEdge,
  WITHOUT_VECTORS,
  writeEnvFile,
  type MigDatabase,
} from './helpers.ts';

/**
 * What the checks catch before anything is written, and what the copy reports (known
 * faults B01, B05, B06, B20, B21, B23), against the real PostgreSQL 15 server.
 */
const KEYS =
  '<key id="d0" for="node" attr.name="entity_type" attr.type="string"/>' +
  '<key id="d1" for="edge" attr.name="weight" attr.type="double"/>' +
  '<key id="d2" for="edge" attr.name="description" attr.type="string"/>';

const graphml = (body: string) => graphmlDocument(KEYS, body);

const node = (id: string) => `<node id="${id}"><data key="d0">person</data></node>`;
const edge = weightedEdge;

const status = (fields: Record<string, unknown>) => ({
  status: 'processed',
  content_summary: 'summary',
  content_length: 7,
  file_path: 'a.txt',
  created_at: '2026-06-15T03:50:02.123456+00:00',
  updated_at: '2026-06-15T11:51:02.5+08:00',
  ...fields,
});

const json = (value: unknown) => JSON.stringify(value, null, 2);

describe('checks before writing, and what the copy reports', () => {
  let db: MigDatabase;
  const dir = tempDir('ragspace-mig-checks-');
  const root = dir.path;
  const env = () => ({ ...WITHOUT_VECTORS, ...db.env, WORKING_DIR: root });
  const rows = async (ws: string) => {
    const tables = [
      'ragspace_entities',
      'ragspace_relations',
      'lightrag_doc_status',
      'lightrag_doc_chunks',
    ];
    let total = 0;
    for (const table of tables) {
      const found = await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE workspace = $1`, [
        ws,
      ]);
      total += found[0]!.n as number;
    }
    return total;
  };

  before(async () => {
    db = await createMigDatabase();
    // Make the tables exist, so "nothing written" is a count of zero rows.
    writeTree(root, { 'seed/graph_chunk_entity_relation.graphml': graphml(node('X')) });
    assert.equal(only(await run(migConfig(env()), { workspaces: ['seed'] })).status, 'migrated');
  });

  after(async () => {
    await db.drop();
    dir.cleanup();
  });

  it('refuses a torn key-value file (B01) and writes nothing of the workspace', async () => {
    writeTree(root, {
      'torn/graph_chunk_entity_relation.graphml': graphml(node('A') + node('B')),
      'torn/kv_store_doc_status.json': '{\n  "doc-1": {"status": "processed", "content_summ',
    });
    const report = only(await run(migConfig(env()), { workspaces: ['torn'] }));
    assert.equal(report.status, 'refused');
    const torn = report.findings.find((f) => f.code === 'unreadable');
    assert.match(torn!.message, /kv_store_doc_status\.json cannot be read: .*at byte \d+/);
    assert.equal(await rows('torn'), 0);
  });

  it('refuses ids PostgreSQL would alter (B05), values too long for a column (B20)', async () => {
    writeTree(root, {
      'bad/graph_chunk_entity_relation.graphml': graphml(node('A')),
      'bad/kv_store_doc_status.json': json({
        'doc-\ud800': status({}),
        'doc-long': status({ content_summary: 'x'.repeat(300) }),
      }),
    });
    const report = only(await run(migConfig(env()), { workspaces: ['bad'] }));
    assert.equal(report.status, 'refused');
    const long = report.findings.find((f) => f.code === 'too_long');
    assert.deepEqual(long?.records, ['doc-long']);
    assert.equal(long?.field, 'content_summary');
    assert.ok(report.findings.some((f) => f.code === 'bad_id' && f.store === 'doc_status'));
    assert.match(report.error!.message, /nothing was written/);
    assert.equal(await rows('bad'), 0);
  });

  it('replaces NUL and lone surrogates in values by one policy and lists them', async () => {
    writeTree(root, {
      'text/graph_chunk_entity_relation.graphml': graphml(node('A')),
      'text/kv_store_text_chunks.json': json({
        'chunk-1': { content: 'a\u0000b', tokens: 1, chunk_order_index: 0, full_doc_id: 'd' },
        'chunk-2': {
          content: 'lone \udc9a here',
          tokens: 1,
          chunk_order_index: 1,
          full_doc_id: 'd',
        },
      }),
    });
    const report = only(await run(migConfig(env()), { workspaces: ['text'] }));
    assert.equal(report.status, 'migrated', JSON.stringify(report.error));
    assert.deepEqual(report.findings.find((f) => f.code === 'nul_replaced')?.records, ['chunk-1']);
    assert.deepEqual(report.findings.find((f) => f.code === 'surrogate_replaced')?.records, [
      'chunk-2',
    ]);
    const stored = await db.query(
      `SELECT id, content FROM lightrag_doc_chunks WHERE workspace = 'text' ORDER BY id`,
    );
    assert.deepEqual(
      stored.map((r) => r.content),
      ['a\ufffdb', 'lone \ufffd here'],
    );
  });

  it("reports the graph's self-loops, reciprocal duplicates, non-finite weights", async () => {
    writeTree(root, {
      'graph/graph_chunk_entity_relation.graphml': graphml(
        node('A') +
          node('B') +
          node('C') +
          edge('A', 'B', '1.0', 'first') +
          edge('B', 'A', '2.0') +
          edge('A', 'A', '1.0') +
          edge('B', 'C', 'NaN') +
          edge('A', 'C', 'inf'),
      ),
    });
    const report = only(await run(migConfig(env()), { workspaces: ['graph'] }));
    assert.equal(report.status, 'migrated', JSON.stringify(report.error ?? report.verification));
    const relations = report.verification!.find((v) => v.store === 'graph_relations')!;
    assert.deepEqual(relations.differences?.sourceDuplicates, ['A - B']);
    assert.equal(relations.target, 4);
    assert.equal(report.findings.find((f) => f.code === 'self_loop')?.count, 1);
    assert.equal(report.findings.find((f) => f.code === 'non_finite_weight')?.count, 2);
    const [merged] = await db.query(
      `SELECT weight, description FROM ragspace_relations
        WHERE workspace = 'graph' AND source = 'A' AND target = 'B'`,
    );
    // networkx's add_edge merges: the later weight wins, the earlier description survives.
    assert.deepEqual(merged, { weight: 2, description: 'first' });
    const [nan] = await db.query(
      `SELECT weight::text AS w FROM ragspace_relations
        WHERE workspace = 'graph' AND target = 'C' AND source = 'B'`,
    );
    assert.equal(nan!.w, 'NaN');
  });

  it('--all lists the directories whose names are not workspace names', async () => {
    const own = tempDir('ragspace-mig-all-');
    writeTree(own.path, {
      'fine/graph_chunk_entity_relation.graphml': graphml(node('A')),
      'bad name/graph_chunk_entity_relation.graphml': graphml(node('B')),
      '-dash/graph_chunk_entity_relation.graphml': graphml(node('C')),
    });
    try {
      const config = migConfig({ ...env(), WORKING_DIR: own.path });
      const report = await run(config, { all: true, dryRun: true });
      assert.deepEqual(
        report.workspaces.map((w) => w.workspace),
        ['fine'],
      );
      const characters = 'it contains characters other than A-Z, a-z, 0-9, "_", "-"';
      assert.deepEqual(report.skipped, [
        { directory: '-dash', reason: 'it starts with "-"' },
        { directory: 'bad name', reason: characters },
      ]);
      assert.ok(
        renderReport(report).includes(
          `skipped directory "bad name": ${characters}; not migrated (rename it to migrate it)`,
        ),
      );
    } finally {
      own.cleanup();
    }
  });

  it('migrates hashed node ids (B04) under their entity_id, edges included', async () => {
    const hashed = (id: string, name: string) =>
      `<node id="${id}"><data key="d0">person</data><data key="d3">${name}</data></node>`;
    const entityIdKey = '<key id="d3" for="node" attr.name="entity_id" attr.type="string"/>';
    writeTree(root, {
      'hashed/graph_chunk_entity_relation.graphml': graphml(
        hashed('ent-1', 'Alice') + hashed('ent-2', 'Bob') + edge('ent-1', 'ent-2', '1.0'),
      ).replace(KEYS, KEYS + entityIdKey),
    });
    const report = only(await run(migConfig(env()), { workspaces: ['hashed'] }));
    assert.equal(report.status, 'migrated', JSON.stringify(report.error ?? report.verification));
    const names = await db.query(
      `SELECT name, entity_id FROM ragspace_entities WHERE workspace = 'hashed' ORDER BY name`,
    );
    assert.deepEqual(names, [
      { name: 'Alice', entity_id: 'Alice' },
      { name: 'Bob', entity_id: 'Bob' },
    ]);
    const [relation] = await db.query(
      `SELECT source, target FROM ragspace_relations WHERE workspace = 'hashed'`,
    );
    assert.deepEqual(relation, { source: 'Alice', target: 'Bob' });
  });

  it('keeps every doc-status era (B23): unknown status, missing fields, naive times', async () => {
    writeTree(root, {
      'docs/graph_chunk_entity_relation.graphml': graphml(node('A')),
      'docs/kv_store_doc_status.json': json({
        old: {
          status: 'processed',
          content: 'full text',
          content_summary: 's',
          content_length: 1,
          created_at: '2025-03-05T00:33:16.776185',
          updated_at: '2025-03-05T00:33:18',
        },
        current: status({
          track_id: 'upload_20260615_035002_0a1b2c3d',
          chunks_count: 2,
          chunks_list: ['c1', 'c2'],
          metadata: { k: 'v' },
        }),
        extra: status({ multimodal_processed: true, odd: { nested: [1, 2] } }),
        unknown: status({ status: 'handling' }),
      }),
    });
    const report = only(await run(migConfig(env()), { workspaces: ['docs'] }));
    assert.equal(report.status, 'migrated', JSON.stringify(report.error ?? report.verification));
    const dropped = report.findings
      .filter((f) => f.code === 'not_stored')
      .map((f) => f.field)
      .sort();
    assert.deepEqual(dropped, ['content', 'multimodal_processed', 'odd']);
    const stored = await db.query(
      `SELECT id, status, chunks_count, created_at::text AS c FROM lightrag_doc_status
        WHERE workspace = 'docs' ORDER BY id`,
    );
    const byId = Object.fromEntries(stored.map((r) => [r.id, r]));
    assert.equal(byId.unknown.status, 'handling');
    assert.equal(
      byId.old.chunks_count,
      -1,
      'a missing chunks_count is stored as LightRAG stores it',
    );
    assert.equal(byId.old.c, '2025-03-05 00:33:16.776185', 'a naive time is taken as UTC');
    assert.equal(byId.current.c, '2026-06-15 03:50:02.123456');
  });

  it('--dry-run reads and checks everything and connects to nothing', async () => {
    writeTree(root, { 'dry/graph_chunk_entity_relation.graphml': graphml(node('A') + node('B')) });
    const pglite = join(root, 'never-created');
    const offline = {
      ...env(),
      POSTGRES_DATABASE: 'ragspace_mig_does_not_exist',
      POSTGRES_PORT: '1',
    };
    const report = only(await run(migConfig(offline), { workspaces: ['dry'], dryRun: true }));
    assert.equal(report.status, 'checked');
    assert.equal(report.stores.find((s) => s.store === 'graph_entities')?.records, 2);
    const embedded = migConfig(env(), { RAGSPACE_PGLITE_DIR: pglite });
    assert.equal(
      only(await run(embedded, { workspaces: ['dry'], dryRun: true })).status,
      'checked',
    );
    assert.equal(existsSync(pglite), false);
  });

  it('does not report a workspace migrated when its files change meanwhile (B02)', async () => {
    writeTree(root, { 'moving/graph_chunk_entity_relation.graphml': graphml(node('A')) });
    const path = join(root, 'moving/graph_chunk_entity_relation.graphml');
    const progress: Progress = {
      ...silentProgress,
      start: (_ws, phase) => {
        if (phase === 'copying') appendFileSync(path, '\n');
      },
    };
    const report = only(await run(migConfig(env()), { workspaces: ['moving'], progress }));
    assert.equal(report.status, 'source_changed');
    assert.deepEqual(report.changedFiles, ['graph_chunk_entity_relation.graphml']);
    assert.equal(report.error?.code, 'FILE_CHANGED');
  });

  it('refuses to merge into rows no migration wrote, unless forced', async () => {
    writeTree(root, { 'taken/graph_chunk_entity_relation.graphml': graphml(node('A')) });
    await db.query(
      `INSERT INTO ragspace_entities (workspace, name, name_lower) VALUES ('taken', 'Z', 'z')`,
    );
    const refused = only(await run(migConfig(env()), { workspaces: ['taken'] }));
    assert.equal(refused.error?.code, 'MIGRATION_REFUSED');
    assert.match(refused.error!.message, /ragspace_entities: 1/);
    const forced = only(await run(migConfig(env()), { workspaces: ['taken'], force: true }));
    assert.equal(forced.status, 'verify_failed');
    const entities = forced.verification!.find((v) => v.store === 'graph_entities')!;
    assert.deepEqual(entities.differences?.extra, ['Z']);
  });

  it('rolls back: asks, refuses without a terminal, deletes only that workspace', async () => {
    const envFile = join(root, '.env');
    writeEnvFile(envFile, env());
    const checksum = treeChecksum(root);
    const cli = spawnCli(['rollback', '--workspace', 'graph', '--dotenv', envFile]);
    const refused = await cli.done;
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /needs confirmation.*--yes/s);
    assert.ok((await rows('graph')) > 0);

    const seen: string[] = [];
    const report = await rollback(migConfig(env()), {
      workspace: 'graph',
      log: silentLogger,
      confirm: async (plan) => {
        seen.push(...plan.tables.filter((t) => t.rows > 0).map((t) => `${t.table}:${t.rows}`));
        return true;
      },
    });
    assert.deepEqual(seen.sort(), ['ragspace_entities:3', 'ragspace_relations:4']);
    assert.equal(
      report.deleted.reduce((n, t) => n + t.rows, 0),
      7,
    );
    assert.equal(await rows('graph'), 0);
    assert.ok((await rows('docs')) > 0, 'other workspaces are untouched');
    const after = only(await verify(migConfig(env()), { workspace: 'graph', log: silentLogger }));
    assert.equal(after.status, 'verify_failed');
    assert.equal(treeChecksum(root), checksum, 'rollback touched the files');
  });
});
