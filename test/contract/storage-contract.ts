import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import type {
  KnowledgeGraph,
  StorageBackend,
  VectorRecord,
  WorkspaceWriter,
} from '../../src/storage/types.ts';

/**
 * What every StorageBackend must do, whatever keeps the data. Run it with a function that
 * opens an empty backend; each test opens its own. It checks behaviour only through the
 * interface (no files, no SQL), so the file and PostgreSQL backends run the same suite.
 */
export interface OpenedStorage {
  storage: StorageBackend;
  cleanup(): Promise<void>;
}

type Open = () => Promise<OpenedStorage>;

function hasCode(code: string) {
  return (error: unknown) => {
    assert.ok(isRagspaceError(error), `expected a RagspaceError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

/** Runs `body` on a fresh backend and always cleans it up. */
function using(open: Open, body: (storage: StorageBackend) => Promise<void>) {
  return async () => {
    const opened = await open();
    try {
      await body(opened.storage);
    } finally {
      await opened.storage.close();
      await opened.cleanup();
    }
  };
}

const vector = (...values: number[]) => new Float32Array(values);

function unit(values: ArrayLike<number>): number[] {
  const norm = Math.hypot(...Array.from(values));
  return Array.from(values, (v) => v / norm);
}

function assertSameDirection(actual: Float32Array | null, expected: number[]): void {
  assert.ok(actual, 'a vector is stored');
  const [a, b] = [unit(actual), unit(expected)];
  assert.equal(a.length, b.length);
  a.forEach((value, i) => assert.ok(Math.abs(value - (b[i] as number)) < 1e-3, `component ${i}`));
}

function entityRow(id: string, name: string, values: Float32Array | null): VectorRecord {
  return {
    id,
    fields: { entity_name: name, content: `${name}\nabout ${name}`, source_id: 'c1' },
    vector: values,
    createdAt: 1_700_000_000,
  };
}

/** hub H - A, B, C, D; A - B; C - E - F - G. Degrees: H 4; A B C E F 2; D G 1. */
async function seedKnownGraph(writer: WorkspaceWriter): Promise<void> {
  for (const name of ['H', 'A', 'B', 'C', 'D', 'E', 'F', 'G']) {
    await writer.upsertEntity({ name, properties: { entity_type: 'thing', description: name } });
  }
  const pairs = [
    ['H', 'A'],
    ['H', 'B'],
    ['H', 'C'],
    ['H', 'D'],
    ['A', 'B'],
    ['C', 'E'],
    ['E', 'F'],
    ['F', 'G'],
  ];
  for (const [source, target] of pairs) {
    await writer.upsertRelation({
      source: source as string,
      target: target as string,
      properties: { description: `${source}-${target}`, weight: 1.5 },
    });
  }
}

const nodeIds = (graph: KnowledgeGraph) => graph.nodes.map((n) => n.id).sort();
const edgeIds = (graph: KnowledgeGraph) => graph.edges.map((e) => e.id).sort();

export function storageContract(label: string, open: Open): void {
  describe(`storage contract: ${label}`, () => {
    workspaceTests(open);
    graphWriteTests(open);
    pagingTests(open);
    graphQueryTests(open);
    kvTests(open);
    vectorTests(open);
    unitOfWorkTests(open);
  });
}

function workspaceTests(open: Open): void {
  it(
    'a workspace exists once written, and reading an unknown one is WORKSPACE_NOT_FOUND',
    using(open, async (storage) => {
      assert.equal(await storage.hasWorkspace('contract_new'), false);
      await assert.rejects(
        storage.read('contract_new', async (r) => r.entityNames()),
        hasCode('WORKSPACE_NOT_FOUND'),
      );
      await storage.write('contract_new', (w) =>
        w.upsertEntity({ name: 'Acme', properties: { description: 'a company' } }),
      );
      assert.equal(await storage.hasWorkspace('contract_new'), true);
      assert.deepEqual(await storage.read('contract_new', (r) => r.entityNames()), ['Acme']);
    }),
  );

  it(
    'two workspaces holding the same entity names stay apart',
    using(open, async (storage) => {
      for (const ws of ['contract_a', 'contract_b']) {
        await storage.write(ws, async (w) => {
          await w.upsertEntity({ name: 'Acme', properties: { description: `Acme of ${ws}` } });
          await w.upsertEntity({ name: 'Beta', properties: { description: `Beta of ${ws}` } });
          await w.upsertRelation({ source: 'Acme', target: 'Beta', properties: { keywords: ws } });
          await w.upsertKv('full_docs', new Map([['doc-1', { content: `text of ${ws}` }]]));
        });
      }
      await storage.write('contract_a', (w) => w.deleteEntity('Beta'));

      const a = await storage.read('contract_a', async (r) => ({
        entity: await r.getEntity('Acme'),
        names: await r.entityNames(),
        doc: (await r.getKv('full_docs', ['doc-1'])).get('doc-1'),
      }));
      const b = await storage.read('contract_b', async (r) => ({
        names: await r.entityNames(),
        relation: await r.getRelation('Beta', 'Acme'),
        doc: (await r.getKv('full_docs', ['doc-1'])).get('doc-1'),
      }));
      assert.equal(a.entity?.properties.description, 'Acme of contract_a');
      assert.deepEqual(a.names, ['Acme']);
      assert.equal(a.doc?.content, 'text of contract_a');
      assert.deepEqual(b.names, ['Acme', 'Beta']);
      assert.equal(b.relation?.properties.keywords, 'contract_b');
      assert.equal(b.doc?.content, 'text of contract_b');
    }),
  );
}

function graphWriteTests(open: Open): void {
  it(
    'upserting an entity merges properties into the existing ones; entity_id is the name',
    using(open, async (storage) => {
      await storage.write('contract_merge', async (w) => {
        await w.upsertEntity({ name: 'Acme', properties: { entity_type: 'org', weight: 1 } });
      });
      await storage.write('contract_merge', async (w) => {
        await w.upsertEntity({ name: 'Acme', properties: { entity_type: 'company', flag: true } });
      });
      const entity = await storage.read('contract_merge', (r) => r.getEntity('Acme'));
      assert.deepEqual(entity, {
        name: 'Acme',
        properties: { entity_id: 'Acme', entity_type: 'company', weight: 1, flag: true },
      });
    }),
  );

  it(
    'relations are undirected: one per pair, found and merged in either order',
    using(open, async (storage) => {
      await storage.write('contract_rel', async (w) => {
        await w.upsertEntity({ name: 'Acme', properties: { description: 'a' } });
        await w.upsertEntity({ name: 'Beta', properties: { description: 'b' } });
        await w.upsertRelation({
          source: 'Acme',
          target: 'Beta',
          properties: { description: 'supplies', weight: 2.5 },
        });
        await w.upsertRelation({ source: 'Beta', target: 'Acme', properties: { keywords: 'k' } });
      });
      await storage.read('contract_rel', async (r) => {
        const forward = await r.getRelation('Acme', 'Beta');
        const backward = await r.getRelation('Beta', 'Acme');
        assert.deepEqual(forward, backward);
        assert.deepEqual(new Set([forward?.source, forward?.target]), new Set(['Acme', 'Beta']));
        assert.deepEqual(forward?.properties, {
          description: 'supplies',
          weight: 2.5,
          keywords: 'k',
        });
        assert.equal((await r.relations(0, 10)).total, 1);
        assert.equal((await r.relationsOf('Beta')).length, 1);
      });
      await storage.write('contract_rel', (w) => w.deleteRelation('Beta', 'Acme'));
      const after = await storage.read('contract_rel', async (r) => ({
        relation: await r.getRelation('Acme', 'Beta'),
        names: await r.entityNames(),
      }));
      assert.equal(after.relation, undefined);
      assert.deepEqual(after.names, ['Acme', 'Beta'], 'deleting a relation keeps its entities');
    }),
  );

  it(
    'a relation to an entity that does not exist creates that entity',
    using(open, async (storage) => {
      await storage.write('contract_ends', (w) =>
        w.upsertRelation({ source: 'Acme', target: 'Nova', properties: { description: 'x' } }),
      );
      const names = await storage.read('contract_ends', (r) => r.entityNames());
      assert.deepEqual(names, ['Acme', 'Nova']);
    }),
  );

  it(
    'deleting an entity removes every relation touching it',
    using(open, async (storage) => {
      await storage.write('contract_del', async (w) => {
        for (const [a, b] of [
          ['A', 'B'],
          ['A', 'C'],
          ['B', 'C'],
        ]) {
          await w.upsertRelation({ source: a as string, target: b as string, properties: {} });
        }
      });
      await storage.write('contract_del', (w) => w.deleteEntity('A'));
      await storage.read('contract_del', async (r) => {
        assert.equal(await r.getEntity('A'), undefined);
        assert.equal(await r.getRelation('A', 'B'), undefined);
        assert.equal(await r.getRelation('C', 'A'), undefined);
        assert.equal((await r.relations(0, 10)).total, 1);
        const ofB = await r.relationsOf('B');
        assert.deepEqual(
          ofB.map((rel) => [rel.source, rel.target].sort()),
          [['B', 'C']],
        );
        assert.deepEqual(await r.relationsOf('A'), []);
      });
    }),
  );
}

function pagingTests(open: Open): void {
  it(
    'entities and relations page in a stable order with totals (names by code point)',
    using(open, async (storage) => {
      // By code point: Z < a < é < Ａ (U+FF21) < 😀 (U+1F600); UTF-16 order differs.
      const names = ['😀', 'Ａ', 'é', 'a', 'Z'];
      await storage.write('contract_page', async (w) => {
        for (const name of names) await w.upsertEntity({ name, properties: { description: name } });
        await w.upsertRelation({ source: 'é', target: 'a', properties: {} });
        await w.upsertRelation({ source: 'Z', target: '😀', properties: {} });
        await w.upsertRelation({ source: 'Ａ', target: 'a', properties: {} });
      });
      await storage.read('contract_page', async (r) => {
        const sorted = ['Z', 'a', 'é', 'Ａ', '😀'];
        assert.deepEqual(await r.entityNames(), sorted);
        const first = await r.entities(0, 2);
        const rest = await r.entities(2, 10);
        assert.equal(first.total, 5);
        assert.equal(rest.total, 5);
        assert.deepEqual(
          [...first.items, ...rest.items].map((e) => e.name),
          sorted,
        );
        assert.deepEqual((await r.entities(5, 10)).items, []);
        const relations = await r.relations(0, 10);
        assert.equal(relations.total, 3);
        const pairs = relations.items.map((rel) => [rel.source, rel.target].sort().join('|'));
        assert.deepEqual(pairs, ['Z|😀', 'a|é', 'a|Ａ']);
        const second = await r.relations(1, 1);
        assert.deepEqual(second.items.length, 1);
        assert.equal(second.total, 3);
      });
    }),
  );
}

function graphQueryTests(open: Open): void {
  describe('labels and knowledge graph on a known graph', () => {
    let opened: OpenedStorage;
    const ws = 'contract_known';
    const kg = (label: string, depth: number, nodes: number) =>
      opened.storage.read(ws, (r) => r.knowledgeGraph(label, depth, nodes));

    before(async () => {
      opened = await open();
      await opened.storage.write(ws, seedKnownGraph);
      await opened.storage.write('contract_search', async (w) => {
        for (const name of ['pineapple', 'Apple', 'big_apple', 'apple pie', 'snapple', 'pear']) {
          await w.upsertEntity({ name, properties: { description: name } });
        }
      });
    });
    after(async () => {
      await opened.storage.close();
      await opened.cleanup();
    });

    it('label list, popular labels (degree, then name) and ranked search', async () => {
      const names = await opened.storage.read(ws, (r) => r.entityNames());
      assert.deepEqual(names, ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
      const popular = await opened.storage.read(ws, (r) => r.popularLabels(3));
      assert.deepEqual(popular, ['H', 'A', 'B']);
      const found = await opened.storage.read('contract_search', (r) =>
        r.searchLabels('APPLE', 10),
      );
      assert.deepEqual(found, ['Apple', 'apple pie', 'big_apple', 'snapple', 'pineapple']);
      const limited = await opened.storage.read('contract_search', (r) =>
        r.searchLabels('apple', 2),
      );
      assert.deepEqual(limited, ['Apple', 'apple pie']);
    });

    it('"*" is the top nodes by degree plus the edges among them', async () => {
      const whole = await kg('*', 3, 100);
      assert.equal(whole.nodes.length, 8);
      assert.equal(whole.edges.length, 8);
      assert.equal(whole.is_truncated, false);
      const top = await kg('*', 3, 2);
      assert.deepEqual(nodeIds(top), ['A', 'H']);
      assert.deepEqual(edgeIds(top), ['A-H']);
      assert.equal(top.is_truncated, true);
    });

    it('a label is explored breadth first, higher degree first, within max_depth', async () => {
      const depthOne = await kg('H', 1, 100);
      assert.deepEqual(nodeIds(depthOne), ['A', 'B', 'C', 'D', 'H']);
      assert.deepEqual(edgeIds(depthOne), ['A-B', 'A-H', 'B-H', 'C-H', 'D-H']);
      assert.equal(depthOne.is_truncated, false, 'nodes beyond max_depth do not count');
      const capped = await kg('H', 1, 3);
      assert.deepEqual(nodeIds(capped), ['A', 'B', 'H']);
      assert.equal(capped.is_truncated, true);
      const exact = await kg('H', 1, 5);
      assert.equal(exact.nodes.length, 5);
      assert.equal(exact.is_truncated, false, 'nothing was left out');
      const far = await kg('G', 10, 100);
      assert.equal(far.nodes.length, 8);
      assert.equal(far.is_truncated, false);
    });

    it('nodes and edges have LightRAG shapes; an unknown label is an empty graph', async () => {
      const graph = await kg('D', 1, 10);
      const hub = graph.nodes.find((n) => n.id === 'H');
      assert.deepEqual(hub?.labels, ['H']);
      assert.equal(hub?.properties.description, 'H');
      assert.equal(hub?.properties.entity_id, 'H');
      assert.deepEqual(graph.edges, [
        {
          id: 'D-H',
          type: 'DIRECTED',
          source: 'D',
          target: 'H',
          properties: { description: 'H-D', weight: 1.5 },
        },
      ]);
      assert.deepEqual(await kg('nobody', 3, 10), { nodes: [], edges: [], is_truncated: false });
    });
  });
}

function kvTests(open: Open): void {
  it(
    'key-value records are replaced whole, stamped, deleted; doc status is stored as given',
    using(open, async (storage) => {
      const ws = 'contract_kv';
      await storage.write(ws, (w) =>
        w.upsertKv('full_docs', new Map([['doc-1', { content: 'one', file_path: 'a.txt' }]])),
      );
      const first = await storage.read(ws, (r) => r.getKv('full_docs', ['doc-1', 'doc-x']));
      assert.deepEqual([...first.keys()], ['doc-1']);
      const record = first.get('doc-1');
      assert.equal(record?.content, 'one');
      assert.equal(record?._id, 'doc-1');
      assert.equal(typeof record?.create_time, 'number');
      assert.equal(typeof record?.update_time, 'number');

      await storage.write(ws, (w) =>
        w.upsertKv('full_docs', new Map([['doc-1', { content: 'two' }]])),
      );
      const second = (await storage.read(ws, (r) => r.getKv('full_docs', ['doc-1']))).get('doc-1');
      assert.equal(second?.content, 'two');
      assert.equal(second?.file_path, undefined, 'an upsert replaces the whole record');
      assert.equal(second?.create_time, record?.create_time);

      const status = { status: 'processed', content_summary: 's', chunks_list: ['c1'] };
      await storage.write(ws, async (w) => {
        await w.upsertKv('doc_status', new Map([['doc-1', status]]));
        await w.deleteKv('full_docs', ['doc-1', 'doc-missing']);
      });
      await storage.read(ws, async (r) => {
        assert.equal((await r.getKv('full_docs', ['doc-1'])).size, 0);
        assert.deepEqual((await r.getKv('doc_status', ['doc-1'])).get('doc-1'), status);
      });
    }),
  );
}

function vectorTests(open: Open): void {
  it(
    'vector rows keep their meta fields and direction; the dimension is enforced',
    using(open, async (storage) => {
      const ws = 'contract_vec';
      const row = entityRow('ent-1', 'Acme', vector(3, 4, 0));
      row.fields.description = 'not a meta field of the entity store';
      await storage.write(ws, (w) => w.upsertVectors('entities', [row]));
      await storage.read(ws, async (r) => {
        const [stored] = await r.getVectors('entities', ['ent-1', 'ent-missing']);
        assert.equal(stored?.id, 'ent-1');
        assert.deepEqual(stored?.fields, {
          entity_name: 'Acme',
          content: 'Acme\nabout Acme',
          source_id: 'c1',
        });
        assert.equal(stored?.createdAt, 1_700_000_000);
        assertSameDirection(stored?.vector ?? null, [3, 4, 0]);
        assert.equal(await r.vectorDimension('entities'), 3);
        assert.equal(await r.vectorDimension('chunks'), undefined);
      });

      await assert.rejects(
        storage.write(ws, (w) =>
          w.upsertVectors('entities', [entityRow('ent-2', 'B', vector(1, 2))]),
        ),
        hasCode('EMBEDDING_DIMENSION'),
      );
      await storage.write(ws, (w) => w.deleteVectors('entities', ['ent-1']));
      await storage.read(ws, async (r) => {
        assert.deepEqual(await r.getVectors('entities', ['ent-1']), []);
        assert.equal(await r.vectorDimension('entities'), undefined);
      });
    }),
  );

  it(
    'rows without a vector are pending until a vector arrives',
    using(open, async (storage) => {
      const ws = 'contract_pending';
      await storage.write(ws, async (w) => {
        await w.upsertVectors('entities', [entityRow('ent-1', 'Acme', vector(1, 0))]);
        await w.upsertVectors('entities', [entityRow('ent-2', 'Beta', null)]);
        // New content without a vector: the old vector no longer applies.
        await w.upsertVectors('entities', [entityRow('ent-1', 'Acme', null)]);
      });
      await storage.read(ws, async (r) => {
        const pending = await r.pendingVectors('entities');
        assert.deepEqual(pending.map((p) => p.id).sort(), ['ent-1', 'ent-2']);
        assert.ok(pending.every((p) => p.vector === null));
        const rows = await r.getVectors('entities', ['ent-2']);
        assert.equal(rows[0]?.vector, null);
        assert.equal(rows[0]?.fields.entity_name, 'Beta');
        assert.deepEqual(await r.pendingVectors('chunks'), []);
      });
      await storage.write(ws, (w) =>
        w.upsertVectors('entities', [entityRow('ent-2', 'Beta', vector(0, 2))]),
      );
      await storage.read(ws, async (r) => {
        assert.deepEqual(
          (await r.pendingVectors('entities')).map((p) => p.id),
          ['ent-1'],
        );
        assertSameDirection((await r.getVectors('entities', ['ent-2']))[0]?.vector ?? null, [0, 1]);
        assert.equal(await r.vectorDimension('entities'), 2);
      });
      await storage.write(ws, (w) => w.deleteVectors('entities', ['ent-1']));
      assert.deepEqual(await storage.read(ws, (r) => r.pendingVectors('entities')), []);
    }),
  );
}

function unitOfWorkTests(open: Open): void {
  it(
    'clear() empties graph, key-value, vector and doc-status stores',
    using(open, async (storage) => {
      const ws = 'contract_clear';
      await storage.write(ws, async (w) => {
        await seedKnownGraph(w);
        await w.upsertKv('text_chunks', new Map([['c1', { content: 'chunk' }]]));
        await w.upsertKv('doc_status', new Map([['d1', { status: 'processed' }]]));
        await w.upsertVectors('chunks', [{ ...entityRow('c1', 'x', vector(1, 1)), fields: {} }]);
        await w.upsertVectors('entities', [entityRow('ent-9', 'x', null)]);
      });
      await storage.write(ws, (w) => w.clear());
      assert.equal(await storage.hasWorkspace(ws), true);
      await storage.read(ws, async (r) => {
        assert.deepEqual(await r.entityNames(), []);
        assert.equal((await r.relations(0, 10)).total, 0);
        assert.equal((await r.getKv('text_chunks', ['c1'])).size, 0);
        assert.equal((await r.getKv('doc_status', ['d1'])).size, 0);
        assert.deepEqual(await r.getVectors('chunks', ['c1']), []);
        assert.deepEqual(await r.pendingVectors('entities'), []);
      });
    }),
  );

  it(
    'a write whose function throws changes nothing, and its reads saw its own changes',
    using(open, async (storage) => {
      const ws = 'contract_atomic';
      await storage.write(ws, (w) => w.upsertEntity({ name: 'Keep', properties: { n: 1 } }));
      const failure = new Error('stop here');
      await assert.rejects(
        storage.write(ws, async (w) => {
          await w.upsertEntity({ name: 'Keep', properties: { n: 2 } });
          await w.upsertEntity({ name: 'Lost', properties: {} });
          await w.upsertKv('full_docs', new Map([['doc-lost', { content: 'x' }]]));
          await w.upsertVectors('entities', [entityRow('ent-lost', 'Lost', vector(1, 2))]);
          await w.deleteEntity('Keep');
          assert.deepEqual(await w.entityNames(), ['Lost'], 'a writer reads its own changes');
          throw failure;
        }),
        (error) => error === failure,
      );
      await storage.read(ws, async (r) => {
        assert.deepEqual(await r.entityNames(), ['Keep']);
        assert.equal((await r.getEntity('Keep'))?.properties.n, 1);
        assert.equal((await r.getKv('full_docs', ['doc-lost'])).size, 0);
        assert.deepEqual(await r.getVectors('entities', ['ent-lost']), []);
      });
    }),
  );

  it(
    'concurrent writes to one workspace are serialised and none is lost',
    using(open, async (storage) => {
      const ws = 'contract_concurrent';
      const names = Array.from({ length: 20 }, (_, i) => `entity-${String(i).padStart(2, '0')}`);
      await Promise.all(
        names.map((name) =>
          storage.write(ws, async (w) => {
            await w.upsertEntity({ name, properties: { description: name } });
            await w.upsertRelation({ source: 'hub', target: name, properties: {} });
          }),
        ),
      );
      const result = await storage.read(ws, async (r) => ({
        names: await r.entityNames(),
        relations: (await r.relations(0, 100)).total,
      }));
      assert.deepEqual(result.names, [...names, 'hub']);
      assert.equal(result.relations, 20);
    }),
  );
}
