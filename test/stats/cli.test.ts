import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RebuildReport } from '../../src/storage/postgres/stats.ts';
import { tempDir } from '../helpers.ts';
import { emptyEnvFile, runCli } from '../run-process.ts';
import { openPostgres, PG_WITHOUT_VECTORS, pgTestConfig } from '../postgres/helpers.ts';
import {
  createStatsDatabase,
  fillGraph,
  openStats,
  withClient,
  type StatsDatabase,
} from './helpers.ts';

/** `ragspace stats --rebuild [--workspace X] [--json]` as a user runs it. */
const noEnvFile = emptyEnvFile();
after(() => noEnvFile.cleanup());

const ragspace = (env: Record<string, string>, args: string[]) =>
  runCli(['stats', ...args, '--dotenv', noEnvFile.path], env);

describe('ragspace stats on PostgreSQL 15', () => {
  let db: StatsDatabase;
  let env: Record<string, string>;

  before(async () => {
    db = await createStatsDatabase();
    env = { ...db.env, ...PG_WITHOUT_VECTORS };
    const opened = await openStats(db);
    await fillGraph(opened.storage, 'one', 'a', 4);
    await fillGraph(opened.storage, 'two', 'b', 2);
    await opened.close();
  });
  after(() => db.drop());

  it('--rebuild --json recounts every table, with a progress line each', async () => {
    await withClient(db.env, (c) =>
      c.query(`UPDATE ragspace_workspace_stats SET relation_count = 9 WHERE workspace = 'two'`),
    );
    const run = await ragspace(env, ['--rebuild', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as RebuildReport;
    assert.equal(report.workspaces, 2);
    assert.deepEqual(
      report.changed.map((c) => [c.workspace, c.before?.relation_count, c.after?.relation_count]),
      [['two', 9, 1]],
    );
    for (const table of ['ragspace_entities', 'ragspace_relations', 'lightrag_doc_status']) {
      assert.match(run.stderr, new RegExp(`^${table}: \\d+ rows in \\d+ workspaces`, 'm'));
    }
  });

  it('--rebuild --workspace X counts that workspace only, and says what changed', async () => {
    await withClient(db.env, (c) =>
      c.query(`UPDATE ragspace_workspace_stats SET entity_count = 0`),
    );
    const run = await ragspace(env, ['--rebuild', '--workspace', 'one']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^rebuilt the statistics of 1 workspaces in [\d.]+ s; 1 changed$/m);
    assert.match(run.stdout, /^one: entity_count 0 -> 4$/m);
    assert.match(run.stderr, /^ragspace_entities: 4 rows in 1 workspaces/m);
    const summary = await ragspace(env, ['--workspace', 'two', '--json']);
    assert.equal(JSON.parse(summary.stdout)[0].entity_count, 0, 'two was left alone');
  });

  it('refuses a bad workspace name and storage without PostgreSQL', async () => {
    const bad = await ragspace(env, ['--rebuild', '--workspace', 'no/slash']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not allowed/);
    const files = await ragspace({ WORKING_DIR: dirname(noEnvFile.path) }, ['--rebuild']);
    assert.equal(files.code, 1);
    assert.match(files.stderr, /kept only in PostgreSQL/);
  });
});

describe('ragspace stats on embedded PGlite', () => {
  const dir = tempDir();
  after(() => dir.cleanup());

  it('--rebuild works on RAGSPACE_PGLITE_DIR', async () => {
    const env = { ...PG_WITHOUT_VECTORS, RAGSPACE_PGLITE_DIR: join(dir.path, 'pg') };
    const storage = await openPostgres(pgTestConfig(env));
    await storage.write('solo', (w) => w.upsertEntity({ name: 'x', properties: {} }));
    await storage.close();
    const run = await ragspace(env, ['--rebuild', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as RebuildReport).changed, []);
    const summary = await ragspace(env, []);
    assert.match(summary.stdout, /^1 workspaces\nentity_count +1$/m);
  });
});
