import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PostgresStorage } from '../../src/storage/postgres/index.ts';
import type { WorkspaceQuery, WorkspaceSummary } from '../../src/storage/types.ts';
import { applyWorkspaceQuery, MAX_LIMIT, parseWorkspaceQuery } from '../../src/workspace/query.ts';
import {
  createTestDatabase,
  openPostgres,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  sql,
  type TestDatabase,
} from './helpers.ts';

/**
 * The workspace list computed in SQL must answer exactly as the file backend's in-memory
 * `applyWorkspaceQuery` answers over the same summaries: filters, order, count, cursor.
 */
interface Shape {
  entities: number;
  relations: number;
  docs: number;
  chunks: number;
}

const SHAPES: Record<string, Shape> = {
  alpha: { entities: 3, relations: 2, docs: 1, chunks: 4 },
  beta: { entities: 3, relations: 1, docs: 0, chunks: 0 },
  gamma: { entities: 10, relations: 9, docs: 2, chunks: 2 },
  'delta-1': { entities: 1, relations: 0, docs: 0, chunks: 1 },
  Delta_2: { entities: 0, relations: 0, docs: 3, chunks: 0 },
  epsilon: { entities: 5, relations: 4, docs: 1, chunks: 0 },
  zeta: { entities: 3, relations: 2, docs: 0, chunks: 7 },
};

describe('workspace list in SQL', () => {
  let db: TestDatabase;
  let storage: PostgresStorage;
  let all: WorkspaceSummary[];

  before(async () => {
    db = await createTestDatabase();
    storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
    for (const [name, shape] of Object.entries(SHAPES)) {
      await storage.write(name, async (w) => {
        for (let i = 0; i < shape.entities; i++)
          await w.upsertEntity({ name: `e${i}`, properties: {} });
        for (let i = 1; i <= shape.relations; i++) {
          await w.upsertRelation({ source: 'e0', target: `e${i}`, properties: {} });
        }
        const docs = Array.from(
          { length: shape.docs },
          (_, i) => [`d${i}`, { status: 'processed' }] as const,
        );
        await w.upsertKv('doc_status', new Map(docs));
        const chunks = Array.from(
          { length: shape.chunks },
          (_, i) => [`c${i}`, { content: 'x' }] as const,
        );
        await w.upsertKv('text_chunks', new Map(chunks));
      });
    }
    await storage.write('cleared', async (w) => {
      await w.upsertEntity({ name: 'gone', properties: {} });
      await w.clear();
    });
    // Rows LightRAG wrote under a name ragspace cannot serve are not listed.
    await sql(
      db.env,
      `INSERT INTO lightrag_doc_chunks (id, workspace, content) VALUES ('c', 'bad name', 'x')`,
    );
    const page = await storage.listWorkspaces(parseWorkspaceQuery({ limit: String(MAX_LIMIT) }));
    all = page.workspaces;
  });
  after(async () => {
    await storage.close();
    await db.drop();
  });

  it('counts entities, relations, documents and chunks per workspace', () => {
    assert.deepEqual(
      all.map((w) => w.name),
      ['Delta_2', 'alpha', 'beta', 'cleared', 'delta-1', 'epsilon', 'gamma', 'zeta'],
    );
    for (const summary of all) {
      const shape = SHAPES[summary.name] ?? { entities: 0, relations: 0, docs: 0, chunks: 0 };
      assert.deepEqual(
        [summary.entity_count, summary.relation_count, summary.document_count, summary.chunk_count],
        [shape.entities, shape.relations, shape.docs, shape.chunks],
        summary.name,
      );
      assert.match(summary.updated_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  const queries: Record<string, string>[] = [
    {},
    { q: 'ELTA' },
    { prefix: 'd' },
    { min_entities: '3', max_entities: '5' },
    { min_relations: '1', max_relations: '2' },
    { has_documents: 'true' },
    { has_documents: 'false' },
    { sort: '-entity_count', limit: '3' },
    { sort: 'relation_count', limit: '2', offset: '3' },
    { sort: '-updated_at', limit: '2' },
    { sort: '-name', limit: '4', offset: '1' },
    { sort: 'entity_count', limit: '0' },
  ];

  for (const params of queries) {
    it(`answers ${JSON.stringify(params)} as applyWorkspaceQuery does`, async () => {
      const query = parseWorkspaceQuery(params);
      assert.deepEqual(await storage.listWorkspaces(query), applyWorkspaceQuery(all, query));
    });
  }

  it('filters by updated_since', async () => {
    const middle = [...all].sort((a, b) => (a.updated_at! < b.updated_at! ? -1 : 1))[4]!;
    const query = parseWorkspaceQuery({ updated_since: middle.updated_at! });
    assert.deepEqual(await storage.listWorkspaces(query), applyWorkspaceQuery(all, query));
  });

  for (const sort of [
    'name',
    '-name',
    'entity_count',
    '-entity_count',
    'relation_count',
    '-updated_at',
  ]) {
    it(`pages with cursors, sorted by ${sort}, exactly as the file backend would`, async () => {
      let query: WorkspaceQuery = parseWorkspaceQuery({ sort, limit: '3' });
      for (let pages = 0; pages < 5; pages++) {
        const page = await storage.listWorkspaces(query);
        assert.deepEqual(page, applyWorkspaceQuery(all, query));
        if (!page.next_cursor) return;
        query = { ...query, cursor: page.next_cursor };
      }
      assert.fail('the cursor walk did not end');
    });
  }

  it('describes a workspace: stores, entity types, statuses; unknown is not found', async () => {
    const detail = await storage.describeWorkspace('gamma');
    assert.equal(detail.entity_count, 10);
    assert.equal(detail.stores.text_chunks, 2);
    assert.deepEqual(detail.document_statuses, { processed: 2 });
    assert.deepEqual(detail.entity_types, { '': 10 });
    assert.match(detail.location, /^postgresql:\/\/postgres@/);
    await assert.rejects(storage.describeWorkspace('nobody'), /does not exist/);
  });
});

describe('POSTGRES_WORKSPACE', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('stores the server workspace under that column value; others keep their names', async () => {
    const config = pgTestConfig(db.env, PG_WITHOUT_VECTORS, {
      WORKSPACE: 'main',
      POSTGRES_WORKSPACE: 'legacy',
    });
    const storage = await openPostgres(config);
    try {
      await storage.write('main', (w) => w.upsertEntity({ name: 'M', properties: {} }));
      await storage.write('other', (w) => w.upsertEntity({ name: 'O', properties: {} }));
      const rows = await sql(db.env, 'SELECT workspace, name FROM ragspace_entities ORDER BY name');
      assert.deepEqual(rows, [
        { workspace: 'legacy', name: 'M' },
        { workspace: 'other', name: 'O' },
      ]);
      const page = await storage.listWorkspaces(parseWorkspaceQuery({}));
      assert.deepEqual(
        page.workspaces.map((w) => w.name),
        ['main', 'other'],
      );
    } finally {
      await storage.close();
    }
  });

  it('without it, the empty workspace is the column value "default"', async () => {
    const storage = await openPostgres(pgTestConfig(db.env, PG_WITHOUT_VECTORS));
    try {
      await storage.write('', (w) => w.upsertKv('full_docs', new Map([['d', { content: 'x' }]])));
      const rows = await sql(db.env, 'SELECT workspace FROM lightrag_doc_full');
      assert.deepEqual(rows, [{ workspace: 'default' }]);
    } finally {
      await storage.close();
    }
  });
});
