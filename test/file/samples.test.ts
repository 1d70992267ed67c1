import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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
