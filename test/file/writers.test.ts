import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { pythonFloat } from '../../src/formats/graphml-writer.ts';
import { stripLoneSurrogates, writePrettyJsonObject } from '../../src/formats/json-writer.ts';
import { decodeFloat16Vector } from '../../src/formats/nano-vdb.ts';
import { loadNanoVdb, MatrixDecoder } from '../../src/formats/nano-vdb-loader.ts';
import {
  encodeFloat16Vector,
  float16Bits,
  normaliseVector,
  writeNanoVdb,
} from '../../src/formats/nano-vdb-writer.ts';
import { MemorySink } from '../../src/formats/sink.ts';
import { labelSearchScore } from '../../src/graph/labels.ts';
import { tempDir } from '../helpers.ts';
import { pythonWithNetworkx } from './python.ts';

/** The pieces of the file writers, checked against Python where Python is the reference. */
function python(code: string, input: unknown): unknown {
  const result = spawnSync(pythonWithNetworkx(), ['-c', code], {
    input: JSON.stringify(input),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

function randomFloat32s(count: number): number[] {
  const bits = new Uint32Array(count);
  for (let i = 0; i < count; i++) bits[i] = Math.floor(Math.random() * 2 ** 32);
  return Array.from(new Float32Array(bits.buffer)).filter(Number.isFinite);
}

describe('GraphML number text', () => {
  it('doubles print as Python repr() prints them', () => {
    const values = [
      2,
      0.1,
      1e-5,
      1e-4,
      1e16,
      1e15,
      1.2345678901234568e17,
      1234567890123456,
      12345.678,
      -0.5,
      5e-324,
      1.7976931348623157e308,
      100,
      1 / 3,
      -1e-7,
      0.000123,
      ...randomFloat32s(200),
    ];
    const expected = python(
      'import json,sys; print(json.dumps([repr(float(x)) for x in json.load(sys.stdin)]))',
      values,
    );
    assert.deepEqual(values.map(pythonFloat), expected);
    assert.deepEqual([NaN, Infinity, -Infinity, -0].map(pythonFloat), [
      'nan',
      'inf',
      '-inf',
      '-0.0',
    ]);
  });
});

describe('nano-vectordb vectors', () => {
  it('float16 rounding matches Python (struct "e") bit for bit', () => {
    const values = [
      0,
      1,
      -1,
      65504,
      65519.99,
      6.1e-5,
      5.96e-8,
      2.98e-8,
      2.99e-8,
      1e-9,
      0.1,
      1 / 3,
      ...randomFloat32s(2000).map((v) => v / 2 ** Math.floor(Math.random() * 200)),
    ]
      .map((v) => Math.fround(v))
      // JSON cannot carry -0 to Python; it is checked on its own below.
      .filter((v) => Math.abs(v) < 65520 && !Object.is(v, -0));
    const expected = python(
      'import json,struct,sys\n' +
        'print(json.dumps([struct.unpack("<H", struct.pack("<e", x))[0] ' +
        'for x in json.load(sys.stdin)]))',
      values,
    );
    assert.deepEqual(values.map(float16Bits), expected);
    assert.equal(float16Bits(65520), 0x7c00, 'overflow is infinity, as numpy gives');
    assert.equal(float16Bits(-1e9), 0xfc00);
    assert.equal(float16Bits(-1e-30), 0x8000, 'a negative underflow keeps its sign');
  });

  it('the vector field decodes back to the raw embedding at half precision', () => {
    const raw = new Float32Array([0.5, -2, 3.25, 1024, 0]);
    assert.deepEqual(Array.from(decodeFloat16Vector(encodeFloat16Vector(raw))), Array.from(raw));
  });

  it('the matrix decoder accepts base64 cut anywhere', () => {
    const rows = Array.from({ length: 7 }, (_, r) =>
      normaliseVector(Float32Array.from([r + 1, -r, 3])),
    );
    const bytes = Buffer.concat(rows.map((row) => Buffer.from(row.buffer)));
    const text = bytes.toString('base64');
    for (let cut = 1; cut <= 9; cut++) {
      const decoder = new MatrixDecoder(() => 3);
      for (let i = 0; i < text.length; i += cut) decoder.push(Buffer.from(text.slice(i, i + cut)));
      assert.deepEqual(decoder.finish(), rows);
    }
  });

  it('a matrix larger than the reader chunk loads back exactly', async () => {
    const dir = tempDir();
    try {
      const dim = 1024;
      const rows = Array.from({ length: 300 }, (_, r) => ({
        data: { __id__: `row-${r}`, __created_at__: r },
        matrix: normaliseVector(
          Float32Array.from({ length: dim }, (_, i) => Math.sin(r * dim + i)),
        ),
      }));
      const sink = new MemorySink();
      await writeNanoVdb({ embeddingDim: dim, rows: () => rows }, sink);
      const path = join(dir.path, 'vdb_chunks.json');
      writeFileSync(path, sink.toBuffer());
      const loaded = await loadNanoVdb(path);
      assert.equal(loaded.embeddingDim, dim);
      assert.equal(loaded.matrixBytes, 300 * dim * 4);
      assert.deepEqual(loaded.rows, rows);
    } finally {
      dir.cleanup();
    }
  });
});

describe('JSON text', () => {
  it('key-value layout equals JSON.stringify(obj, null, 2) (Python indent=2)', async () => {
    const value = {
      a: { text: 'x\ny "q" 中文 😀', list: [1, [2, {}], []], empty: {}, n: null, f: 1.5 },
      'b\u2028': 'line separator kept raw',
    };
    const sink = new MemorySink();
    await writePrettyJsonObject(Object.entries(value), sink);
    assert.equal(sink.toString(), JSON.stringify(value, null, 2));
    const empty = new MemorySink();
    await writePrettyJsonObject([], empty);
    assert.equal(empty.toString(), '{}');
  });

  it('lone surrogates are stripped, pairs kept', () => {
    assert.equal(stripLoneSurrogates('a\uD800b\uDC00c😀'), 'abc😀');
  });
});

describe('label search score', () => {
  it('ranks as LightRAG: exact, prefix, then shorter names and word starts', () => {
    assert.equal(labelSearchScore('Apple', 'apple'), 1000);
    assert.equal(labelSearchScore('Apple pie', 'apple'), 500);
    assert.equal(labelSearchScore('big_apple', 'apple'), 141);
    assert.equal(labelSearchScore('big apple', 'apple'), 141);
    assert.equal(labelSearchScore('pineapple', 'apple'), 91);
    assert.equal(labelSearchScore('😀apple', 'apple'), 94, 'length counts code points');
    assert.equal(labelSearchScore('pear', 'apple'), undefined);
  });
});
