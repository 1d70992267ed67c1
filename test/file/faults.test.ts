import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  entityLabel,
  readGraphml,
  type GraphmlEdge,
  type GraphmlNode,
} from '../../src/formats/graphml.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import type { WorkspaceSummary } from '../../src/storage/types.ts';
import { parseWorkspaceQuery } from '../../src/workspace/query.ts';
import { tempDir, testApp, writeTree } from '../helpers.ts';
import { chainGraph, docStatus, GRAPH, kv } from './fixtures.ts';
import { readWithPython } from './python.ts';

/**
 * One test per reading fault of docs/known-faults.md, each on a small input written here,
 * with the exact result the entry's "Expected" asks for.
 */
const ALL = parseWorkspaceQuery({ limit: '10000' });

function find(workspaces: WorkspaceSummary[], name: string): WorkspaceSummary {
  const found = workspaces.find((w) => w.name === name);
  assert.ok(found, `${name} is listed`);
  return found;
}

const counts = (w: WorkspaceSummary) => [
  w.entity_count,
  w.relation_count,
  w.document_count,
  w.chunk_count,
];

describe('B01: torn or truncated JSON files', () => {
  const dir = tempDir();
  const storage = new FileStorage(dir.path);
  const docPrefix =
    '{\n  "doc-1": {"status": "processed", "content": "first"},\n' +
    '  "doc-2": {"status": "processed", "content": "second"},\n  "doc-3": ';
  const docStatusText = docPrefix + '{"status": "processing", "content": "this text is cut of';
  const chunks = kv({ 'chunk-1': { content: 'a' }, 'chunk-2': { content: 'b' } });

  before(() =>
    writeTree(dir.path, {
      'torn/kv_store_doc_status.json': docStatusText,
      'torn/kv_store_text_chunks.json': chunks + '"\n}\n',
      'torn/vdb_relationships.json': '',
      'torn/kv_store_full_docs.json': kv({ 'doc-1': { content: 'first' } }),
      'torn/kv_store_full_docs.json.tmp.4242.1.7': '{"doc-1": {"content": "fir',
      [`ok/${GRAPH}`]: chainGraph('n', 2),
      'ok/kv_store_doc_status.json': docStatus('processed'),
    }),
  );
  after(() => dir.cleanup());

  const expectedErrors = [
    {
      file: 'kv_store_doc_status.json',
      reason:
        'truncated JSON: the file ends inside the value of "doc-3" that starts at byte ' +
        Buffer.byteLength(docPrefix),
      offset: Buffer.byteLength(docStatusText),
    },
    {
      file: 'kv_store_text_chunks.json',
      reason: 'unexpected data after the end of the JSON object ("extra data")',
      offset: Buffer.byteLength(chunks),
    },
    { file: 'vdb_relationships.json', reason: 'truncated JSON: the file is empty', offset: 0 },
  ];

  it('lists every other workspace and marks torn per file, with reason and offset', async () => {
    const page = await storage.listWorkspaces(ALL);
    assert.deepEqual(
      page.workspaces.map((w) => w.name),
      ['ok', 'torn'],
    );
    assert.equal(find(page.workspaces, 'ok').errors, undefined);
    const torn = find(page.workspaces, 'torn');
    assert.deepEqual(torn.errors, expectedErrors);
    assert.deepEqual(counts(torn), [0, 0, 2, 2], 'only records before the damage count');
  });

  it('the detail endpoint answers with the errors, not a crash', async () => {
    const response = await testApp(storage).request('/api/workspaces/torn');
    assert.equal(response.status, 200);
    const detail = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(detail.errors, expectedErrors);
    assert.deepEqual(detail.stores, {
      doc_status: 2,
      full_docs: 1,
      text_chunks: 2,
      vdb_relationships: 0,
    });
  });

  it('leftover temporary files are never read or counted', async () => {
    const detail = await storage.describeWorkspace('torn');
    assert.ok(detail.files?.every((f) => !f.name.includes('.tmp.')));
    assert.ok(detail.errors.every((e) => e.file !== 'kv_store_full_docs.json.tmp.4242.1.7'));
  });
});

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The same two-node graph as another producer writes it: hashed ids, keys reordered. */
function hashedIdGraph(): string {
  const alice = `ent-${md5('Alice')}`;
  const bob = `ent-${md5('Bob')}`;
  const node = (id: string, name: string, note: string) =>
    `<node id="${id}"><data key="d2">${name}</data><data key="d0">about ${name}</data>` +
    `<data key="d1">chunk-1</data><data key="d6">${note}</data></node>\n`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n' +
    '<key id="d6" for="all" attr.name="note" attr.type="string"/>\n' +
    '<key id="d5" for="node" attr.name="entity_type" attr.type="string">' +
    '<default>person</default></key>\n' +
    '<key id="d4" for="edge" attr.name="weight" attr.type="double"/>\n' +
    '<key id="d3" for="edge" attr.name="weight" attr.type="long"/>\n' +
    '<key id="d2" for="node" attr.name="entity_id" attr.type="string"/>\n' +
    '<key id="d1" for="node" attr.name="source_id" attr.type="string"/>\n' +
    '<key id="d0" for="node" attr.name="description" attr.type="string"/>\n' +
    '<graph edgedefault="undirected">\n' +
    node(alice, 'Alice', 'n1') +
    node(bob, 'Bob', 'n2') +
    `<edge source="${alice}" target="${bob}"><data key="d4">2.0</data>` +
    '<data key="d6">e1</data></edge>\n</graph>\n</graphml>\n'
  );
}

