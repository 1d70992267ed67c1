import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tempDir, writeTree } from '../helpers.ts';
import { ENTITY_STORE, RELATION_STORE } from '../../src/migrate/records/graph.ts';
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
import { copyOutText, plainLines } from './read-back.ts';

/**
 * Verify digests a graph row read back straight from its COPY line when the row is plain
 * (graph-plain-rows.ts), and through its record otherwise. Rows of every awkward kind are
 * migrated into the real server here, read back as verify reads them, and each row read as
 * plain must digest exactly as its record does; the rows that are not plain must say so.
 */
process.env.RAGSPACE_GRAPH_THREAD_MIN_BYTES = '0';
process.env.RAGSPACE_DIGEST_THREAD_MIN_ROWS = '0';

const KEYS =
  '<key id="d0" for="node" attr.name="entity_type" attr.type="string"/>' +
  '<key id="d1" for="edge" attr.name="weight" attr.type="double"/>' +
  '<key id="d2" for="edge" attr.name="description" attr.type="string"/>' +
  '<key id="d3" for="node" attr.name="description" attr.type="string"/>' +
  '<key id="d4" for="node" attr.name="rank" attr.type="long"/>' +
  '<key id="d5" for="node" attr.name="created_at" attr.type="long"/>';

const node = (id: string, data = '') => `<node id="${id}">${data}</node>`;

/** Each node and edge, by the id it is looked up with in the COPY lines. */
const NODES = [
  node('plain', '<data key="d0">person</data><data key="d3">one two</data>'),
  node('bare'),
  node('escapes', '<data key="d3">tab\there&#10;line&#13;cr \\ back</data>'),
  node('empty', '<data key="d0"></data><data key="d5">1760000000</data>'),
  node('ranked', '<data key="d4">7</data>'),
  node('😀 astral', '<data key="d0">emoji</data>'),
  node('\uFF21 wide'),
];
const EDGES = [
  weightedEdge('plain', 'bare', '1.5', 'first'),
  weightedEdge('😀 astral', '\uFF21 wide', '2', 'code points, not UTF-16 units'),
  weightedEdge('escapes', 'empty', 'nan'),
  weightedEdge('ranked', 'plain', '-0.0'),
  weightedEdge('bare', 'empty', 'inf'),
  weightedEdge('escapes', 'ranked', '0.1', 'with\ta tab'),
];

describe('reading graph rows back from their COPY lines', () => {
  let db: MigDatabase;
  const dir = tempDir('ragspace-plain-rows-');

  before(async () => {
    db = await createMigDatabase();
    const file = graphmlDocument(KEYS, NODES.join('') + EDGES.join(''));
    writeTree(dir.path, { 'w/graph_chunk_entity_relation.graphml': file });
    const config = migConfig(WITHOUT_VECTORS, db.env, { WORKING_DIR: dir.path });
    const report = only(await run(config, { workspaces: ['w'] }));
    assert.equal(report.status, 'migrated', JSON.stringify(report.verification));
  });

  after(async () => {
    await db.drop();
    dir.cleanup();
  });

  const firstField = (line: string) => line.slice(0, line.indexOf('\t'));

  it('reads entities without extra attributes as plain, and digests them as records', async () => {
    const text = await copyOutText(db, ENTITY_STORE, 'w');
    const plain = plainLines(ENTITY_STORE, text).map(firstField).sort();
    // "ranked" keeps its rank in `extra`: the general way reads it.
    const expected = ['bare', 'empty', 'escapes', 'plain', '\uFF21 wide', '😀 astral'];
    assert.deepEqual(plain, expected.sort());
  });

  it('leaves relations with NaN, infinite or -0 weights to the general way', async () => {
    const text = await copyOutText(db, RELATION_STORE, 'w');
    const plain = plainLines(RELATION_STORE, text).map((line) => line.split('\t', 2).join(' - '));
    // The pair in code point order, as the table keeps it (U+FF21 before U+1F600).
    const expected = ['bare - plain', 'escapes - ranked', '\uFF21 wide - 😀 astral'];
    assert.deepEqual(plain.sort(), expected.sort());
  });
});
