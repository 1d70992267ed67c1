import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempDir, writeTree } from '../helpers.ts';
import {
  createMigDatabase,
  graphmlDocument,
  migConfig,
  only,
  run,
  weightedEdge,
  WITHOUT_VECTORS,
  type MigDatabase,
} from './helpers.ts';

/**
 * The bulk graph path of a migration into an empty workspace on a real server: the GraphML
 * read on its own thread, rows sent as COPY text, entities inserted last with their degree.
 * Every file here goes through the reader thread (only large files do otherwise), so these
 * tests cover what the small files of the other tests never reach: degrees, endpoints no
 * node declares, the fallbacks on duplicate keys, findings made on the reader thread, and
 * verify's digests taken on worker threads.
 */
process.env.RAGSPACE_GRAPH_THREAD_MIN_BYTES = '0';
// And verify reads every table back through the digest threads (only large ones otherwise).
process.env.RAGSPACE_DIGEST_THREAD_MIN_ROWS = '0';

const KEYS =
  '<key id="d0" for="node" attr.name="entity_type" attr.type="string"/>' +
  '<key id="d1" for="edge" attr.name="weight" attr.type="double"/>' +
  '<key id="d2" for="edge" attr.name="description" attr.type="string"/>' +
  '<key id="d3" for="node" attr.name="entity_id" attr.type="string"/>' +
  '<key id="d4" for="node" attr.name="reviewed" attr.type="boolean"/>' +
  '<key id="d5" for="node" attr.name="description" attr.type="string"/>';

const graphml = (body: string) => graphmlDocument(KEYS, body);

const node = (id: string, extra = '') =>
  `<node id="${id}"><data key="d0">person</data>${extra}</node>`;
const edge = weightedEdge;

/**
 * A graph of `nodes` nodes and `edges` distinct edges (some to up to `undeclared` ends no
 * node declares, and every `reciprocalEvery`th given twice), with its degrees as networkx
 * counts them.
 */
function generatedGraph(nodes: number, edges: number, undeclared = 50, reciprocalEvery = 0) {
  let seed = 12345;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const name = (i: number) => (i < nodes ? `N${i}` : `U${i - nodes}`);
  const expected: Record<string, number> = {};
  let body = '';
  for (let i = 0; i < nodes; i++) {
    body += node(name(i));
    expected[name(i)] = 0;
  }
  const seen = new Set<string>();
  while (seen.size < edges) {
    const [a, b] = [name(next(nodes + undeclared)), name(next(nodes))];
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    if (seen.has(key)) continue;
    seen.add(key);
    body += edge(a, b, '1');
    // The same edge again the other way round: networkx merges it, the degree stays.
    if (reciprocalEvery > 0 && seen.size % reciprocalEvery === 0) body += edge(b, a, '2');
    expected[a] = (expected[a] ?? 0) + 1;
    expected[b] = (expected[b] ?? 0) + 1;
  }
  return { body, expected };
}