/** File 1 of B04: node ids are the names, d0 = entity_id, d1 = entity_type, d2 = description. */
function namedGraph(): string {
  const node = (name: string) =>
    `<node id="${name}">\n  <data key="d0">${name}</data>\n  <data key="d1">person</data>\n` +
    `  <data key="d2">about ${name}</data>\n</node>\n`;
  return (
    "<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">" +
    '<key id="d3" for="edge" attr.name="weight" attr.type="long"/>\n' +
    '<key id="d2" for="node" attr.name="description" attr.type="string"/>\n' +
    '<key id="d1" for="node" attr.name="entity_type" attr.type="string"/>\n' +
    '<key id="d0" for="node" attr.name="entity_id" attr.type="string"/>\n' +
    '<graph edgedefault="undirected">' +
    node('Alice') +
    node('Bob') +
    '<edge source="Alice" target="Bob">\n  <data key="d3">2</data>\n</edge>\n</graph></graphml>'
  );
}

async function readAll(path: string) {
  const nodes: GraphmlNode[] = [];
  const edges: GraphmlEdge[] = [];
  await readGraphml(path, {
    wantsAttributes: true,
    onNode: (n) => nodes.push(n),
    onEdge: (e) => edges.push(e),
  });
  return { nodes, edges };
}

describe('B04: GraphML key ids, order and hashed node ids', () => {
  const dir = tempDir();
  before(() =>
    writeTree(dir.path, { [`one/${GRAPH}`]: namedGraph(), [`two/${GRAPH}`]: hashedIdGraph() }),
  );
  after(() => dir.cleanup());

  it('maps data by attr.name, so both files give the same entities', async () => {
    const one = await readAll(join(dir.path, 'one', GRAPH));
    const two = await readAll(join(dir.path, 'two', GRAPH));
    const view = (n: GraphmlNode) => ({
      label: entityLabel(n),
      entity_id: n.attributes.entity_id,
      entity_type: n.attributes.entity_type,
      description: n.attributes.description,
    });
    const expected = [
      { label: 'Alice', entity_id: 'Alice', entity_type: 'person', description: 'about Alice' },
      { label: 'Bob', entity_id: 'Bob', entity_type: 'person', description: 'about Bob' },
    ];
    assert.deepEqual(one.nodes.map(view), expected);
    assert.deepEqual(two.nodes.map(view), expected);
    // A hashed node is delivered under its entity_id, as LightRAG names nodes.
    assert.deepEqual(
      two.nodes.map((n) => n.id),
      ['Alice', 'Bob'],
    );
  });

  it('respects for="all", both weight keys, and <default> (for its scope only)', async () => {
    const two = await readAll(join(dir.path, 'two', GRAPH));
    assert.deepEqual(two.nodes[0]?.attributes, {
      entity_id: 'Alice',
      description: 'about Alice',
      source_id: 'chunk-1',
      note: 'n1',
      entity_type: 'person',
    });
    assert.deepEqual(two.edges, [
      { source: 'Alice', target: 'Bob', attributes: { weight: 2, note: 'e1' } },
    ]);
    const one = await readAll(join(dir.path, 'one', GRAPH));
    assert.deepEqual(one.edges[0]?.attributes, { weight: 2 });
  });

  it('renames no node an edge may already name, nor a second node of one name', async () => {
    const own = tempDir();
    const key = '<key id="d0" for="node" attr.name="entity_id" attr.type="string"/>';
    const named = (id: string, name: string) =>
      `<node id="${id}"><data key="d0">${name}</data></node>`;
    const file = (body: string) =>
      `<graphml xmlns="http://graphml.graphdrawing.org/xmlns">${key}` +
      `<graph edgedefault="undirected">${body}</graph></graphml>`;
    writeTree(own.path, {
      'late.graphml': file(
        '<edge source="ent-1" target="ent-2"/>' + named('ent-1', 'Alice') + named('ent-2', 'Bob'),
      ),
      'twice.graphml': file(
        named('ent-1', 'Alice') +
          named('ent-2', 'Alice') +
          named('ent-3', 'Bob') +
          '<edge source="ent-1" target="ent-3"/><edge source="ent-2" target="ent-3"/>',
      ),
    });
    const ends = (g: { edges: GraphmlEdge[] }) => g.edges.map((e) => `${e.source}-${e.target}`);
    const late = await readAll(join(own.path, 'late.graphml'));
    assert.deepEqual(
      late.nodes.map((n) => n.id),
      ['ent-1', 'ent-2'],
    );
    assert.deepEqual(ends(late), ['ent-1-ent-2']);
    const twice = await readAll(join(own.path, 'twice.graphml'));
    assert.deepEqual(
      twice.nodes.map((n) => n.id),
      ['Alice', 'ent-2', 'Bob'],
    );
    assert.deepEqual(ends(twice), ['Alice-Bob', 'ent-2-Bob']);
    own.cleanup();
  });

  it('the label is entity_id when present, else the node id', () => {
    assert.equal(entityLabel({ id: 'ent-1', attributes: { entity_id: 'Alice' } }), 'Alice');
    assert.equal(entityLabel({ id: 'Bob', attributes: {} }), 'Bob');
    assert.equal(entityLabel({ id: 'Bob', attributes: { entity_id: '' } }), 'Bob');
    assert.equal(entityLabel({ id: 'Bob', attributes: { entity_id: 7 } }), 'Bob');
  });

  it('labels, graphs and writes use the names, and the file is rewritten under them', async () => {
    const own = tempDir();
    writeTree(own.path, { [`two/${GRAPH}`]: hashedIdGraph() });
    const storage = new FileStorage(own.path);
    const app = testApp(storage);
    const get = async (path: string) =>
      (await app.request(path, { headers: { 'LIGHTRAG-WORKSPACE': 'two' } })).json();
    assert.deepEqual(await get('/graph/label/list'), ['Alice', 'Bob']);
    const graph = (await get('/graphs?label=Alice')) as { edges: { source: string }[] };
    assert.equal(graph.edges.length, 1);
    assert.deepEqual(await get('/graph/entity/exists?name=Alice'), { exists: true });

    const body = JSON.stringify({ entity_name: 'Carol', entity_data: { description: 'c' } });
    const headers = { 'LIGHTRAG-WORKSPACE': 'two', 'content-type': 'application/json' };
    const created = await app.request('/graph/entity/create', { method: 'POST', headers, body });
    assert.equal(created.status, 200, await created.text());
    const relation = JSON.stringify({
      source_entity: 'Alice',
      target_entity: 'Carol',
      relation_data: { description: 'knows', keywords: 'k' },
    });
    const linked = await app.request('/graph/relation/create', {
      method: 'POST',
      headers,
      body: relation,
    });
    assert.equal(linked.status, 200, await linked.text());

    const written = readWithPython(join(own.path, 'two')).graph;
    assert.deepEqual(Object.keys(written?.nodes ?? {}).sort(), ['Alice', 'Bob', 'Carol']);
    const ends = Object.values(written?.edges ?? {}).map((e) => e.ends.join('|'));
    assert.deepEqual(ends.sort(), ['Alice|Bob', 'Alice|Carol']);
    await storage.close();
    own.cleanup();
  });

  it('both workspaces list the same counts', async () => {
    const page = await new FileStorage(dir.path).listWorkspaces(ALL);
    assert.deepEqual(
      page.workspaces.map((w) => [w.name, w.entity_count, w.relation_count, w.errors]),
      [
        ['one', 2, 1, undefined],
        ['two', 2, 1, undefined],
      ],
    );
  });
});

