import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import type { KvRecord, VectorRecord } from '../../src/storage/types.ts';
import { tempDir, writeTree } from '../helpers.ts';
import { readWithPython, rewriteGraphWithNetworkx, type PythonReport } from './python.ts';

/**
 * Files ragspace writes must be files LightRAG loads again: Python reads them as LightRAG
 * does and must find exactly what was written.
 */
const WS = 'compat';
const RAW_VECTORS: Record<string, number[]> = {
  'ent-a': [0.1, -2, 3.5, 65504, 1e-8, 0.3333],
  'ent-b': [1, 1, 1, 1, 1, 1],
};

const alice = {
  entity_type: 'person',
  description: `x<y & "z" 'q' > ]]> 😀 Ünïcødé 中文`,
  created_at: 1718000000,
  score: 2.5,
  ratio: 2,
  tiny: 1e-7,
  third: 1 / 3,
  negative: -123456.789,
  flag: true,
  off: false,
  empty: '',
  lines: 'a\nb\tc  d',
  control: 'bell\u0007end\u001f',
};

function vectorRow(id: string, name: string): VectorRecord {
  const raw = RAW_VECTORS[id] as number[];
  return {
    id,
    fields: { entity_name: name, content: `${name}\ndesc`, source_id: 'c1', weight: 9 },
    vector: new Float32Array(raw),
    createdAt: 1718000001,
  };
}

const docs = new Map<string, KvRecord>([
  ['doc-1', { content: 'bad \uD800 surrogate and 中文', file_path: 'a.txt', n: 1.5 }],
  ['doc-2', { content: 'nested', meta: { list: [1, 'two', null, true], deep: { x: -0.25 } } }],
]);

