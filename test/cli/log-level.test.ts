import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir, writeTree } from '../helpers.ts';
import {
  createMigDatabase,
  WITHOUT_VECTORS,
  writeEnvFile,
  type MigDatabase,
} from '../migrate/helpers.ts';
import { BIN } from '../run-process.ts';

/**
 * Every command reads LOG_LEVEL from its --dotenv file too, not only from the process's
 * environment (`migrate` logged at info whatever the file said).
 */
function migrateWith(envFile: string): Promise<string> {
  const args = [BIN, 'migrate', '--dotenv', envFile, '--workspace', 'one', '--quiet'];
  // No LOG_LEVEL in the process: the file's must count.
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '' } });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', () => resolve(stderr)));
}

describe("LOG_LEVEL from a command's --dotenv file", () => {
  const dir = tempDir('ragspace-log-level-');
  const databases: MigDatabase[] = [];

  before(async () => {
    databases.push(await createMigDatabase(), await createMigDatabase());
    writeTree(dir.path, {
      'rag_storage/one/graph_chunk_entity_relation.graphml':
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">' +
        '<graph edgedefault="undirected"><node id="A"/></graph></graphml>',
    });
  });

  after(async () => {
    for (const db of databases) await db.drop();
    dir.cleanup();
  });

  it('migrate logs at info only when the file asks for it', async () => {
    const [quiet, chatty] = databases as [MigDatabase, MigDatabase];
    const base = { ...WITHOUT_VECTORS, WORKING_DIR: join(dir.path, 'rag_storage') };
    const quietEnv = join(dir.path, 'quiet.env');
    const chattyEnv = join(dir.path, 'chatty.env');
    writeEnvFile(quietEnv, { ...base, ...quiet.env, LOG_LEVEL: 'ERROR' });
    writeEnvFile(chattyEnv, { ...base, ...chatty.env, LOG_LEVEL: 'info' });
    // Both create the tables of a fresh database, which is logged at info.
    assert.ok((await migrateWith(chattyEnv)).includes('"event":"postgres.table_created"'));
    assert.equal(await migrateWith(quietEnv), '');
  });
});
