import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../helpers.ts';
import { runCli } from '../run-process.ts';

/**
 * Start-up problems a user makes (a mistyped --dotenv path, an unknown LOG_LEVEL, a port
 * in use, WORKING_DIR on a file) stop the command with one message and exit code 1,
 * never a stack trace and never a server started on defaults.
 */
const FIX = '\nFix the environment or .env file and start again.\n';
const oneProblem = (problem: string) =>
  `ragspace: Configuration has 1 problem(s):\n  - ${problem}${FIX}`;

describe('start-up problems', () => {
  const dir = tempDir('ragspace-startup-');
  const empty = join(dir.path, 'empty.env');
  writeFileSync(empty, '');
  const aFile = join(dir.path, 'not-a-directory');
  writeFileSync(aFile, 'x');
  let busy: Server;
  let busyPort = 0;

  before(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
    dir.cleanup();
  });

  const run = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { WORKING_DIR: join(dir.path, 'rag_storage'), ...env });

  it('a --dotenv file that does not exist', async () => {
    const missing = join(dir.path, 'typo.env');
    for (const command of ['workspaces', 'serve']) {
      const result = await run([command, '--dotenv', missing]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, oneProblem(`--dotenv ${missing}: no such file (${missing})`));
    }
  });

  it('a --dotenv path that is a directory, and RAGSPACE_PGLITE_DIR on a file', async () => {
    const asDir = await run(['workspaces', '--dotenv', dir.path]);
    assert.equal(asDir.code, 1);
    assert.equal(asDir.stderr, oneProblem(`--dotenv ${dir.path}: ${dir.path} is not a file`));
    const env = {
      HOST: '127.0.0.1',
      PORT: '0',
      RAGSPACE_PGLITE_DIR: aFile,
      LIGHTRAG_KV_STORAGE: 'PGKVStorage',
    };
    const pglite = await run(['serve', '--dotenv', empty], env);
    assert.equal(pglite.code, 1);
    assert.equal(
      pglite.stderr,
      oneProblem(`RAGSPACE_PGLITE_DIR=${aFile} cannot be a directory (EEXIST)`),
    );
  });

  it('an unknown LOG_LEVEL; Python names are accepted', async () => {
    const refused = await run(['workspaces', '--dotenv', empty], { LOG_LEVEL: 'verbose' });
    assert.equal(refused.code, 1);
    const names = 'debug, info, warn, warning, error, critical';
    assert.equal(
      refused.stderr,
      oneProblem(`LOG_LEVEL=verbose is not supported; use one of: ${names} (any case)`),
    );
    const accepted = await run(['workspaces', '--dotenv', empty], { LOG_LEVEL: 'WARNING' });
    assert.equal(accepted.code, 0, accepted.stderr);
  });

  it('a port already in use', async () => {
    const env = { HOST: '127.0.0.1', PORT: String(busyPort) };
    const result = await run(['serve', '--dotenv', empty], env);
    assert.equal(result.code, 1);
    const problem = `PORT=${busyPort} on HOST=127.0.0.1 is already in use; stop it or set PORT`;
    assert.equal(result.stderr, oneProblem(problem));
  });

  it('WORKING_DIR that is a file', async () => {
    const env = { HOST: '127.0.0.1', PORT: '0', WORKING_DIR: aFile };
    const result = await run(['serve', '--dotenv', empty], env);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, oneProblem(`WORKING_DIR=${aFile} is a file, not a directory`));
  });
});
