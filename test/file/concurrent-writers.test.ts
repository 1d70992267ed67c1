import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { tempDir } from '../helpers.ts';
import { readWithPython } from './python.ts';

/**
 * Two processes writing the same workspace at once lose nothing: the lock serialises
 * them, and each reloads what the other wrote before writing (issue B02).
 */
const CHILD = fileURLToPath(new URL('./child-writer.ts', import.meta.url));
const PER_WRITER = 200;

function writer(workingDir: string, prefix: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, workingDir, 'shared', prefix, String(PER_WRITER), '64'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`writer ${prefix} failed (${code}): ${stderr}`)),
    );
  });
}

describe('two writer processes on one workspace', () => {
  it(`keep all ${2 * PER_WRITER} entities, relations, records and vectors`, async () => {
    const dir = tempDir();
    try {
      await Promise.all([writer(dir.path, 'p'), writer(dir.path, 'q')]);
      const storage = new FileStorage(dir.path, { logger: silentLogger });
      const result = await storage.read('shared', async (r) => {
        const names = (await r.entityNames()).filter((n) => n !== 'hub');
        return {
          names,
          relations: (await r.relations(0, 10_000)).total,
          docs: (
            await r.getKv(
              'full_docs',
              names.map((n) => `doc-${n}`),
            )
          ).size,
          vectors: (
            await r.getVectors(
              'entities',
              names.map((n) => `ent-${n}`),
            )
          ).length,
        };
      });
      const expected = ['p', 'q'].flatMap((p) =>
        Array.from({ length: PER_WRITER }, (_, i) => `${p}-${i}`),
      );
      assert.deepEqual(new Set(result.names), new Set(expected));
      assert.equal(result.relations, 2 * PER_WRITER);
      assert.equal(result.docs, 2 * PER_WRITER);
      assert.equal(result.vectors, 2 * PER_WRITER);
      const report = readWithPython(join(dir.path, 'shared'));
      assert.equal(Object.keys(report.graph?.nodes ?? {}).length, 2 * PER_WRITER + 1);
      assert.equal(report.vdb['vdb_entities.json']?.rows, 2 * PER_WRITER);
    } finally {
      dir.cleanup();
    }
  });
});