describe('the bulk graph path (reader thread, COPY) into PostgreSQL 15', () => {
  let db: MigDatabase;
  const dir = tempDir('ragspace-mig-bulk-');
  const env = () => ({ ...WITHOUT_VECTORS, ...db.env, WORKING_DIR: dir.path });
  const degrees = async (ws: string) => {
    const rows = await db.query(
      `SELECT name, degree FROM ragspace_entities WHERE workspace = $1 ORDER BY name`,
      [ws],
    );
    return Object.fromEntries(rows.map((row) => [row.name as string, row.degree as number]));
  };
  const described = (ws: string) =>
    db.query(
      `SELECT name, description, degree FROM ragspace_entities
        WHERE workspace = $1 ORDER BY name`,
      [ws],
    );
  // Equal checksums, not only no difference found record by record afterwards.
  const sameChecksums = (report: Awaited<ReturnType<typeof migrated>>) => {
    for (const store of report.verification!) {
      assert.equal(store.targetChecksum, store.sourceChecksum, store.store);
    }
  };
  const migrated = async (ws: string) => {
    const report = only(await run(migConfig(env()), { workspaces: [ws] }));
    assert.equal(report.status, 'migrated', JSON.stringify(report.error ?? report.verification));
    return report;
  };

  before(async () => {
    db = await createMigDatabase();
  });

  after(async () => {
    await db.drop();
    dir.cleanup();
  });

  it('stores every degree as networkx counts it, and a node for an undeclared end', async () => {
    writeTree(dir.path, {
      'degrees/graph_chunk_entity_relation.graphml': graphml(
        node('A') +
          node('B') +
          node('C') +
          node('D') +
          edge('A', 'B', '1') +
          edge('B', 'C', '1') +
          edge('A', 'C', '1') +
          edge('C', 'C', '1') +
          edge('C', 'E', '1'),
      ),
    });
    await migrated('degrees');
    // A self-loop counts twice; E appears only in an edge, as networkx's add_edge makes it.
    assert.deepEqual(await degrees('degrees'), { A: 2, B: 2, C: 5, D: 0, E: 1 });
    const [undeclared] = await db.query(
      `SELECT entity_id, name_lower, entity_type FROM ragspace_entities
        WHERE workspace = 'degrees' AND name = 'E'`,
    );
    assert.deepEqual(undeclared, { entity_id: 'E', name_lower: 'e', entity_type: null });
  });

  it('merges a reciprocal duplicate edge and a node given twice, degrees recounted', async () => {
    writeTree(dir.path, {
      'dupes/graph_chunk_entity_relation.graphml': graphml(
        node('A') +
          node('B', '<data key="d4">true</data>') +
          node('B', '<data key="d5">second</data>') +
          node('C') +
          edge('A', 'B', '1.0', 'first') +
          edge('B', 'C', '-0') +
          edge('B', 'A', '2.0') +
          edge('A', 'C', 'inf'),
      ),
    });
    const report = await migrated('dupes');
    const relations = report.verification!.find((v) => v.store === 'graph_relations')!;
    assert.deepEqual(relations.differences?.sourceDuplicates, ['A - B']);
    assert.deepEqual(await degrees('dupes'), { A: 2, B: 2, C: 2 });
    const rows = await db.query(
      `SELECT source, target, weight::text AS weight, description FROM ragspace_relations
        WHERE workspace = 'dupes' ORDER BY source, target`,
    );
    // networkx's add_edge merges: the later weight wins, the earlier description survives.
    assert.deepEqual(rows, [
      { source: 'A', target: 'B', weight: '2', description: 'first' },
      { source: 'A', target: 'C', weight: 'Infinity', description: null },
      { source: 'B', target: 'C', weight: '-0', description: null },
    ]);
    const [b] = await db.query(
      `SELECT description, extra, attr_types FROM ragspace_entities
        WHERE workspace = 'dupes' AND name = 'B'`,
    );
    assert.deepEqual(b, {
      description: 'second',
      extra: { reviewed: true },
      attr_types: { reviewed: 'boolean' },
    });
  });

  it('reports what the reader thread found: entity ids replaced, odd weights', async () => {
    // A node after the first edge keeps its file id (B04), so its entity_id differs.
    writeTree(dir.path, {
      'found/graph_chunk_entity_relation.graphml': graphml(
        node('A') +
          edge('A', 'B', 'NaN') +
          node('B', '<data key="d3">not B</data>') +
          edge('A', 'A', '-inf'),
      ),
    });
    const report = await migrated('found');
    const finding = (code: string) => report.findings.find((f) => f.code === code);
    assert.deepEqual(finding('entity_id_replaced')?.records, ['B']);
    assert.deepEqual(finding('non_finite_weight')?.records, ['A - B', 'A - A']);
    assert.deepEqual(finding('self_loop')?.records, ['A - A']);
    const [b] = await db.query(
      `SELECT entity_id FROM ragspace_entities WHERE workspace = 'found' AND name = 'B'`,
    );
    assert.equal(b!.entity_id, 'B');
  });

  it('merges a hashed node declared again into its entity_id (B04), as networkx does', async () => {
    const hashed = (id: string, data: string) => `<node id="${id}">${data}</node>`;
    writeTree(dir.path, {
      'redeclared/graph_chunk_entity_relation.graphml': graphml(
        hashed('ent-a', '<data key="d3">Alice</data><data key="d5">first</data>') +
          node('B') +
          edge('ent-a', 'B', '1') +
          hashed('ent-a', '<data key="d5">second</data>'),
      ),
    });
    await migrated('redeclared');
    assert.deepEqual(await described('redeclared'), [
      { name: 'Alice', description: 'second', degree: 1 },
      { name: 'B', description: null, degree: 1 },
    ]);
  });

  it('counts degrees from the check pass over many batches, as networkx does', async () => {
    // Several reader-thread batches and COPY transactions; the entities' INSERT runs while
    // the relations load. Self-loops count twice; U* are ends no node declares.
    const { body, expected } = generatedGraph(3000, 7000);
    writeTree(dir.path, { 'many/graph_chunk_entity_relation.graphml': graphml(body) });
    const report = await migrated('many');
    assert.deepEqual(await degrees('many'), expected);
    // Equal checksums, not only no difference found record by record afterwards (the
    // entities differ by the undeclared ends, which the file does not hold).
    const relations = report.verification!.find((v) => v.store === 'graph_relations')!;
    assert.equal(relations.targetChecksum, relations.sourceChecksum);
    const entities = report.verification!.find((v) => v.store === 'graph_entities')!;
    const undeclared = Object.keys(expected).filter((name) => name.startsWith('U')).length;
    assert.equal(entities.target, entities.source + undeclared);
  });

  it('merges reciprocal edges while the entities are inserted, as networkx does', async () => {
    // The relations' upsert writes their endpoints into the entities table; beside the
    // entities' INSERT on the other connection, the two used to deadlock.
    const { body, expected } = generatedGraph(20_000, 60_000, 0, 100);
    writeTree(dir.path, { 'reciprocal/graph_chunk_entity_relation.graphml': graphml(body) });
    await migrated('reciprocal');
    assert.deepEqual(await degrees('reciprocal'), expected);
  });

  it('digests the rows read back on worker threads as the file is digested', async () => {
    const { body } = generatedGraph(3000, 7000, 0);
    writeTree(dir.path, { 'digested/graph_chunk_entity_relation.graphml': graphml(body) });
    const report = await migrated('digested');
    sameChecksums(report);
  });

  it('merges a node declared again after the first edge into the first', async () => {
    writeTree(dir.path, {
      'late/graph_chunk_entity_relation.graphml': graphml(
        node('A', '<data key="d5">first</data>') +
          node('B') +
          edge('A', 'B', '1') +
          node('A', '<data key="d5">second</data>') +
          node('C') +
          edge('C', 'A', '1'),
      ),
    });
    await migrated('late');
    assert.deepEqual(await described('late'), [
      { name: 'A', description: 'second', degree: 2 },
      { name: 'B', description: null, degree: 1 },
      { name: 'C', description: null, degree: 1 },
    ]);
  });

  it('inserts a node declared after the relations began, with its degree', async () => {
    // Reader batches hold 250 records: the first 250 nodes are staged during the check,
    // and Z, an end of earlier edges, is declared after the entities' INSERT started.
    let body = '';
    for (let i = 0; i < 300; i++) body += node(`N${i}`);
    for (let i = 0; i < 300; i++)
      body += edge(`N${i}`, i % 3 === 0 ? 'Z' : `N${(i + 1) % 300}`, '1');
    body += node('Z', '<data key="d5">declared late</data>') + edge('Z', 'N7', '1');
    writeTree(dir.path, { 'later/graph_chunk_entity_relation.graphml': graphml(body) });
    const report = await migrated('later');
    sameChecksums(report);
    const [z] = await db.query(
      `SELECT description, entity_type, degree FROM ragspace_entities
        WHERE workspace = 'later' AND name = 'Z'`,
    );
    assert.deepEqual(z, { description: 'declared late', entity_type: 'person', degree: 101 });
  });

  it('digests a row of megabytes on a digest thread', async () => {
    const long = 'a long description; '.repeat(400_000); // 8 MB
    writeTree(dir.path, {
      'large/graph_chunk_entity_relation.graphml': graphml(
        node('A', `<data key="d5">${long}</data>`) + node('B') + edge('A', 'B', '1', long),
      ),
    });
    const report = await migrated('large');
    sameChecksums(report);
  });

  it('refuses a damaged file before writing anything, and lets go of its connections', async () => {
    // 300 nodes: the first 250 are staged while the check reads on, to the damage.
    const { body } = generatedGraph(300, 400, 0);
    const whole = graphml(body);
    writeTree(dir.path, {
      'damaged/graph_chunk_entity_relation.graphml': whole.slice(0, whole.lastIndexOf('<edge')),
    });
    const report = only(await run(migConfig(env()), { workspaces: ['damaged'] }));
    assert.equal(report.status, 'refused');
    assert.equal(report.error?.code, 'MIGRATION_REFUSED');
    const [rows] = await db.query(
      `SELECT (SELECT count(*) FROM ragspace_entities WHERE workspace = 'damaged')
            + (SELECT count(*) FROM ragspace_relations WHERE workspace = 'damaged') AS n`,
    );
    assert.equal(Number(rows!.n), 0);
  });

  it('a second run into the filled workspace upserts, and leaves one row per key', async () => {
    writeTree(dir.path, {
      'again/graph_chunk_entity_relation.graphml': graphml(
        node('A') + node('B') + edge('A', 'B', '0.5', 'tab\there') + edge('B', 'C', '1'),
      ),
    });
    await migrated('again');
    const before = await db.query(
      `SELECT name, degree, entity_type, extra FROM ragspace_entities
        WHERE workspace = 'again' ORDER BY name`,
    );
    await migrated('again');
    const afterwards = await db.query(
      `SELECT name, degree, entity_type, extra FROM ragspace_entities
        WHERE workspace = 'again' ORDER BY name`,
    );
    assert.deepEqual(afterwards, before);
    assert.deepEqual(await degrees('again'), { A: 1, B: 2, C: 1 });
    const [relation] = await db.query(
      `SELECT description FROM ragspace_relations WHERE workspace = 'again' AND target = 'B'`,
    );
    assert.equal(relation!.description, 'tab\there');
  });

  it(
    'a server error mid-copy fails the workspace and releases its connections',
    {
      timeout: 60_000,
    },
    async () => {
      // A trigger stands in for any error the server can raise while the relations stream in.
      writeTree(dir.path, {
        'boom/graph_chunk_entity_relation.graphml': graphml(
          node('A') + node('B') + node('C') + edge('A', 'B', '1') + edge('B', 'C', '1', 'boom'),
        ),
      });
      await db.query(`CREATE OR REPLACE FUNCTION public.ragspace_test_boom() RETURNS trigger
      LANGUAGE plpgsql AS $$ BEGIN
        IF NEW.description = 'boom' THEN RAISE EXCEPTION 'disk full'; END IF;
        RETURN NEW; END $$`);
      await db.query(`CREATE TRIGGER boom BEFORE INSERT ON ragspace_relations
      FOR EACH ROW EXECUTE FUNCTION public.ragspace_test_boom()`);
      try {
        const report = only(await run(migConfig(env()), { workspaces: ['boom'] }));
        assert.equal(report.status, 'failed');
        assert.match(report.error?.message ?? '', /disk full|boom/);
      } finally {
        await db.query('DROP TRIGGER boom ON ragspace_relations');
      }
    },
  );
});
