import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeSmallWorkspace } from '../../bench/generate.ts';
import { tempDir } from '../helpers.ts';
import {
  createMigDatabase,
  migConfig,
  only,
  run,
  sleep,
  spawnCli,
  treeChecksum,
  WITHOUT_VECTORS,
  writeEnvFile,
  type MigDatabase,
} from './helpers.ts';

/**
 * A migration in its own process, seen from outside: while it holds the workspace, a second
 * migration of it is refused; killed (SIGKILL) after some batches, a second run finishes the
 * job, verifies, and leaves exactly one row per record.
 */
const ENTITIES = 60_000;
const RELATIONS = 120_000;

async function waitFor(what: string, check: () => Promise<boolean>, exited: () => boolean) {
  for (;;) {
    if (await check()) return;
    if (exited()) throw new Error(`the migration process ended before ${what}`);
    await sleep(50);
  }
}

describe('a migration process that is interrupted', () => {
  let db: MigDatabase;
  const dir = tempDir('ragspace-mig-kill-');
  const workingDir = join(dir.path, 'rag_storage');
  let env: Record<string, string>;

  before(async () => {
    db = await createMigDatabase();
    writeSmallWorkspace(join(workingDir, 'big'), {
      seed: 7,
      entities: ENTITIES,
      relations: RELATIONS,
      documents: 20,
      chunksPerDocument: 20,
      dim: 8,
    });
    env = { ...WITHOUT_VECTORS, ...db.env, WORKING_DIR: workingDir };
    writeEnvFile(join(dir.path, '.env'), env);
  });

  after(async () => {
    await db.drop();
    dir.cleanup();
  });

  it('refuses a second migration of the workspace, then resumes after SIGKILL', async () => {
    const checksum = treeChecksum(workingDir);
    const cli = spawnCli([
      'migrate',
      '--workspace',
      'big',
      '--quiet',
      '--dotenv',
      join(dir.path, '.env'),
    ]);
    const exited = () => cli.out.code !== null || cli.out.signal !== null;
    // The run is journalled as running only after it holds the workspace lock; waiting
    // for any advisory lock would also catch the schema set-up lock taken earlier.
    const locked = async () => {
      try {
        const found = await db.query(`SELECT 1 FROM ragspace_migrations WHERE status = 'running'`);
        return found.length > 0;
      } catch {
        return false; // the journal table is not created yet
      }
    };
    await waitFor('taking its lock', locked, exited);

    const second = only(await run(migConfig(env), { workspaces: ['big'] }));
    assert.equal(second.status, 'locked');
    assert.equal(second.error?.code, 'MIGRATION_LOCKED');
    assert.match(second.error!.message, /already being migrated/);

    // Relations go in batch by batch (entities wait in a temporary table until the end).
    const rows = async () => {
      const found = await db.query(`SELECT count(*)::int AS n FROM ragspace_relations`);
      return (found[0]!.n as number) > 0;
    };
    await waitFor('writing a batch', rows, exited);
    cli.child.kill('SIGKILL');
    const killed = await cli.done;
    assert.equal(killed.signal, 'SIGKILL');

    const [partial] = await db.query(`SELECT count(*)::int AS n FROM ragspace_relations`);
    assert.ok((partial!.n as number) < RELATIONS, 'the kill came before the end');

    const resumed = only(await run(migConfig(env), { workspaces: ['big'] }));
    assert.equal(resumed.status, 'migrated', JSON.stringify(resumed.error ?? resumed.verification));
    const [entities] = await db.query(
      `SELECT count(*)::int AS n, count(DISTINCT name)::int AS d FROM ragspace_entities`,
    );
    const [relations] = await db.query(
      `SELECT count(*)::int AS n, count(DISTINCT (source, target))::int AS d
         FROM ragspace_relations`,
    );
    assert.deepEqual(entities, { n: ENTITIES, d: ENTITIES });
    assert.deepEqual(relations, { n: RELATIONS, d: RELATIONS });
    const runs = await db.query(
      `SELECT status, count(*)::int AS n FROM ragspace_migrations GROUP BY status ORDER BY 1`,
    );
    // The resumed run, holding the lock, marked the killed one interrupted.
    assert.deepEqual(runs, [
      { status: 'interrupted', n: 1 },
      { status: 'migrated', n: 1 },
    ]);
    assert.equal(treeChecksum(workingDir), checksum, 'the source files were modified');
  });
});
