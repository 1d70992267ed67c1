import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  countGraphml,
  GraphmlError,
  readGraphml,
  type GraphAttributes,
} from '../../src/formats/graphml.ts';
import { tempDir, writeTree } from '../helpers.ts';

const HEAD = '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">';

function document(keys: string, graph: string, edgedefault = 'undirected'): string {
  return `${HEAD}${keys}<graph edgedefault="${edgedefault}">${graph}</graph></graphml>`;
}

async function withFile<T>(text: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = tempDir();
  try {
    writeTree(dir.path, { 'g.graphml': text });
    return await fn(join(dir.path, 'g.graphml'));
  } finally {
    dir.cleanup();
  }
}

async function nodeAttributes(keys: string, nodes: string): Promise<GraphAttributes[]> {
  return withFile(document(keys, nodes), async (path) => {
    const out: GraphAttributes[] = [];
    await readGraphml(path, {
      wantsAttributes: true,
      onNode: (n) => out.push(n.attributes),
      onEdge: () => {},
    });
    return out;
  });
}

async function readError(text: string, wantsAttributes = true) {
  return withFile(text, async (path) => {
    try {
      await readGraphml(path, { wantsAttributes, onNode: () => {}, onEdge: () => {} });
    } catch (error) {
      assert.ok(error instanceof GraphmlError, String(error));
      return { reason: error.reason, offset: error.offset };
    }
    assert.fail('accepted');
  });
}

const typedKeys =
  '<key id="l" for="node" attr.name="n" attr.type="long"/>' +
  '<key id="f" for="node" attr.name="x" attr.type="double"/>' +
  '<key id="b" for="node" attr.name="ok" attr.type="boolean"/>';

describe('GraphML values', () => {
  it('converts long, double and boolean as Python int(), float() and networkx do', async () => {
    const node = (l: string, f: string, b: string) =>
      `<node id="v"><data key="l">${l}</data><data key="f">${f}</data>` +
      `<data key="b">${b}</data></node>`;
    const nodes = [
      node('42', '2.0', 'true'),
      node(' -7 ', '1e3', 'False'),
      node('+1_000', 'NaN', '1'),
      node('0', '-inf', '0'),
      node('12', 'Infinity', 'TRUE'),
      node('3', '.5', 'false'),
    ];
    const read = await nodeAttributes(typedKeys, nodes.join(''));
    assert.deepEqual(read, [
      { n: 42, x: 2, ok: true },
      { n: -7, x: 1000, ok: false },
      { n: 1000, x: NaN, ok: true },
      { n: 0, x: -Infinity, ok: false },
      { n: 12, x: Infinity, ok: true },
      { n: 3, x: 0.5, ok: false },
    ]);
  });

  it('refuses values their type cannot hold, naming the attribute and element', async () => {
    const bad = (data: string) => document(typedKeys, `<node id="A">${data}</node>`);
    const prefix = `${HEAD}${typedKeys}<graph edgedefault="undirected"><node id="A">`;
    assert.deepEqual(await readError(bad('<data key="l">1.5</data>')), {
      reason: '"1.5" is not a valid long ("n" of node "A")',
      offset: prefix.length,
    });
    assert.deepEqual(await readError(bad('<data key="f">0x10</data>')), {
      reason: '"0x10" is not a valid double ("x" of node "A")',
      offset: prefix.length,
    });
    assert.deepEqual(await readError(bad('<data key="b">yes</data>')), {
      reason: '"yes" is not a valid boolean ("ok" of node "A")',
      offset: prefix.length,
    });
  });

  it('applies a default to its own scope only, and checks its type', async () => {
    const keys =
      '<key id="r" for="node" attr.name="rank" attr.type="long"><default>7</default></key>' +
      '<key id="w" for="edge" attr.name="weight" attr.type="double"><default>1.0</default></key>';
    const read = await nodeAttributes(
      keys,
      '<node id="a"/><node id="b"><data key="r">2</data></node>',
    );
    assert.deepEqual(read, [{ rank: 7 }, { rank: 2 }]);
    const badDefault = document(
      '<key id="r" for="node" attr.name="rank" attr.type="long"><default>x</default></key>',
      '',
    );
    assert.equal(
      (await readError(badDefault)).reason,
      '"x" is not a valid long (the default of "rank")',
    );
  });

  it('refuses undeclared keys, unknown types and elements without ids', async () => {
    const undeclared = document('', '<node id="a"><data key="d9">x</data></node>');
    const at = `${HEAD}<graph edgedefault="undirected"><node id="a">`.length;
    assert.deepEqual(await readError(undeclared, false), {
      reason: '<data key="d9"> refers to no declared <key>',
      offset: at,
    });
    const unknownType = document('<key id="d0" for="node" attr.name="v" attr.type="date"/>', '');
    assert.equal(
      (await readError(unknownType)).reason,
      '<key id="d0"> has an unknown attr.type "date"',
    );
    const noId = document('', '<node><data key="d0">x</data></node>');
    assert.equal((await readError(noId)).reason, '<node> without a "id" attribute');
    const noTarget = document('', '<edge source="a"/>');
    assert.equal((await readError(noTarget)).reason, '<edge> without a "target" attribute');
  });

  it('counting does not decode values but still refuses broken XML in them', async () => {
    const keys = '<key id="d0" for="node" attr.name="v" attr.type="long"/>';
    const text = document(keys, '<node id="a"><data key="d0">not a number</data></node>');
    assert.deepEqual(await withFile(text, countGraphml), { nodes: 1, edges: 0 });
    const broken = document(keys, '<node id="a"><data key="d0">a & b</data></node>');
    assert.equal((await readError(broken, false)).reason, 'raw "&" (not an entity reference)');
  });

  it('tells a directed graph apart', async () => {
    let directed = false;
    await withFile(document('', '<node id="a"/>', 'directed'), (path) =>
      readGraphml(path, {
        wantsAttributes: false,
        onNode: () => {},
        onEdge: () => {},
        onDirected: () => (directed = true),
      }),
    );
    assert.equal(directed, true);
  });
});

