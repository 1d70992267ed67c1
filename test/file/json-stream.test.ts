import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  JsonFormatError,
  JsonObjectScanner,
  readJsonEntries,
} from '../../src/formats/json-stream.ts';
import { tempDir, writeTree } from '../helpers.ts';

/** Members as [key, value] pairs, fed to the scanner in chunks of `size` bytes. */
function members(text: string | Buffer, size = 1 << 20): [string, unknown][] {
  const out: [string, unknown][] = [];
  const scanner = new JsonObjectScanner({
    modeFor: () => 'parse',
    onValue: (key, value) => out.push([key, value]),
  });
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) scanner.push(bytes.subarray(i, i + size));
  scanner.end();
  return out;
}

function failure(text: string): { reason: string; offset: number } {
  try {
    members(text);
  } catch (error) {
    assert.ok(error instanceof JsonFormatError, String(error));
    return { reason: error.reason, offset: error.offset };
  }
  assert.fail('accepted');
}

const ESCAPES = {
  'quote\\"key': { content: 'ends with a backslash \\\\', 'nested"': ['a\\', '"', '\\"'] },
  plain: 'text with \\u00e9 and \\ud83d\\ude00 and \\n newline',
  number: -12.5e3,
  list: [true, false, null, { deep: { deeper: '}]' } }],
  empty: {},
  'bs\\\\': '\\\\\\\\',
};

function escapedDocument(): string {
  const body = Object.entries(ESCAPES)
    .map(([k, v]) => `"${k}": ${typeof v === 'string' ? `"${v}"` : JSON.stringify(v)}`)
    .join(',\n  ');
  return `\ufeff{\n  ${body}\n}\n`;
}

describe('JSON object scanner', () => {
  it('reads members exactly as JSON.parse does, whatever the chunk boundaries', () => {
    const text = escapedDocument();
    const expected = Object.entries(JSON.parse(text.slice(1)) as Record<string, unknown>);
    for (const size of [1, 2, 3, 5, 8, 13, 1 << 20]) {
      assert.deepEqual(members(text, size), expected, `chunks of ${size} bytes`);
    }
  });

  it('stays exact on a long string full of escapes and backslash runs', () => {
    const value = '\\"x\\\\'.repeat(50_000) + 'end\\\\';
    const text = `{"a": "${value}", "b": 1}`;
    const expected = Object.entries(JSON.parse(text) as Record<string, unknown>);
    for (const size of [7, 4096, 1 << 20]) assert.deepEqual(members(text, size), expected);
  });

  const cases: [string, string, string, number][] = [
    ['empty file', '', 'truncated JSON: the file is empty', 0],
    ['not an object', '[1]', 'expected "{" at the start of the file', 0],
    [
      'extra data',
      '{"a": 1}\n"\n}\n',
      'unexpected data after the end of the JSON object ("extra data")',
      9,
    ],
    ['trailing comma', '{"a": 1,}', 'expected a quoted key', 8],
    ['missing colon', '{"a" 1}', 'expected ":" after key "a"', 5],
    ['missing value', '{"a": }', 'missing value for key "a"', 6],
    ['cut in a key', '{"a": 1, "b', 'truncated JSON: the file ends inside a key', 11],
    [
      'cut in a value',
      '{"a": 1, "b": {"c": "d',
      'truncated JSON: the file ends inside the value of "b" that starts at byte 14',
      22,
    ],
    [
      'cut after a value',
      '{"a": 1',
      'truncated JSON: the file ends inside the value of "a" that starts at byte 6',
      7,
    ],
    ['bad value', '{"a": tru}', 'invalid JSON value', 6],
  ];
  for (const [name, input, reason, offset] of cases) {
    it(name, () => {
      const found = failure(input);
      assert.equal(found.offset, offset);
      if (name === 'bad value') assert.match(found.reason, /^invalid JSON value \(/);
      else assert.equal(found.reason, reason);
    });
  }

  it('streams array items and raw string pieces (the nano-vectordb modes)', () => {
    const text =
      '{"embedding_dim": 2, "data": [{"__id__": "a"}, {"__id__": "b"}], "matrix": "QUJD"}';
    for (const size of [1, 3, 1 << 20]) {
      const seen: string[] = [];
      let matrix = '';
      const scanner = new JsonObjectScanner({
        modeFor: (key) => (key === 'data' ? 'items' : key === 'matrix' ? 'string' : 'parse'),
        onValue: (key, value) => seen.push(`${key}=${String(value)}`),
        onItem: (key, item, index, offset) =>
          seen.push(`${key}[${index}]@${offset}=${JSON.stringify(item)}`),
        onStringPiece: (_key, piece) => (matrix += piece.toString()),
        onStringEnd: (key) => seen.push(`${key} ended`),
      });
      const bytes = Buffer.from(text);
      for (let i = 0; i < bytes.length; i += size) scanner.push(bytes.subarray(i, i + size));
      scanner.end();
      assert.deepEqual(
        seen,
        [
          'embedding_dim=2',
          'data[0]@30={"__id__":"a"}',
          'data[1]@47={"__id__":"b"}',
          'matrix ended',
        ],
        `chunks of ${size}`,
      );
      assert.equal(matrix, 'QUJD');
    }
  });
});

describe('readJsonEntries', () => {
  it('yields the entries before damage in the same chunk, then the error', async () => {
    const dir = tempDir();
    try {
      writeTree(dir.path, { 'kv.json': '{"a": 1, "b": 2}xyz' });
      const seen: string[] = [];
      await assert.rejects(async () => {
        for await (const entry of readJsonEntries(join(dir.path, 'kv.json'))) seen.push(entry.key);
      }, /extra data/);
      assert.deepEqual(seen, ['a', 'b']);
    } finally {
      dir.cleanup();
    }
  });

  it('flags entries whose bytes are not UTF-8', async () => {
    const dir = tempDir();
    try {
      const bad = Buffer.concat([
        Buffer.from('{"a": "x'),
        Buffer.from([0xc3]),
        Buffer.from('", "b": "y"}'),
      ]);
      writeTree(dir.path, { 'kv.json': bad });
      const entries = [];
      for await (const entry of readJsonEntries(join(dir.path, 'kv.json'))) entries.push(entry);
      assert.deepEqual(entries, [
        { key: 'a', value: 'x\ufffd', offset: 6, invalidUtf8: true },
        { key: 'b', value: 'y', offset: 17 },
      ]);
    } finally {
      dir.cleanup();
    }
  });
});
