import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verify } from '../../src/migrate/verify.ts';
import { silentLogger } from '../../src/log.ts';
import { SAMPLES } from '../helpers.ts';
import {
  createMigDatabase,
  migConfig,
  only,
  run,
  sampleWorkspaces,
  treeChecksum,
  WITHOUT_VECTORS,
  type MigDatabase,
} from './helpers.ts';
import { plainRowsAgree } from './read-back.ts';

/**
 * Every sample workspace into the real PostgreSQL 15 server (graph, key-value stores and
 * doc status; the server has no pgvector, so vectors stay in files), verified, migrated a
 * second time without duplicating a row, and the samples left byte for byte as they were.
 *
 * Every GraphML file goes through the reader thread here (a large file's path; no sample
 * is large), while the PGlite suite reads them on the main thread.
 */
process.env.RAGSPACE_GRAPH_THREAD_MIN_BYTES = '0';

describe('migrating every sample into PostgreSQL 15 (graph, KV, doc status)', () => {
  let db: MigDatabase;
  const before_ = treeChecksum(SAMPLES);

  before(async () => {
    db = await createMigDatabase();
  });

  after(async () => {
    await db.drop();
    assert.equal(treeChecksum(SAMPLES), before_, 'the sample files were modified');
  });

  async function rowCounts(ws: string): Promise<Record<string, number>> {
    const tables = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.columns
        WHERE column_name = 'workspace' AND table_schema = 'public'
          AND table_name <> 'ragspace_migrations'`,
    );
    const counts: Record<string, number> = {};
    for (const { table_name } of tables) {
      const [row] = await db.query(
        `SELECT count(*)::int AS n FROM ${table_name} WHERE workspace = $1`,
        [ws],
      );
      counts[table_name] = row!.n as number;
    }
    return counts;
  }

  for (const sample of sampleWorkspaces()) {
    it(sample.label, async () => {
      // Two "default" workspaces (ljx root, nasret) share the database: alias one of them.
      const alias: Record<string, string> = sample.label.startsWith('nasret')
        ? { WORKSPACE: 'default', POSTGRES_WORKSPACE: 'nasret_default' }
        : {};
      const config = migConfig(WITHOUT_VECTORS, db.env, alias, { WORKING_DIR: sample.workingDir });
      const first = only(await run(config, { workspaces: [sample.workspace] }));
      assert.equal(first.status, 'migrated', JSON.stringify(first.error ?? first.verification));
      assert.ok(first.verification!.every((v) => v.ok));
      const column = first.column;
      const counts = await rowCounts(column);
      const entities = first.stores.find((s) => s.store === 'graph_entities')!.records;
      assert.equal(counts.ragspace_entities, entities);

      const second = only(await run(config, { workspaces: [sample.workspace] }));
      assert.equal(second.status, 'migrated', JSON.stringify(second.error));
      assert.deepEqual(await rowCounts(column), counts, 'a second run changed the row counts');

      const checked = only(
        await verify(config, { workspace: sample.workspace, log: silentLogger }),
      );
      assert.equal(checked.status, 'verified');

      // Verify digests plain rows straight from their COPY lines: the same as the records.
      const read = await plainRowsAgree(db, column);
      assert.equal(read.rows, counts.ragspace_entities! + counts.ragspace_relations!);
      if (read.rows > 0) assert.ok(read.plain > 0, 'no row was read as a plain row');
    });
  }
});
