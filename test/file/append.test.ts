import assert from 'node:assert/strict';
import {
  appendFileSync,
  cpSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemorySink } from '../../src/formats/sink.ts';
import { silentLogger } from '../../src/log.ts';
import { fingerprintOf, prepareAppend } from '../../src/storage/file/atomic.ts';
import { KvStore, loadKv, writeKv } from '../../src/storage/file/kv.ts';
import { isTempFile, PENDING_VECTORS_FILE } from '../../src/storage/file/layout.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { loadPending } from '../../src/storage/file/vectors.ts';
import type { KvRecord, VectorRecord, WorkspaceWriter } from '../../src/storage/types.ts';
import { tempDir, writeTree } from '../helpers.ts';
import { readWithPython } from './python.ts';

/**
 * Writes that only add nodes, edges and records append to the files (append.ts) instead
 * of rewriting them. What LightRAG loads must be what a rewrite gives; anything else than
 * adding must still rewrite; and the files stay whole whatever fails.
 */
const GRAPH = 'graph_chunk_entity_relation.graphml';
const CHUNKS = 'kv_store_entity_chunks.json';
const CLOSE = '  </graph>\n</graphml>\n';
const options = { logger: silentLogger };

function pending(id: string, name: string): VectorRecord {
  return { id, fields: { entity_name: name, content: name }, vector: null, createdAt: 1 };
}

function chunks(names: string[]): Map<string, KvRecord> {
  return new Map(names.map((name) => [name, { chunk_ids: [`c-${name}`], count: 1 }]));
}

async function seed(w: WorkspaceWriter): Promise<void> {
  const common = { entity_type: 'person', created_at: 1718000000, score: 2.5, flag: true };
  await w.upsertEntity({ name: 'Alice', properties: { ...common, description: 'a<SEP>b & c' } });
  await w.upsertEntity({ name: 'Bob', properties: { ...common, description: '' } });
  await w.upsertEntity({ name: 'Carol', properties: { ...common, description: 'c' } });
  await w.upsertRelation({
    source: 'Alice',
    target: 'Bob',
    properties: { weight: 2, description: 'knows', created_at: 1718000000 },
  });
  await w.upsertRelation({ source: 'Bob', target: 'Carol', properties: { weight: 0.5 } });
  await w.upsertKv('entity_chunks', chunks(['Alice', 'Bob']));
  await w.upsertVectors('entities', [pending('ent-a', 'Alice')]);
}

/** Adds only: new nodes, new edges (to old and new nodes), new records and rows. */
async function grow(w: WorkspaceWriter): Promise<void> {
  const common = { entity_type: 'tool', created_at: 1718000001, score: 3, flag: false };
  await w.upsertEntity({ name: 'Dave', properties: { ...common, description: 'd <b>' } });
  await w.upsertEntity({ name: 'Eve 😀', properties: { ...common, description: 'e\r\nf' } });
  await w.upsertRelation({ source: 'Dave', target: 'Alice', properties: { weight: 1 } });
  await w.upsertRelation({ source: 'Dave', target: 'Eve 😀', properties: { weight: 4.25 } });
  await w.upsertRelation({ source: 'Carol', target: 'Alice', properties: { weight: 7 } });
  await w.upsertKv('entity_chunks', chunks(['Dave', 'Eve 😀']));
  await w.upsertVectors('entities', [pending('ent-d', 'Dave')]);
  await w.upsertVectors('relationships', [pending('rel-d', 'Dave')]);
}

function read(directory: string, file: string): string {
  return readFileSync(join(directory, file), 'utf8');
}

function noTempFiles(directory: string): void {
  assert.deepEqual(readdirSync(directory).filter(isTempFile), []);
}

/** Seeds workspace "seed" once; each case works on its own copy. */
async function seeded(root: string): Promise<string> {
  await new FileStorage(root, options).write('seed', seed);
  return join(root, 'seed');
}

function copyOf(root: string, seedDir: string, name: string): string {
  cpSync(seedDir, join(root, name), { recursive: true });
  return join(root, name);
}