describe('B05: lone UTF-16 surrogates and bytes that are not UTF-8', () => {
  const dir = tempDir();
  const storage = new FileStorage(dir.path);
  before(() =>
    writeTree(dir.path, {
      'w/kv_store_full_docs.json':
        '{\n  "doc-1": {\n    "content": "caf\\udc9a au lait",\n    "file_path": "a.txt"\n  }\n}',
      'w/kv_store_doc_status.json':
        '{"doc-\\ud800": {"status": "processed", "file_path": "b\\ud800.txt"}}',
      'w/kv_store_text_chunks.json': Buffer.concat([
        Buffer.from('{"chunk-1": {"content": "bad '),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(' bytes"}, "chunk-2": {"content": "fine"}}'),
      ]),
    }),
  );
  after(() => dir.cleanup());

  it('counts every record and lists each bad string as a warning', async () => {
    const detail = await storage.describeWorkspace('w');
    assert.deepEqual(detail.errors, []);
    assert.deepEqual(detail.stores, { doc_status: 1, full_docs: 1, text_chunks: 2 });
    assert.deepEqual(detail.warnings, [
      {
        file: 'kv_store_doc_status.json',
        record: 'doc-\ud800',
        reason: 'key: lone UTF-16 surrogate',
      },
      {
        file: 'kv_store_doc_status.json',
        record: 'doc-\ud800',
        reason: 'value.file_path: lone UTF-16 surrogate',
      },
      {
        file: 'kv_store_full_docs.json',
        record: 'doc-1',
        reason: 'value.content: lone UTF-16 surrogate',
      },
      {
        file: 'kv_store_text_chunks.json',
        record: 'chunk-1',
        reason: 'bytes that are not UTF-8 (read as U+FFFD)',
      },
    ]);
  });

  it('the HTTP answer keeps the id exact, as a JSON escape', async () => {
    const response = await testApp(storage).request('/api/workspaces/w');
    const text = await response.text();
    assert.ok(text.includes('"record":"doc-\\ud800"'), 'escaped, not turned into U+FFFD');
    assert.ok(!text.includes('\ufffd'));
  });
});