describe('LightRAG (Python) loads what the file writer writes', () => {
  const dir = tempDir();
  const directory = join(dir.path, WS);
  let report: PythonReport;

  before(async () => {
    const storage = new FileStorage(dir.path, { logger: silentLogger });
    await storage.write(WS, async (w) => {
      await w.upsertEntity({ name: 'Alice', properties: alice });
      await w.upsertEntity({ name: 'O"Reilly & <Sons>', properties: { description: 'q' } });
      await w.upsertEntity({ name: '𝔅ob', properties: { description: 'astral' } });
      await w.upsertRelation({
        source: 'O"Reilly & <Sons>',
        target: 'Alice',
        properties: { weight: 2, created_at: 1718000000, description: 'works for' },
      });
      await w.upsertRelation({ source: 'Alice', target: '𝔅ob', properties: { weight: 0.1 } });
      await w.upsertKv('full_docs', docs);
      await w.upsertKv('text_chunks', new Map([['chunk-1', { content: 'c', tokens: 3 }]]));
      await w.upsertKv(
        'doc_status',
        new Map([['doc-1', { status: 'processed', chunks_count: 1 }]]),
      );
      await w.upsertVectors('entities', [vectorRow('ent-a', 'Alice'), vectorRow('ent-b', 'B')]);
      await w.upsertVectors('entities', [{ ...vectorRow('ent-c', 'C'), vector: null }]);
    });
    report = readWithPython(directory, true);
  });
  after(() => dir.cleanup());

  it('networkx reads an undirected simple graph with every value and Python type', () => {
    const graph = report.graph;
    assert.ok(graph);
    assert.equal(graph.class, 'Graph');
    assert.equal(graph.directed, false);
    assert.deepEqual(Object.keys(graph.nodes), ['Alice', 'O"Reilly & <Sons>', '𝔅ob']);
    assert.deepEqual(graph.nodes.Alice, {
      entity_id: ['str', 'Alice'],
      entity_type: ['str', 'person'],
      description: ['str', alice.description],
      created_at: ['int', 1718000000],
      score: ['float', 2.5],
      ratio: ['int', 2],
      tiny: ['float', 1e-7],
      third: ['float', 1 / 3],
      negative: ['float', -123456.789],
      flag: ['bool', true],
      off: ['bool', false],
      empty: ['str', ''],
      lines: ['str', 'a\nb\tc  d'],
      control: ['str', 'bellend'],
    });
    const edge = graph.edges['Alice\u0000O"Reilly & <Sons>'];
    assert.deepEqual(edge?.attributes, {
      weight: ['float', 2],
      created_at: ['int', 1718000000],
      description: ['str', 'works for'],
    });
    assert.equal(Object.keys(graph.edges).length, 2);
  });

  it('the GraphML is byte for byte what networkx itself writes for that graph', () => {
    const ours = join(directory, 'graph_chunk_entity_relation.graphml');
    const theirs = join(dir.path, 'networkx.graphml');
    rewriteGraphWithNetworkx(ours, theirs);
    assert.equal(readFileSync(ours, 'utf8'), readFileSync(theirs, 'utf8'));
  });

  it('a carriage return survives (written as a character reference)', async () => {
    const storage = new FileStorage(dir.path, { logger: silentLogger });
    await storage.write('compat_cr', (w) =>
      w.upsertEntity({ name: 'N', properties: { description: 'one\r\ntwo\rthree' } }),
    );
    const graph = readWithPython(join(dir.path, 'compat_cr')).graph;
    assert.deepEqual(graph?.nodes.N?.description, ['str', 'one\r\ntwo\rthree']);
  });

  it('a stored id with a lone surrogate is kept (escaped); text loses the surrogate', async () => {
    const ws = join(dir.path, 'compat_b05');
    writeTree(ws, {
      'kv_store_full_docs.json': '{"doc-\\ud800": {"content": "bad \\udc9a text"}}',
    });
    const storage = new FileStorage(dir.path, { logger: silentLogger });
    await storage.write('compat_b05', (w) =>
      w.upsertKv('full_docs', new Map([['doc-2', { content: 'fine' }]])),
    );
    const docs = readWithPython(ws).kv['kv_store_full_docs.json'] ?? {};
    assert.deepEqual(Object.keys(docs), ['doc-\uD800', 'doc-2']);
    assert.deepEqual(docs['doc-\uD800'], { content: 'bad  text' });
    const text = readFileSync(join(ws, 'kv_store_full_docs.json'), 'utf8');
    assert.ok(text.includes('"doc-\\ud800"'));
  });

  it('a double keeps its type: weight 2 is written 2.0 and read as a float', () => {
    const text = readFileSync(join(directory, 'graph_chunk_entity_relation.graphml'), 'utf8');
    assert.match(text, /attr\.name="weight" attr\.type="double"/);
    assert.match(text, />2\.0</);
  });

  it('key-value files hold the records with LightRAG stamps; doc status without them', async () => {
    const storage = new FileStorage(dir.path, { logger: silentLogger });
    const stored = await storage.read(WS, (r) => r.getKv('full_docs', ['doc-1', 'doc-2']));
    assert.deepEqual(report.kv['kv_store_full_docs.json'], Object.fromEntries(stored));
    const first = report.kv['kv_store_full_docs.json']?.['doc-1'];
    assert.equal(first?.content, 'bad  surrogate and 中文', 'the lone surrogate is stripped');
    assert.equal(first?._id, 'doc-1');
    assert.equal(first?.create_time, first?.update_time);
    assert.ok(Number.isInteger(first?.create_time));
    assert.deepEqual(report.kv['kv_store_text_chunks.json']?.['chunk-1']?.llm_cache_list, []);
    assert.deepEqual(report.kv['kv_store_doc_status.json'], {
      'doc-1': { status: 'processed', chunks_count: 1 },
    });
  });

  it('key-value files are laid out as json.dump(indent=2, ensure_ascii=False)', () => {
    const text = readFileSync(join(directory, 'kv_store_full_docs.json'), 'utf8');
    assert.ok(text.startsWith('{\n  "doc-1": {\n    "content": "bad  surrogate and 中文",'));
    assert.ok(text.endsWith('\n  }\n}'));
  });

  it('the nano file is aligned, normalised, and its float16 vectors decode', () => {
    const vdb = report.vdb['vdb_entities.json'];
    assert.ok(vdb);
    assert.deepEqual(vdb.keys, ['embedding_dim', 'data', 'matrix']);
    assert.equal(vdb.embedding_dim, 6);
    assert.equal(vdb.rows, 2, 'the pending row is not in the nano file');
    assert.equal(vdb.matrix_bytes, 4 * 6 * 2);
    assert.equal(vdb.aligned, true);
    assert.deepEqual(vdb.bad_norms, []);
    assert.deepEqual(vdb.bad_vector_fields, []);
    assert.deepEqual(vdb.data[0], {
      __id__: 'ent-a',
      __created_at__: 1718000001,
      entity_name: 'Alice',
      content: 'Alice\ndesc',
      source_id: 'c1',
    });
    for (const [id, raw] of Object.entries(RAW_VECTORS)) checkVector(vdb.decoded[id], raw);
    const norm = Math.hypot(...(RAW_VECTORS['ent-a'] as number[]));
    vdb.matrix_rows['ent-a']?.forEach((value, i) => {
      const expected = (RAW_VECTORS['ent-a']?.[i] as number) / norm;
      assert.ok(Math.abs(value - expected) < 1e-6);
    });
  });

  it('the nano file uses Python separators and no indent', () => {
    const text = readFileSync(join(directory, 'vdb_entities.json'), 'utf8');
    assert.ok(
      text.startsWith('{"embedding_dim": 6, "data": [{"__id__": "ent-a", "__created_at__"'),
    );
    assert.match(text, /}\], "matrix": "[A-Za-z0-9+/=]+"}$/);
  });
});

/** float16 keeps about three significant digits; tiny values flush towards zero. */
function checkVector(decoded: number[] | undefined, raw: number[]): void {
  assert.ok(decoded, 'the vector field decodes');
  assert.equal(decoded.length, raw.length);
  decoded.forEach((value, i) => {
    const expected = raw[i] as number;
    assert.ok(
      Math.abs(value - expected) <= Math.abs(expected) * 1e-3 + 1e-7,
      `${value} ~ ${expected}`,
    );
  });
}
