import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeNanoVdb, type VectorRow as GeneratedRow } from '../../bench/generate.ts';
import { loadNanoVdb } from '../../src/formats/nano-vdb-loader.ts';
import { decodeFloat16Vector } from '../../src/formats/nano-vdb.ts';
import {
  readVectorRows,
  scanVectorFile,
  vectorFileProblems,
} from '../../src/migrate/source/vectors.ts';
import { tempDir, writeTree } from '../helpers.ts';
import { startPgliteServer, type PgliteServer } from '../postgres/helpers.ts';
import { ALL_PG, migConfig, only, run } from './helpers.ts';

/**
 * nano-vectordb files: rows paired with their matrix rows while both stream (the matrix
 * read from its recorded offset), and the dimension checks that stop a workspace before
 * anything is written (known faults B07, B08).
 */
function rows(count: number, prefix: string): GeneratedRow[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    fields: {
      entity_name: `E${i}`,
      content: `E${i}\ndescription`,
      source_id: 'c1',
      file_path: 'f',
    },
  }));
}

describe('reading nano-vectordb files in pieces', () => {
  const dir = tempDir('ragspace-mig-vdb-');
  after(() => dir.cleanup());

  it('pairs every data row with its matrix row across many 1 MiB pieces', async () => {
    const path = join(dir.path, 'vdb_entities.json');
    writeNanoVdb(path, 1024, rows(700, 'ent'), 3);
    const facts = await scanVectorFile(path, () => undefined);
    assert.deepEqual(vectorFileProblems(facts), []);
    assert.ok(facts.matrixEnd - facts.matrixStart > 3 * 1024 * 1024, 'the matrix spans pieces');
    const whole = await loadNanoVdb(path);
    let index = 0;
    for await (const row of readVectorRows(path, facts)) {
      const expected = whole.rows[index++]!;
      assert.equal(row.id, expected.data.__id__);
      assert.deepEqual(row.matrixRow, expected.matrix);
      assert.deepEqual(row.halfVector, decodeFloat16Vector(expected.data.vector as string));
    }
    assert.equal(index, 700);
  });

  it('finds data rows and matrix rows that do not pair (B07)', async () => {
    const path = join(dir.path, 'vdb_relationships.json');
    writeNanoVdb(path, 8, rows(5, 'rel'), 4);
    const text = JSON.parse(readFileSync(path, 'utf8')) as {
      data: unknown[];
      matrix: string;
    };
    const fourRows = Buffer.from(text.matrix, 'base64')
      .subarray(0, 4 * 8 * 4)
      .toString('base64');
    writeFileSync(path, JSON.stringify({ embedding_dim: 8, data: text.data, matrix: fourRows }));
    const facts = await scanVectorFile(path, () => undefined);
    assert.match(vectorFileProblems(facts)[0]!, /4 rows of 8 values but "data" has 5 rows/);
  });
});

describe('vector dimensions checked before anything is written (B08)', () => {
  let server: PgliteServer;
  const dir = tempDir('ragspace-mig-dims-');
  const graph =
    "<?xml version='1.0' encoding='utf-8'?><graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">" +
    '<graph edgedefault="undirected"><node id="E0"/><node id="E1"/></graph></graphml>';

  before(async () => {
    server = await startPgliteServer();
    for (const [ws, dims] of Object.entries({ a: [1024, 1024, 1024], mixed: [1024, 1024, 768] })) {
      writeTree(dir.path, { [`${ws}/graph_chunk_entity_relation.graphml`]: graph });
      const [entities, relations, chunks] = dims as [number, number, number];
      writeNanoVdb(join(dir.path, ws, 'vdb_entities.json'), entities, rows(2, 'ent'), 1);
      writeNanoVdb(join(dir.path, ws, 'vdb_relationships.json'), relations, [], 2);
      writeNanoVdb(join(dir.path, ws, 'vdb_chunks.json'), chunks, rows(1, 'chunk'), 3);
    }
  });

  after(async () => {
    await server.stop();
    dir.cleanup();
  });

  const config = (extra: Record<string, string>) =>
    migConfig(ALL_PG, server.env, { WORKING_DIR: dir.path }, extra);

  async function count(sql: string): Promise<number> {
    const result = await server.db.query<{ n: number }>(sql);
    return Number(result.rows[0]!.n);
  }

  it('refuses a workspace whose vectors do not have the target dimension', async () => {
    const report = only(await run(config({ EMBEDDING_DIM: '1536' }), { workspaces: ['a'] }));
    assert.equal(report.status, 'refused');
    const mismatch = report.findings.filter((f) => f.code === 'dimension_mismatch');
    assert.equal(mismatch.length, 3);
    assert.match(mismatch[0]!.message, /1024-dimension vectors but the target tables hold 1536/);
    assert.equal(
      await count(`SELECT count(*) AS n FROM ragspace_entities WHERE workspace = 'a'`),
      0,
    );
  });

  it('refuses three vector files of different dimensions', async () => {
    const report = only(await run(config({ EMBEDDING_DIM: '1024' }), { workspaces: ['mixed'] }));
    assert.equal(report.status, 'refused');
    const differ = report.findings.find((f) => f.code === 'dimensions_differ');
    assert.match(differ!.message, /vdb_chunks\.json: 768/);
  });

  it('stops before writing when an existing table holds another dimension', async () => {
    await server.db.exec(`CREATE TABLE lightrag_vdb_entity (
      id VARCHAR(255), workspace VARCHAR(255), entity_name VARCHAR(512), content TEXT,
      content_vector VECTOR(1536), create_time TIMESTAMP(0), update_time TIMESTAMP(0),
      chunk_ids VARCHAR(255)[], file_path TEXT,
      CONSTRAINT lightrag_vdb_entity_pk PRIMARY KEY (workspace, id))`);
    await server.db.exec(`INSERT INTO lightrag_vdb_entity (id, workspace) VALUES ('x', 'other')`);
    const legacy = config({ EMBEDDING_DIM: '1024', EMBEDDING_MODEL: '' });
    await assert.rejects(run(legacy, { workspaces: ['a'] }), { code: 'EMBEDDING_DIMENSION' });
    assert.equal(await count(`SELECT count(*) AS n FROM lightrag_vdb_entity`), 1);
    assert.equal(
      await count(`SELECT count(*) AS n FROM ragspace_entities WHERE workspace = 'a'`),
      0,
    );
  });

  it('migrates the same workspace once the dimension matches', async () => {
    const report = only(await run(config({ EMBEDDING_DIM: '1024' }), { workspaces: ['a'] }));
    assert.equal(report.status, 'migrated', JSON.stringify(report.error ?? report.verification));
  });
});