const zeros = (bytes: number) => Buffer.alloc(bytes).toString('base64');

function vdb(dim: number, rows: number, matrixBytes: number, extraRows = ''): string {
  const data = Array.from({ length: rows }, (_, i) => `{"__id__": "r-${i}", "content": "x"}`);
  return (
    `{"embedding_dim": ${dim}, "data": [${data.join(', ')}${extraRows}], ` +
    `"matrix": "${zeros(matrixBytes)}"}`
  );
}

describe('B07: nano-vectordb files that do not add up', () => {
  const dir = tempDir();
  const storage = new FileStorage(dir.path);
  before(() =>
    writeTree(dir.path, {
      'vecbad/vdb_entities.json': vdb(1024, 3, 3 * 1536 * 4),
      'vecbad/vdb_chunks.json': vdb(3072, 13, 163_840),
      'vecbad/vdb_relationships.json': vdb(8, 5, 4 * 8 * 4),
      'more/vdb_entities.json': vdb(4, 2, 2 * 4 * 4).replace('"matrix": "', '"matrix": "*'),
      'more/vdb_chunks.json': vdb(4, 2, 3 * 4 * 4, ', {"__id__": "r-0", "content": "again"}'),
      'good/vdb_entities.json': vdb(4, 2, 2 * 4 * 4),
    }),
  );
  after(() => dir.cleanup());

  it('reports each mismatch of dimension, matrix size and rows; still counts rows', async () => {
    const detail = await storage.describeWorkspace('vecbad');
    assert.deepEqual(detail.errors, [
      {
        file: 'vdb_chunks.json',
        reason:
          'matrix holds 163840 bytes (40960 floats, not a multiple of embedding_dim 3072) ' +
          'but embedding_dim 3072 and 13 data rows need 159744 bytes',
      },
      {
        file: 'vdb_entities.json',
        reason:
          'matrix holds 18432 bytes (4608 floats, not a multiple of embedding_dim 1024; it ' +
          'fits 3 rows of 1536: was the embedding model changed?) but embedding_dim 1024 ' +
          'and 3 data rows need 12288 bytes',
      },
      {
        file: 'vdb_relationships.json',
        reason:
          'matrix holds 128 bytes (4 rows of 8) but embedding_dim 8 and 5 data rows need 160 bytes',
      },
    ]);
    assert.deepEqual(detail.stores, { vdb_chunks: 13, vdb_entities: 3, vdb_relationships: 5 });
    assert.deepEqual(detail.vector_dimensions, {
      vdb_chunks: 3072,
      vdb_entities: 1024,
      vdb_relationships: 8,
    });
  });

  it('reports unclean base64 and ids used by two rows', async () => {
    const detail = await storage.describeWorkspace('more');
    const chunks = vdb(4, 2, 48, ', {"__id__": "r-0", "content": "again"}');
    assert.deepEqual(detail.errors, [
      {
        file: 'vdb_chunks.json',
        reason:
          'data rows 0 and 2 share "__id__" "r-0"; nano-vectordb keeps one row per id, so ' +
          'the file was not written by it alone',
        offset: chunks.indexOf('{"__id__": "r-0", "content": "again"}'),
      },
      {
        file: 'vdb_entities.json',
        reason: '"matrix" is not clean base64 (bad character at position 0)',
      },
    ]);
  });

  it('a consistent file has no errors', async () => {
    const detail = await storage.describeWorkspace('good');
    assert.deepEqual(detail.errors, []);
    assert.deepEqual(detail.stores, { vdb_entities: 2 });
  });
});

