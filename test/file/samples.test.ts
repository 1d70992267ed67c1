import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readGraphml } from '../../src/formats/graphml.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { parseWorkspaceQuery } from '../../src/workspace/query.ts';
import { independentCounts, SAMPLES, sampleFolders } from '../helpers.ts';

const ALL = parseWorkspaceQuery({ limit: '10000' });

describe('every sample folder is read and counted correctly', () => {
  const storage = new FileStorage(SAMPLES);

  for (const folder of sampleFolders()) {
    it(folder, async () => {
      const page = await storage.listWorkspaces(ALL);
      const listed = page.workspaces.find((w) => w.name === folder);
      assert.ok(listed, `${folder} is listed`);
      assert.equal(listed.errors, undefined, JSON.stringify(listed.errors));
      const detail = await storage.describeWorkspace(folder);
      assert.deepEqual(detail.errors, []);
      if (folder === 'nasret-default-workspace') return; // holds only a default/ workspace
      const expected = independentCounts(join(SAMPLES, folder));
      const { entity_count, relation_count, document_count, chunk_count } = listed;
      assert.deepEqual({ entity_count, relation_count, document_count, chunk_count }, expected);
    });
  }

  it('ljx-workspaces is three workspaces: the root default plus two folders', async () => {
    const ljx = new FileStorage(join(SAMPLES, 'ljx-workspaces'));
    const page = await ljx.listWorkspaces(ALL);
    assert.deepEqual(
      page.workspaces.map((w) => w.name),
      ['default', 'knowledge_base', 'llm_collection'],
    );
    for (const ws of page.workspaces) {
      const dir = ws.name === 'default' ? '' : ws.name;
      const { entity_count, relation_count, document_count, chunk_count } = ws;
      assert.deepEqual(
        { entity_count, relation_count, document_count, chunk_count },
        independentCounts(join(SAMPLES, 'ljx-workspaces', dir)),
      );
    }
  });

  it('a working directory holding only default/ serves it as the default workspace', async () => {
    const nasret = new FileStorage(join(SAMPLES, 'nasret-default-workspace'));
    const page = await nasret.listWorkspaces(ALL);
    assert.deepEqual(
      page.workspaces.map((w) => [w.name, w.entity_count, w.relation_count]),
      [['default', 2, 1]],
    );
  });

  it('vector files report their dimension in the detail', async () => {
    const detail = await storage.describeWorkspace('pavel-russian');
    assert.deepEqual(detail.vector_dimensions, {
      vdb_chunks: 3072,
      vdb_entities: 3072,
      vdb_relationships: 3072,
    });
    const lenny = await storage.describeWorkspace('lennyhub');
    assert.deepEqual(lenny.document_statuses, { processed: 1, processing: 1 });
  });
});

/** Every GraphML among the samples, read by networkx in one Python run, as JSON. */
const NETWORKX_DUMP = `
import json, math, sys, networkx as nx
def clean(attrs):
    return {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in attrs.items()}
out = {}
for path in sys.argv[1:]:
    g = nx.read_graphml(path)
    out[path] = {'nodes': [[n, clean(a)] for n, a in g.nodes(data=True)],
                 'edges': [[u, v, clean(a)] for u, v, a in g.edges(data=True)]}
json.dump(out, sys.stdout)
`;

function sampleGraphs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sampleGraphs(path);
    return entry.name.endsWith('.graphml') ? [path] : [];
  });
}

function python(): string | undefined {
  for (const command of ['python3', '/usr/bin/python3']) {
    if (spawnSync(command, ['-c', 'import networkx']).status === 0) return command;
  }
  return undefined;
}

type Attributes = Record<string, string | number | boolean>;

function comparable(attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    const special = typeof value === 'number' && !Number.isFinite(value);
    out[key] = special ? (Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf') : value;
  }
  return out;
}

describe('every sample GraphML reads exactly as networkx reads it', () => {
  const command = python();
  const graphs = sampleGraphs(SAMPLES);

  it('nodes, edges and every attribute value match', { skip: !command }, async () => {
    assert.ok(graphs.length >= 10, `found ${graphs.length} GraphML files`);
    const run = spawnSync(command as string, ['-c', NETWORKX_DUMP, ...graphs], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.equal(run.status, 0, run.stderr);
    const expected = JSON.parse(run.stdout) as Record<string, unknown>;
    for (const path of graphs) {
      const nodes: [string, Attributes][] = [];
      const edges: [string, string, Attributes][] = [];
      await readGraphml(path, {
        wantsAttributes: true,
        onNode: (n) => nodes.push([n.id, comparable(n.attributes)]),
        onEdge: (e) => edges.push([e.source, e.target, comparable(e.attributes)]),
      });
      assert.deepEqual({ nodes, edges }, expected[path], path);
    }
  });
});