describe('appending to the workspace files', () => {
  it('loads in Python exactly as a full rewrite does', async () => {
    const dir = tempDir();
    try {
      const seedDir = await seeded(dir.path);
      const appended = copyOf(dir.path, seedDir, 'appended');
      const rewritten = copyOf(dir.path, seedDir, 'rewritten');
      // Text after the closing tags makes every file fail the append check.
      appendFileSync(join(rewritten, GRAPH), '<!-- rewrite me -->\n');
      appendFileSync(join(rewritten, CHUNKS), '\n');
      appendFileSync(join(rewritten, PENDING_VECTORS_FILE), '\n');
      const before = read(appended, GRAPH);

      await new FileStorage(dir.path, options).write('appended', grow);
      await new FileStorage(dir.path, options).write('rewritten', grow);

      assert.ok(read(appended, GRAPH).startsWith(before.slice(0, -CLOSE.length)), 'appended');
      assert.doesNotMatch(read(rewritten, GRAPH), /rewrite me/);
      const ours = readWithPython(appended);
      const reference = readWithPython(rewritten);
      assert.deepEqual(ours.graph, reference.graph);
      assert.deepEqual(
        Object.keys(ours.graph?.nodes ?? {}),
        Object.keys(reference.graph?.nodes ?? {}),
      );
      assert.equal(Object.keys(ours.graph?.edges ?? {}).length, 5);
      assert.deepEqual(Object.keys(ours.kv[CHUNKS] ?? {}), ['Alice', 'Bob', 'Dave', 'Eve 😀']);
      noTempFiles(appended);
    } finally {
      dir.cleanup();
    }
  });

  it('appends key-value records as the bytes a rewrite of the same records gives', async () => {
    const dir = tempDir();
    try {
      const directory = copyOf(dir.path, await seeded(dir.path), 'ws');
      // Python writes 1.0 where a rewrite here writes 1: only an append keeps it.
      const python = read(directory, CHUNKS).replace('"count": 1', '"count": 1.0');
      writeFileSync(join(directory, CHUNKS), python);
      const storage = new FileStorage(dir.path, options);
      await storage.write('ws', grow);
      await storage.write('ws', (w) => w.upsertKv('entity_chunks', chunks(['Frank'])));

      const text = read(directory, CHUNKS);
      assert.ok(text.startsWith(python.slice(0, -2)), 'appended');
      const store: KvStore = await loadKv(join(directory, CHUNKS));
      const rewrite = new MemorySink();
      await writeKv(store, rewrite, { strippedSurrogates: 0, keptSurrogateIds: 0 });
      assert.equal(text.replace('"count": 1.0', '"count": 1'), rewrite.toString());
      assert.equal(store.size, 5);
    } finally {
      dir.cleanup();
    }
  });

  it('appends pending rows as repeated namespaces, read back merged', async () => {
    const dir = tempDir();
    try {
      const directory = copyOf(dir.path, await seeded(dir.path), 'ws');
      await new FileStorage(dir.path, options).write('ws', grow);

      assert.equal(read(directory, PENDING_VECTORS_FILE).match(/"entities": \{/g)?.length, 2);
      const store = await loadPending(join(directory, PENDING_VECTORS_FILE));
      assert.deepEqual([...store.of('entities').keys()], ['ent-a', 'ent-d']);
      const fresh = new FileStorage(dir.path, options);
      const rows = await fresh.read('ws', (r) => r.pendingVectors('relationships'));
      assert.deepEqual(
        rows.map((row) => row.id),
        ['rel-d'],
      );
    } finally {
      dir.cleanup();
    }
  });

  const rewrites: [string, (w: WorkspaceWriter) => Promise<void>][] = [
    [
      'an existing node changes',
      (w) => w.upsertEntity({ name: 'Alice', properties: { description: 'new' } }),
    ],
    [
      'an existing relation changes',
      (w) => w.upsertRelation({ source: 'Bob', target: 'Alice', properties: { description: 'x' } }),
    ],
    ['a relation is deleted', (w) => w.deleteRelation('Alice', 'Bob')],
    [
      'a new node has an attribute the file does not declare',
      (w) => w.upsertEntity({ name: 'Zed', properties: { color: 'red' } }),
    ],
    [
      'a new node has a known attribute with another type',
      (w) => w.upsertEntity({ name: 'Zed', properties: { description: 7 } }),
    ],
  ];

  for (const [what, change] of rewrites) {
    it(`rewrites the graph when ${what}`, async () => {
      const dir = tempDir();
      try {
        const directory = copyOf(dir.path, await seeded(dir.path), 'ws');
        await new FileStorage(dir.path, options).write('ws', async (w) => {
          await w.upsertEntity({ name: 'Dave', properties: { description: 'd' } });
          await change(w);
        });
        const text = read(directory, GRAPH);
        // A rewrite lists every node before the first edge; an append puts Dave last.
        assert.ok(text.indexOf('<node id="Dave"') < text.indexOf('<edge '), 'rewritten');
        const graph = readWithPython(directory).graph;
        assert.ok(graph?.nodes.Dave);
        noTempFiles(directory);
      } finally {
        dir.cleanup();
      }
    });
  }

  it('appends to a graph LightRAG wrote (lxml layout, closing tags on one line)', async () => {
    const dir = tempDir();
    try {
      const directory = join(dir.path, 'ws');
      const lxml =
        "<?xml version='1.0' encoding='utf-8'?>\n" +
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">' +
        '<key id="d1" for="node" attr.name="description" attr.type="string"/>\n' +
        '<key id="d0" for="node" attr.name="entity_id" attr.type="string"/>\n' +
        '<graph edgedefault="undirected"><node id="A">\n  <data key="d0">A</data>\n' +
        '  <data key="d1"></data>\n</node>\n<node id="B"/>\n<edge source="A" target="B"/>\n' +
        '</graph></graphml>';
      writeTree(dir.path, { [`ws/${GRAPH}`]: lxml });
      await new FileStorage(dir.path, options).write('ws', async (w) => {
        await w.upsertEntity({ name: 'C', properties: { description: 'c' } });
        await w.upsertRelation({ source: 'C', target: 'A', properties: {} });
      });
      const text = read(directory, GRAPH);
      assert.ok(text.startsWith(lxml.slice(0, -'</graph></graphml>'.length)), 'appended');
      const graph = readWithPython(directory).graph;
      assert.deepEqual(Object.keys(graph?.nodes ?? {}), ['A', 'B', 'C']);
      assert.deepEqual(graph?.nodes.C, {
        entity_id: ['str', 'C'],
        description: ['str', 'c'],
      });
      assert.equal(Object.keys(graph?.edges ?? {}).length, 2);
    } finally {
      dir.cleanup();
    }
  });
});

describe('appending to a graph large enough to be copied early', () => {
  /** About 19 MB: above the size at which the copy starts while the operation runs. */
  async function bigGraph(root: string): Promise<string> {
    const filler = 'seed text '.repeat(200);
    await new FileStorage(root, options).write('big', async (w) => {
      for (let i = 0; i < 9000; i++) {
        await w.upsertEntity({ name: `seed-${i}`, properties: { description: filler } });
      }
    });
    return join(root, 'big');
  }

  function replaceOutside(directory: string): void {
    const text = '<graphml><graph edgedefault="undirected"><node id="outside"/></graph></graphml>';
    writeFileSync(join(directory, 'outside.tmp.1'), text);
    renameSync(join(directory, 'outside.tmp.1'), join(directory, GRAPH));
  }

  it('leaves no copy behind when the operation fails, rewrites, appends or retries', async () => {
    const dir = tempDir();
    try {
      const directory = await bigGraph(dir.path);
      const storage = new FileStorage(dir.path, options);
      const before = read(directory, GRAPH);
      const failing = storage.write('big', async (w) => {
        await w.upsertEntity({ name: 'x', properties: { description: 'x' } });
        throw new Error('the operation failed');
      });
      await assert.rejects(failing, /the operation failed/);
      assert.equal(read(directory, GRAPH), before);
      noTempFiles(directory);

      const edit = { name: 'seed-1', properties: { description: 'edited' } };
      await storage.write('big', (w) => w.upsertEntity(edit));
      const edited = read(directory, GRAPH);
      assert.ok(!edited.startsWith(before.slice(0, -CLOSE.length)), 'rewritten');
      assert.match(edited, /<data key="d1">edited<\/data>/);
      noTempFiles(directory);

      const rewritten = read(directory, GRAPH);
      await storage.write('big', (w) => w.upsertEntity({ name: 'y', properties: {} }));
      assert.ok(read(directory, GRAPH).startsWith(rewritten.slice(0, -CLOSE.length)));
      noTempFiles(directory);

      let runs = 0;
      await storage.write('big', async (w) => {
        await w.upsertEntity({ name: `z-${++runs}`, properties: {} });
        if (runs === 1) replaceOutside(directory);
      });
      assert.deepEqual(await storage.read('big', (r) => r.entityNames()), ['outside', 'z-2']);
      noTempFiles(directory);
    } finally {
      dir.cleanup();
    }
  });
});

describe('an append that fails', () => {
  const plan = (write: (text: string) => Promise<void>) => ({
    cut: (_tail: Buffer, size: number) => size - 1,
    write: async (sink: { write(piece: string): Promise<void> }) => {
      await sink.write('partial');
      await write('');
    },
  });

  it('leaves the old file and no temp file when writing the new part throws', async () => {
    const dir = tempDir();
    try {
      const target = join(dir.path, 'data.json');
      writeFileSync(target, '{"a": 1}');
      const expected = await fingerprintOf(target);
      assert.ok(expected);
      const failing = plan(async () => {
        throw new Error('disk full');
      });
      await assert.rejects(prepareAppend(target, expected, failing), /disk full/);
      assert.equal(readFileSync(target, 'utf8'), '{"a": 1}');
      noTempFiles(dir.path);
    } finally {
      dir.cleanup();
    }
  });

  it('is not attempted on a file that changed or does not end as expected', async () => {
    const dir = tempDir();
    try {
      const target = join(dir.path, 'data.json');
      writeFileSync(target, '{"a": 1}');
      const expected = await fingerprintOf(target);
      assert.ok(expected);
      const never = { cut: () => undefined, write: async () => assert.fail('written') };
      assert.equal(await prepareAppend(target, expected, never), undefined);
      writeFileSync(target, '{"a": 2, "b": 3}');
      const fine = plan(async () => undefined);
      assert.equal(await prepareAppend(target, expected, fine), undefined);
      noTempFiles(dir.path);
    } finally {
      dir.cleanup();
    }
  });
});
