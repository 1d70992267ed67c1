import assert from 'node:assert/strict';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeNanoVdb, type NanoRowOut } from '../../src/formats/nano-vdb-writer.ts';
import { inspectNanoVdb } from '../../src/formats/nano-vdb.ts';
import { silentLogger } from '../../src/log.ts';
import { prepareFile } from '../../src/storage/file/atomic.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { tempDir } from '../helpers.ts';

/**
 * A nano file whose matrix is longer than V8's longest string (about 512 Mi characters)
 * is read and rewritten (issue B25). About 1.6 GB of disk and a minute or two, so it runs
 * only with RAGSPACE_HEAVY_TESTS=1.
 */
const ROWS = 100_000;
const DIM = 1536;
const V8_MAX_STRING = 536_870_888;

function* rows(): Generator<NanoRowOut> {
  for (let r = 0; r < ROWS; r++) {
    const matrix = new Float32Array(DIM);
    matrix[r % DIM] = 1;
    yield { data: { __id__: `chunk-${r}`, __created_at__: r, content: `row ${r}` }, matrix };
  }
}

const skip = process.env.RAGSPACE_HEAVY_TESTS ? false : 'set RAGSPACE_HEAVY_TESTS=1 to run it';

describe('a vector file beyond the V8 string limit', () => {
  it('is read and written in pieces', { skip }, async () => {
    const dir = tempDir();
    try {
      const directory = join(dir.path, 'huge');
      mkdirSync(directory);
      const target = join(directory, 'vdb_chunks.json');
      const prepared = await prepareFile(target, (sink) =>
        writeNanoVdb({ embeddingDim: DIM, rows }, sink),
      );
      renameSync(prepared.temp, target);
      assert.ok(Math.ceil((ROWS * DIM * 4) / 3) * 4 > V8_MAX_STRING, 'the matrix text is too long');

      const storage = new FileStorage(dir.path, { logger: silentLogger });
      const found = await storage.read('huge', (r) => r.getVectors('chunks', ['chunk-99999']));
      assert.equal(found[0]?.vector?.[99_999 % DIM], 1);
      const vector = new Float32Array(DIM).fill(1);
      await storage.write('huge', (w) =>
        w.upsertVectors('chunks', [{ id: 'new', fields: { content: 'n' }, vector, createdAt: 1 }]),
      );
      const summary = await inspectNanoVdb(target);
      assert.deepEqual(summary.problems, []);
      assert.equal(summary.rowCount, ROWS + 1);
      assert.ok(statSync(target).size > V8_MAX_STRING);
    } finally {
      dir.cleanup();
    }
  });
});
