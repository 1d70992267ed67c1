import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PostgresStorage } from '../../src/storage/postgres/index.ts';
import type { WorkspaceQuery, WorkspaceSummary } from '../../src/storage/types.ts';
import { applyWorkspaceQuery, MAX_LIMIT, parseWorkspaceQuery } from '../../src/workspace/query.ts';
import {
  connectTo,
  openStats,
  seeded,
  STATS_BACKENDS,
  withClient,
  type OpenedStats,
  type StatsDatabase,
} from './helpers.ts';

/**
 * GET /api/workspaces on PostgreSQL answers from the statistics exactly as the file
 * backend's `applyWorkspaceQuery` answers over the same summaries, for many random
 * combinations of the query parameters: with the list kept in memory (the default) and
 * with every filter, sort and cursor in SQL (beyond RAGSPACE_LIST_CACHE_WORKSPACES).
 */
const MODES: { label: string; env: Record<string, string> }[] = [
  { label: 'kept in memory', env: {} },
  { label: 'in SQL', env: { RAGSPACE_LIST_CACHE_WORKSPACES: '0' } },
];
interface Shape {
  entities: number;
  relations: number;
  docStatus: number;
  fullDocs: number;
  chunks: number;
}

const NAMES = ['alpha', 'Alpha_2', 'ALPHA-3', 'beta', 'beta_01', 'b-52', 'gamma', 'Gamma', 'ws_1'];

function shapes(rnd: () => number): Map<string, Shape> {
  const result = new Map<string, Shape>();
  const small = (max: number) => Math.floor(rnd() * (max + 1));
  for (let i = 0; i < 28; i++) {
    const name = i < NAMES.length ? NAMES[i]! : `ws_${String(i).padStart(3, '0')}`;
    // Few distinct values, so sorts meet many ties (ordered by name then).
    const entities = small(6);
    const relations = Math.min(small(4), Math.max(entities - 1, 0));
    result.set(name, {
      entities,
      relations,
      docStatus: small(2),
      fullDocs: small(2),
      chunks: small(3),
    });
  }
  return result;
}

const documents = (s: Shape) => (s.docStatus > 0 ? s.docStatus : s.fullDocs);

async function write(storage: PostgresStorage, name: string, shape: Shape): Promise<void> {
  const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  await storage.write(name, async (w) => {
    for (const id of ids(shape.entities, 'e')) await w.upsertEntity({ name: id, properties: {} });
    for (let i = 1; i <= shape.relations; i++) {
      await w.upsertRelation({ source: 'e0', target: `e${i}`, properties: {} });
    }
    const status = { status: 'processed' };
    await w.upsertKv('doc_status', new Map(ids(shape.docStatus, 'd').map((id) => [id, status])));
    const doc = { content: 'x' };
    await w.upsertKv('full_docs', new Map(ids(shape.fullDocs, 'f').map((id) => [id, doc])));
    await w.upsertKv('text_chunks', new Map(ids(shape.chunks, 'c').map((id) => [id, doc])));
  });
}

const pickFrom = <T>(rnd: () => number, list: T[]): T => list[Math.floor(rnd() * list.length)]!;
const maybe = <T>(rnd: () => number, value: () => T): T | undefined =>
  rnd() < 0.35 ? value() : undefined;

function randomParams(rnd: () => number, stamps: string[]): Record<string, string> {
  const params: Record<string, string | undefined> = {
    q: maybe(rnd, () => pickFrom(rnd, ['a', 'LP', '_', '-', 'ws', '0', 'amm', 'zzz'])),
    prefix: maybe(rnd, () => pickFrom(rnd, ['a', 'A', 'ws_', 'b', 'Gam'])),
    min_entities: maybe(rnd, () => String(Math.floor(rnd() * 5))),
    max_entities: maybe(rnd, () => String(2 + Math.floor(rnd() * 5))),
    min_relations: maybe(rnd, () => String(Math.floor(rnd() * 3))),
    max_relations: maybe(rnd, () => String(1 + Math.floor(rnd() * 3))),
    has_documents: maybe(rnd, () => pickFrom(rnd, ['true', 'false'])),
    updated_since: maybe(rnd, () => pickFrom(rnd, stamps)),
    sort: pickFrom(rnd, [
      'name',
      '-name',
      'entity_count',
      '-entity_count',
      'relation_count',
      '-relation_count',
      'updated_at',
      '-updated_at',
    ]),
    limit: String(Math.floor(rnd() * 12)),
    offset: maybe(rnd, () => String(Math.floor(rnd() * 10))),
  };
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
}

