import assert from 'node:assert/strict';
import { chmodSync, cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { KV_NAMESPACES } from '../../src/storage/file/layout.ts';
import type { KvNamespace, VectorNamespace, WorkspaceWriter } from '../../src/storage/types.ts';
import { parseWorkspaceQuery } from '../../src/workspace/query.ts';
import { SAMPLES, sampleFolders, tempDir } from '../helpers.ts';
import { readWithPython, type PythonReport, type PythonVdb } from './python.ts';

/**
 * Every real LightRAG folder survives a write: copied to a temp directory, opened, given
 * one new entity, relation, key-value record and vector row per store, it still loads in
 * Python with every original node, edge, attribute, record and vector row unchanged.
 */
const NEW = 'ragspace-roundtrip';
const ALL = parseWorkspaceQuery({ limit: '10000' });

function makeWritable(path: string): void {
  chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) makeWritable(join(path, name));
  }
}

/** LightRAG migrates a nested (old) LLM cache on load; ragspace leaves it as it is. */
function isFlatCache(records: Record<string, unknown> | undefined): boolean {
  const first = Object.keys(records ?? {})[0];
  return first === undefined || first.split(':').length === 3;
}

async function smallWrite(writer: WorkspaceWriter, before: PythonReport): Promise<void> {
  await writer.upsertEntity({ name: NEW, properties: { entity_type: 'test', description: 'x' } });
  const someone = Object.keys(before.graph?.nodes ?? {})[0];
  if (someone !== undefined && someone !== NEW) {
    await writer.upsertRelation({ source: NEW, target: someone, properties: { weight: 1 } });
  }
  for (const namespace of [...KV_NAMESPACES, 'doc_status'] as KvNamespace[]) {
    const records = before.kv[`kv_store_${namespace}.json`];
    if (!records || (namespace === 'llm_response_cache' && !isFlatCache(records))) continue;
    await writer.upsertKv(namespace, new Map([[NEW, { content: 'written by the test' }]]));
  }
  for (const [file, vdb] of Object.entries(before.vdb)) {
    const namespace = file.slice('vdb_'.length, -'.json'.length) as VectorNamespace;
    const vector = Float32Array.from({ length: vdb.embedding_dim }, (_, i) => (i % 7) - 3);
    await writer.upsertVectors(namespace, [
      { id: NEW, fields: { content: 'x' }, vector, createdAt: 1_800_000_000 },
    ]);
  }
}

function checkGraph(before: PythonReport, after: PythonReport): void {
  if (!before.graph) return;
  const graph = after.graph;
  assert.ok(graph);
  assert.equal(graph.class, 'Graph');
  for (const [id, attributes] of Object.entries(before.graph.nodes)) {
    assert.deepEqual(graph.nodes[id], attributes, `node ${id}`);
  }
  for (const [key, edge] of Object.entries(before.graph.edges)) {
    assert.deepEqual(graph.edges[key], edge, `edge ${edge.ends.join(' - ')}`);
  }
  assert.ok(graph.nodes[NEW]);
  const added = Object.keys(before.graph.nodes).length > 0 ? 1 : 0;
  assert.equal(Object.keys(graph.edges).length, Object.keys(before.graph.edges).length + added);
}

function checkKv(before: PythonReport, after: PythonReport): void {
  assert.deepEqual(Object.keys(after.kv), Object.keys(before.kv));
  for (const [file, records] of Object.entries(before.kv)) {
    const { [NEW]: written, ...rest } = after.kv[file] ?? {};
    assert.deepEqual(rest, records, file);
    if (written) assert.equal(written.content, 'written by the test');
  }
}

function withoutNew(vdb: PythonVdb) {
  const data = vdb.data.filter((row) => row.__id__ !== NEW);
  const digests = { ...vdb.row_digest };
  const fields = { ...vdb.vector_field };
  delete digests[NEW];
  delete fields[NEW];
  return { data, digests, fields, bad: vdb.bad_vector_fields };
}

function checkVectors(before: PythonReport, after: PythonReport): void {
  for (const [file, vdb] of Object.entries(before.vdb)) {
    const written = after.vdb[file];
    assert.ok(written?.aligned, `${file} stays aligned`);
    assert.equal(written.embedding_dim, vdb.embedding_dim);
    assert.equal(written.rows, vdb.rows + 1);
    assert.deepEqual(withoutNew(written), withoutNew(vdb), file);
    assert.ok(written.vector_field[NEW], `${file} has the new row with its vector`);
  }
}

async function roundTrip(workingDir: string): Promise<string[]> {
  const storage = new FileStorage(workingDir, { logger: silentLogger });
  const page = await storage.listWorkspaces(ALL);
  for (const { name } of page.workspaces) {
    const directory = (await storage.describeWorkspace(name)).location;
    const before = readWithPython(directory);
    await storage.write(name, (writer) => smallWrite(writer, before));
    const after = readWithPython(directory);
    checkGraph(before, after);
    checkKv(before, after);
    checkVectors(before, after);
  }
  return page.workspaces.map((w) => w.name);
}

describe('every sample folder round-trips through a write', () => {
  for (const folder of sampleFolders()) {
    it(folder, async () => {
      const dir = tempDir();
      try {
        cpSync(join(SAMPLES, folder), join(dir.path, folder), { recursive: true });
        makeWritable(join(dir.path, folder));
        const names = await roundTrip(join(dir.path, folder));
        assert.ok(names.length > 0);
      } finally {
        dir.cleanup();
      }
    });
  }
});