describe('B13: the default workspace and a default/ directory', () => {
  const dir = tempDir();
  const storage = new FileStorage(dir.path);
  before(() =>
    writeTree(dir.path, {
      [GRAPH]: chainGraph('root', 2),
      'kv_store_doc_status.json': docStatus('processed'),
      [`a/${GRAPH}`]: chainGraph('a', 3),
      [`b/${GRAPH}`]: chainGraph('b', 1),
      [`default/${GRAPH}`]: chainGraph('d', 5),
    }),
  );
  after(() => dir.cleanup());

  it('root files are "default"; default/ is reported, never merged or counted twice', async () => {
    const page = await storage.listWorkspaces(ALL);
    assert.deepEqual(
      page.workspaces.map((w) => [w.name, ...counts(w)]),
      [
        ['a', 3, 2, 0, 0],
        ['b', 1, 0, 0, 0],
        ['default', 2, 1, 1, 0],
      ],
    );
    assert.deepEqual(find(page.workspaces, 'default').errors, [
      {
        file: 'default/',
        reason:
          `both LightRAG files at the root of ${dir.path} and a "default/" directory exist; ` +
          'the root files are served as the default workspace and the "default/" directory ' +
          'is ignored. Merge or rename one of them by hand.',
      },
    ]);
    const detail = await storage.describeWorkspace('default');
    assert.equal(detail.location, dir.path);
    assert.deepEqual(
      detail.files?.map((f) => f.name),
      [GRAPH, 'kv_store_doc_status.json'],
    );
  });

  it('without root files, default/ is the default workspace', async () => {
    const only = tempDir();
    try {
      writeTree(only.path, { [`default/${GRAPH}`]: chainGraph('d', 5) });
      const page = await new FileStorage(only.path).listWorkspaces(ALL);
      assert.deepEqual(
        page.workspaces.map((w) => [w.name, w.entity_count, w.errors]),
        [['default', 5, undefined]],
      );
    } finally {
      only.cleanup();
    }
  });
});

describe('B23: doc-status records from other versions and tools', () => {
  const dir = tempDir();
  const storage = new FileStorage(dir.path);
  const current = {
    status: 'processed',
    content_summary: 'summary',
    content_length: 120,
    file_path: 'a.pdf',
    created_at: '2026-06-15T03:50:02.123456+00:00',
    updated_at: '2026-06-15T03:51:02.123456+00:00',
    track_id: 'upload_20260615_035002_0a1b2c3d',
    chunks_count: 1,
    chunks_list: ['doc-2-chunk-000'],
    error_msg: null,
    metadata: { process_start_time: 1, process_end_time: 2 },
  };
  before(() =>
    writeTree(dir.path, {
      'mixed/kv_store_doc_status.json': kv({
        'doc-1': {
          status: 'processed',
          content: 'the whole old text',
          content_summary: 'the whole',
          content_length: 18,
          created_at: '2024-10-01T00:00:00',
          updated_at: '2024-10-01T00:00:00',
        },
        'doc-2': current,
        'doc-3': { ...current, multimodal_processed: true, x_tool: { nested: { deep: [1, 2] } } },
        'doc-4': { ...current, status: 'handling' },
      }),
      'pre/kv_store_doc_status.json': kv({
        'doc-1': { ...current, multimodal_processed: false },
        'doc-2': { ...current, status: 'PENDING' },
        'doc-3': 'not a record',
      }),
    }),
  );
  after(() => dir.cleanup());

  it('tolerates old, extended and unknown records and counts statuses', async () => {
    const detail = await storage.describeWorkspace('mixed');
    assert.equal(detail.document_count, 4);
    assert.deepEqual(detail.document_statuses, { processed: 3, other: 1 });
    assert.deepEqual(detail.errors, []);
    assert.deepEqual(detail.warnings, []);
  });

  it('processed without its multimodal stage counts as preprocessed, as in LightRAG', async () => {
    const detail = await storage.describeWorkspace('pre');
    assert.deepEqual(detail.document_statuses, { preprocessed: 1, pending: 1, other: 1 });
  });
});
