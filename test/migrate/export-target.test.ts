import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { exportWorkspace } from '../../src/migrate/export.ts';
import { tempDir, writeTree } from '../helpers.ts';
import { ALL_PG, migConfig } from './helpers.ts';

/**
 * `ragspace export` writes only into a new or empty directory outside WORKING_DIR, and
 * refuses anything else before it opens the database: no workspace's files, nor any
 * other file, can be overwritten by an export.
 */
describe('where an export may write', () => {
  const root = tempDir('ragspace-export-target-');
  after(() => root.cleanup());
  const workingDir = join(root.path, 'rag_storage');
  const graph = 'graph_chunk_entity_relation.graphml';
  writeTree(workingDir, { [`acme/${graph}`]: 'acme graph', [`other/${graph}`]: 'other graph' });
  writeTree(root.path, { 'busy/notes.txt': 'keep me' });
  // No database is reached: the target directory is checked first.
  const pgliteDir = join(root.path, 'never-created');
  const config = migConfig(ALL_PG, { WORKING_DIR: workingDir, RAGSPACE_PGLITE_DIR: pgliteDir });
  const exportTo = (out: string) =>
    exportWorkspace(config, { workspace: 'acme', out, log: silentLogger });
  const refusal = (directory: string, reason: string) => ({
    code: 'MIGRATION_REFUSED',
    message:
      `Cannot export into ${directory}: ${reason}. Nothing was written; choose a new or ` +
      'empty directory outside WORKING_DIR for --out.',
  });
  const insideWorkingDir = `it is inside WORKING_DIR (${workingDir})`;

  it("refuses another workspace's directory, and the workspace's own", async () => {
    for (const name of ['other', 'acme']) {
      const directory = join(workingDir, name);
      await assert.rejects(exportTo(directory), refusal(directory, insideWorkingDir));
      assert.equal(readFileSync(join(directory, graph), 'utf8'), `${name} graph`);
    }
  });

  it('refuses WORKING_DIR itself and a new directory inside it', async () => {
    await assert.rejects(exportTo(workingDir), refusal(workingDir, insideWorkingDir));
    const fresh = join(workingDir, 'new-one');
    await assert.rejects(exportTo(fresh), refusal(fresh, insideWorkingDir));
    assert.equal(existsSync(fresh), false, 'not even created');
  });

  it('refuses a name beginning with ".." inside WORKING_DIR, and one not made yet', async () => {
    const dotted = join(workingDir, '..foo');
    await assert.rejects(exportTo(dotted), refusal(dotted, insideWorkingDir));
    const later = join(root.path, 'later');
    const laterConfig = migConfig(ALL_PG, { WORKING_DIR: later, RAGSPACE_PGLITE_DIR: pgliteDir });
    const out = join(later, 'x');
    await assert.rejects(
      exportWorkspace(laterConfig, { workspace: 'acme', out, log: silentLogger }),
      refusal(out, `it is inside WORKING_DIR (${later})`),
    );
    assert.equal(existsSync(later), false, 'WORKING_DIR not created');
  });

  it('refuses a file in place of the directory', async () => {
    const file = join(root.path, 'busy', 'notes.txt');
    await assert.rejects(
      exportTo(file),
      refusal(file, 'it cannot be used as a directory (ENOTDIR)'),
    );
  });

  it('refuses a directory that already holds files', async () => {
    const busy = join(root.path, 'busy');
    await assert.rejects(exportTo(busy), refusal(busy, 'it is not empty'));
    assert.equal(readFileSync(join(busy, 'notes.txt'), 'utf8'), 'keep me');
    assert.equal(existsSync(pgliteDir), false, 'the database was never opened');
  });
});
