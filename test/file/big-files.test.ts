import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeLargeEntriesKv, writeZeroMatrixVdb } from '../../bench/generate.ts';
import { inspectNanoVdb } from '../../src/formats/nano-vdb.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { tempDir } from '../helpers.ts';

/**
 * B25: files larger than V8's longest string (536,870,888 characters in Node 20) cannot
 * go through readFile + JSON.parse at all; the readers must stream them. The files are
 * written here (about 1.1 GB together) and removed afterwards.
 */
const V8_MAX_STRING = 536_870_888;
const DIM = 1024;
const ROWS = 99_999;

describe('B25: files longer than V8 can hold as one string', () => {
  const dir = tempDir('ragspace-big-');
  const workspace = join(dir.path, 'big');
  const kvPath = join(workspace, 'kv_store_full_docs.json');
  const vdbPath = join(workspace, 'vdb_chunks.json');

  before(() => {
    mkdirSync(workspace);
    writeLargeEntriesKv(kvPath, 8, 70 * 1024 * 1024);
    writeZeroMatrixVdb(vdbPath, DIM, ROWS);
  });
  after(() => dir.cleanup());

  it('the inputs really are beyond the limit', () => {
    assert.ok(statSync(kvPath).size > V8_MAX_STRING, 'key-value file');
    const matrixChars = (ROWS * DIM * 4 * 4) / 3;
    assert.ok(matrixChars > V8_MAX_STRING, 'the matrix string alone');
  });

  it('a nano-vectordb file whose matrix alone is too long is read and counted', async () => {
    const summary = await inspectNanoVdb(vdbPath);
    assert.deepEqual(summary, {
      embeddingDim: DIM,
      rowCount: ROWS,
      matrixBytes: ROWS * DIM * 4,
      rowsWithVector: 0,
      problems: [],
    });
  });

  it('the workspace detail counts both files without errors', async () => {
    const detail = await new FileStorage(dir.path).describeWorkspace('big');
    assert.deepEqual(detail.errors, []);
    assert.deepEqual(detail.stores, { full_docs: 8, vdb_chunks: ROWS });
    assert.deepEqual(detail.vector_dimensions, { vdb_chunks: DIM });
    assert.equal(detail.document_count, 8);
  });
});
