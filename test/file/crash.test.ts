import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { readGraphml } from '../../src/formats/graphml.ts';
import { loadNanoVdb } from '../../src/formats/nano-vdb-loader.ts';
import { silentLogger } from '../../src/log.ts';
import { JOURNAL_FILE } from '../../src/storage/file/atomic.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { isLightragFile, isTempFile } from '../../src/storage/file/layout.ts';
import { tempDir } from '../helpers.ts';
import { readWithPython } from './python.ts';

/**
 * A writer killed with SIGKILL at random moments never leaves a damaged file, and once
 * ragspace opens the workspace again the files agree with each other (one write's
 * changes are all there or none is).
 */
const CHILD = fileURLToPath(new URL('./child-writer.ts', import.meta.url));
const ROUNDS = 8;

/** Starts the writer and kills it at a random moment after its first write. */
function runAndKill(workingDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, workingDir, 'ws', 'e', 'forever'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.once('data', () =>
      setTimeout(() => child.kill('SIGKILL'), 20 + Math.random() * 300),
    );
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited early (${code}): ${stderr}`));
    });
  });
}

/** Parses every LightRAG file on its own, with no recovery: each must be whole. */
async function checkEveryFileParses(directory: string): Promise<void> {
  for (const name of readdirSync(directory).filter(isLightragFile)) {
    const path = join(directory, name);
    if (name.endsWith('.graphml')) {
      await readGraphml(path, { wantsAttributes: true, onNode: () => {}, onEdge: () => {} });
    } else if (name.startsWith('vdb_')) {
      await loadNanoVdb(path);
    } else {
      JSON.parse(readFileSync(path, 'utf8'));
    }
  }
}

async function consistentCounts(workingDir: string) {
  const storage = new FileStorage(workingDir, { logger: silentLogger });
  return storage.read('ws', async (r) => {
    const names = (await r.entityNames()).filter((n) => n !== 'hub');
    const docs = await r.getKv(
      'full_docs',
      names.map((n) => `doc-${n}`),
    );
    const vectors = await r.getVectors(
      'entities',
      names.map((n) => `ent-${n}`),
    );
    const relations = (await r.relations(0, 1_000_000)).total;
    return { entities: names.length, docs: docs.size, vectors: vectors.length, relations };
  });
}

describe('a writer killed mid-write', () => {
  it('leaves every file whole, and all-or-nothing writes after recovery', async (t) => {
    const dir = tempDir();
    let interrupted = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await runAndKill(dir.path);
        const directory = join(dir.path, 'ws');
        const leftovers = readdirSync(directory).filter((n) => isTempFile(n) || n === JOURNAL_FILE);
        if (leftovers.length > 0) interrupted++;
        await checkEveryFileParses(directory);
        const counts = await consistentCounts(dir.path);
        assert.ok(counts.entities > 0);
        assert.deepEqual(counts, {
          entities: counts.entities,
          docs: counts.entities,
          vectors: counts.entities,
          relations: counts.entities,
        });
        assert.equal(existsSync(join(directory, JOURNAL_FILE)), false, 'recovery ran');
      }
      t.diagnostic(`${interrupted} of ${ROUNDS} kills left a write half done`);
      const report = readWithPython(join(dir.path, 'ws'));
      assert.equal(report.vdb['vdb_entities.json']?.aligned, true);
      assert.equal(report.graph?.class, 'Graph');
    } finally {
      dir.cleanup();
    }
  });
});
