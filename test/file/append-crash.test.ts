import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { readGraphml } from '../../src/formats/graphml.ts';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { PENDING_VECTORS_FILE } from '../../src/storage/file/layout.ts';
import { tempDir } from '../helpers.ts';
import { readWithPython } from './python.ts';

/**
 * A writer killed with SIGKILL while it appends (a copy of a graph larger than the early
 * copy threshold, cut, extended, renamed) leaves every file whole, old or new, and the
 * stores agree with each other: each write's additions are all there or none is.
 */
const CHILD = fileURLToPath(new URL('./append-child.ts', import.meta.url));
const GRAPH = 'graph_chunk_entity_relation.graphml';
const ROUNDS = 6;
const BATCH = 20;
const SEED_NODES = 9000;
const options = { logger: silentLogger };

/** A graph of about 19 MB, so each append copies enough for a kill to land inside. */
async function seed(workingDir: string): Promise<void> {
  const filler = 'seed text '.repeat(200);
  await new FileStorage(workingDir, options).write('ws', async (w) => {
    await w.upsertEntity({ name: 'hub', properties: { description: 'hub' } });
    for (let i = 0; i < SEED_NODES; i++) {
      await w.upsertEntity({ name: `seed-${i}`, properties: { description: filler } });
    }
    await w.upsertKv('entity_chunks', new Map([['hub', { chunk_ids: ['c'], count: 1 }]]));
    await w.upsertVectors('entities', [
      { id: 'ent-hub', fields: { content: 'hub' }, vector: null, createdAt: 0 },
    ]);
  });
}

function runAndKill(workingDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, workingDir, 'ws', `${BATCH}`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.once('data', () =>
      setTimeout(() => child.kill('SIGKILL'), 20 + Math.random() * 400),
    );
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited early (${code}): ${stderr}`));
    });
  });
}

/** Each file parses on its own, with no recovery. */
async function checkWhole(directory: string): Promise<void> {
  await readGraphml(join(directory, GRAPH), { wantsAttributes: true, onNode() {}, onEdge() {} });
  JSON.parse(readFileSync(join(directory, 'kv_store_entity_chunks.json'), 'utf8'));
  JSON.parse(readFileSync(join(directory, PENDING_VECTORS_FILE), 'utf8'));
}

async function counts(workingDir: string) {
  return new FileStorage(workingDir, options).read('ws', async (r) => {
    const names = (await r.entityNames()).filter((n) => n.startsWith('n-'));
    const records = await r.getKv('entity_chunks', names);
    const rows = (await r.pendingVectors('entities')).filter((v) => v.id.startsWith('ent-n-'));
    const relations = (await r.relations(0, 10_000_000)).total;
    return { names: names.length, records: records.size, rows: rows.length, relations };
  });
}

describe('a writer killed while appending', () => {
  it('leaves whole files whose additions are all there or none', async (t) => {
    const dir = tempDir();
    try {
      await seed(dir.path);
      const directory = join(dir.path, 'ws');
      for (let round = 0; round < ROUNDS; round++) {
        await runAndKill(dir.path);
        await checkWhole(directory);
        const found = await counts(dir.path);
        assert.ok(found.names > 0);
        assert.equal(found.names % BATCH, 0, 'whole batches only');
        const batches = found.names / BATCH;
        assert.deepEqual(found, {
          names: found.names,
          records: found.names,
          rows: found.names,
          relations: found.names + batches * (BATCH - 1),
        });
      }
      const leftovers = readdirSync(directory).filter((name) => name.includes('.tmp.'));
      t.diagnostic(`${leftovers.length} temp files left by kills (reaped after an hour)`);
      const text = readFileSync(join(directory, GRAPH), 'utf8');
      assert.ok(text.lastIndexOf('<node ') > text.indexOf('<edge '), 'appends happened');
      const graph = readWithPython(directory).graph;
      assert.equal(
        Object.keys(graph?.nodes ?? {}).length,
        (await counts(dir.path)).names + SEED_NODES + 1,
      );
    } finally {
      dir.cleanup();
    }
  });
});