const NETWORKX_SCRIPT = `
import json, math, sys, networkx as nx
g = nx.Graph()
names = ['Alice & Bob', 'Zo\\u00eb <the "great">', "it's", ' spaced ',
         'tab\\there\\nnewline', '\\U0001F600 emoji']
for i, name in enumerate(names):
    g.add_node(name, entity_id=name, entity_type='person',
               description='line one\\r\\nline two <SEP> x', source_id='chunk-1<SEP>chunk-2',
               created_at=1718000000 + i, truncate='', flag=(i % 2 == 0))
for i in range(len(names) - 1):
    g.add_edge(names[i], names[i + 1], weight=[1.0, 2.5, float('nan'), float('inf'), 3][i],
               keywords='a,b', description='rel &amp; more', created_at=5)
path = sys.argv[1]
nx.write_graphml(g, path)
back = nx.read_graphml(path)
def clean(attrs):
    return {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in attrs.items()}
json.dump({'nodes': [[n, clean(a)] for n, a in back.nodes(data=True)],
           'edges': [[u, v, clean(a)] for u, v, a in back.edges(data=True)]}, sys.stdout)
`;

function findPython(): string | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import networkx'], { encoding: 'utf8' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

/** Non-finite floats travel as Python's repr, as the script writes them. */
function comparable(attributes: GraphAttributes): GraphAttributes {
  const out: GraphAttributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    const special = typeof value === 'number' && !Number.isFinite(value);
    out[key] = special ? (Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf') : value;
  }
  return out;
}

describe('GraphML written by networkx', () => {
  const python = findPython();

  it('reads back exactly what networkx.read_graphml reads', { skip: !python }, async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'nx.graphml');
      const run = spawnSync(python as string, ['-c', NETWORKX_SCRIPT, path], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const expected = JSON.parse(run.stdout) as {
        nodes: [string, GraphAttributes][];
        edges: [string, string, GraphAttributes][];
      };
      const nodes: [string, GraphAttributes][] = [];
      const edges: [string, string, GraphAttributes][] = [];
      await readGraphml(path, {
        wantsAttributes: true,
        onNode: (n) => nodes.push([n.id, comparable(n.attributes)]),
        onEdge: (e) => edges.push([e.source, e.target, comparable(e.attributes)]),
      });
      assert.deepEqual(nodes, expected.nodes);
      assert.deepEqual(edges, expected.edges);
      assert.equal(nodes.length, 6);
      assert.equal(nodes[4]?.[0], 'tab\there\nnewline');
      // networkx writes "\r\n" raw, and XML reads it back as "\n": so do we.
      assert.equal(nodes[0]?.[1].description, 'line one\nline two <SEP> x');
    } finally {
      dir.cleanup();
    }
  });
});