for (const backend of STATS_BACKENDS) {
  for (const mode of MODES) {
    describe(`workspace list from statistics on ${backend.label}, ${mode.label}`, () => {
      let db: StatsDatabase;
      let opened: OpenedStats;
      let storage: PostgresStorage;
      let all: WorkspaceSummary[];
      const expected = shapes(seeded(11));

      before(async () => {
        db = await backend.create();
        opened = await openStats(db, mode.env);
        storage = opened.postgres;
        for (const [name, shape] of expected) await write(storage, name, shape);
        await storage.write('cleared', async (w) => {
          await w.upsertEntity({ name: 'gone', properties: {} });
          await w.clear();
        });
        await withClient(db.env, async (client) => {
          // Another program's rows: a workspace of its own, and a name ragspace cannot serve.
          await client.query(`INSERT INTO lightrag_llm_cache (workspace, id) VALUES ('py', 'x')`);
          await client.query(
            `INSERT INTO lightrag_doc_full (workspace, id) VALUES ('bad name', 'x')`,
          );
        });
        const page = await storage.listWorkspaces(
          parseWorkspaceQuery({ limit: String(MAX_LIMIT) }),
        );
        all = page.workspaces;
      });
      after(async () => {
        await opened.close();
        await db.drop();
      });

      it('lists every workspace with counts from what was written', () => {
        const names = [...expected.keys(), 'cleared', 'py'].sort((a, b) => (a < b ? -1 : 1));
        assert.deepEqual(
          all.map((w) => w.name),
          names,
        );
        for (const summary of all) {
          const shape = expected.get(summary.name);
          const counts = shape
            ? [shape.entities, shape.relations, documents(shape), shape.chunks]
            : [0, 0, 0, 0];
          assert.deepEqual(
            [
              summary.entity_count,
              summary.relation_count,
              summary.document_count,
              summary.chunk_count,
            ],
            counts,
            summary.name,
          );
          assert.match(summary.updated_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        }
      });

      it('answers 150 random queries exactly as applyWorkspaceQuery does', async () => {
        const rnd = seeded(23);
        const stamps = all.map((w) => w.updated_at!);
        for (let i = 0; i < 150; i++) {
          const params = randomParams(rnd, stamps);
          const query = parseWorkspaceQuery(params);
          const answer = await storage.listWorkspaces(query);
          assert.deepEqual(answer, applyWorkspaceQuery(all, query), JSON.stringify(params));
        }
      });

      it('pages with cursors under filters exactly as applyWorkspaceQuery does', async () => {
        const rnd = seeded(5);
        const stamps = all.map((w) => w.updated_at!);
        for (let walk = 0; walk < 24; walk++) {
          const params: Record<string, string> = {
            ...randomParams(rnd, stamps),
            limit: String(1 + (walk % 4)),
          };
          delete params.offset;
          let query: WorkspaceQuery = parseWorkspaceQuery(params);
          for (let pages = 0; ; pages++) {
            assert.ok(pages < all.length + 1, 'the cursor walk ends');
            const page = await storage.listWorkspaces(query);
            assert.deepEqual(page, applyWorkspaceQuery(all, query), JSON.stringify(params));
            if (!page.next_cursor) break;
            query = { ...query, cursor: page.next_cursor };
          }
        }
      });

      if (!backend.embedded) {
        // PGlite serves one transaction at a time, so a held lock would stall everything.
        it('never reads the entity or relation tables', { timeout: 60_000 }, async () => {
          const holder = await connectTo(db.env);
          try {
            await holder.query('BEGIN');
            await holder.query(
              'LOCK TABLE ragspace_entities, ragspace_relations IN ACCESS EXCLUSIVE MODE',
            );
            // Reading either table would wait for the lock (and time the test out).
            const query = parseWorkspaceQuery({ q: 'a', min_entities: '1', sort: '-entity_count' });
            assert.deepEqual(await storage.listWorkspaces(query), applyWorkspaceQuery(all, query));
          } finally {
            await holder.query('ROLLBACK');
            await holder.end();
          }
        });
      }
    });
  }
}
