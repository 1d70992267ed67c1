import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpBackends, type OpenedBackend } from '../support/backends.ts';
import { testApp } from '../helpers.ts';
import { call, entity, relation, seed, type App } from './graph-helpers.ts';

type Json = Record<string, unknown>;

for (const backend of httpBackends()) {
  describe(`graph routes on ${backend.label} storage`, () => {
    let opened: OpenedBackend;
    let app: App;

    before(async () => {
      opened = await backend.open();
      app = testApp(opened.storage, { MAX_GRAPH_NODES: '3' });
      await seed(app, 'alpha', 'alpha');
      await seed(app, 'bravo', 'bravo');
    });

    after(async () => opened.cleanup());

    describe('workspace per request', () => {
      const reads = [
        '/graph/label/list',
        '/graph/label/popular',
        '/graph/label/search?q=a',
        '/graphs?label=Acme',
        '/graphs?label=*',
        '/graph/entity/exists?name=Acme',
        '/graph/entities/all',
        '/graph/relations/all',
      ];

      for (const path of reads) {
        it(`${path} answers only for the named workspace`, async () => {
          for (const [mine, other] of [
            ['alpha', 'bravo'],
            ['bravo', 'alpha'],
          ]) {
            const response = await call(app, 'GET', path, { workspace: mine });
            assert.equal(response.status, 200, response.text);
            assert.ok(!response.text.includes(`of ${other}`), `${path} leaked ${other}`);
            assert.ok(!response.text.includes(`in ${other}`), `${path} leaked ${other}`);
          }
        });
      }

      it('entity data comes from the named workspace', async () => {
        const a = await call(app, 'GET', '/graphs?label=Acme&max_depth=1', { workspace: 'alpha' });
        const nodes = (a.json as { nodes: { id: string; properties: Json }[] }).nodes;
        const acme = nodes.find((n) => n.id === 'Acme');
        assert.equal(acme?.properties.description, 'Acme of alpha');
      });

      it('a read of an unknown workspace is a 404 naming it', async () => {
        const response = await call(app, 'GET', '/graph/label/list', { workspace: 'nosuch' });
        assert.equal(response.status, 404);
        assert.equal((response.json as Json).error, 'WORKSPACE_NOT_FOUND');
        assert.match((response.json as Json).message as string, /"nosuch"/);
      });

      it('an invalid workspace header is refused', async () => {
        const response = await call(app, 'GET', '/graph/label/list', { workspace: '../etc' });
        assert.equal(response.status, 400);
        assert.equal((response.json as Json).error, 'WORKSPACE_NAME_INVALID');
      });

      it('writes to a new valid name create the workspace', async () => {
        const created = await call(app, 'POST', '/graph/entity/create', {
          workspace: 'charlie',
          body: entity('Solo', 'alone'),
        });
        assert.equal(created.status, 200, created.text);
        const list = await call(app, 'GET', '/graph/label/list', { workspace: 'charlie' });
        assert.deepEqual(list.json, ['Solo']);
      });
    });

    describe('reads', () => {
      it('label list is sorted and popular labels follow degree', async () => {
        const list = await call(app, 'GET', '/graph/label/list', { workspace: 'alpha' });
        assert.deepEqual(list.json, ['Acme', 'Beta', 'Delta', 'Gamma']);
        const popular = await call(app, 'GET', '/graph/label/popular?limit=2', {
          workspace: 'alpha',
        });
        assert.deepEqual(popular.json, ['Acme', 'Beta']);
      });

      it('label search ranks exact, then prefix, then substring', async () => {
        const ws = 'search';
        for (const name of ['Kowal', 'Kowalczyk Marta', 'Marta Kowalczyk', 'Jan_Kowal']) {
          await call(app, 'POST', '/graph/entity/create', {
            workspace: ws,
            body: entity(name, 'x'),
          });
        }
        const found = await call(app, 'GET', '/graph/label/search?q=kowal', { workspace: ws });
        assert.deepEqual(found.json, ['Kowal', 'Kowalczyk Marta', 'Jan_Kowal', 'Marta Kowalczyk']);
      });

      it('/graphs caps max_nodes by MAX_GRAPH_NODES and flags truncation exactly', async () => {
        const whole = await call(app, 'GET', '/graphs?label=*&max_nodes=100', {
          workspace: 'alpha',
        });
        const graph = whole.json as {
          nodes: { id: string }[];
          edges: Json[];
          is_truncated: boolean;
        };
        assert.equal(graph.nodes.length, 3);
        assert.equal(graph.is_truncated, true);
        assert.deepEqual(graph.nodes.map((n) => n.id).sort(), ['Acme', 'Beta', 'Gamma']);
        assert.equal(graph.edges.length, 3);
        const edge = graph.edges.find((e) => e.id === 'Acme-Beta');
        assert.equal(edge?.type, 'DIRECTED');
        const small = await call(app, 'GET', '/graphs?label=Beta&max_depth=1', {
          workspace: 'alpha',
        });
        assert.equal((small.json as { is_truncated: boolean }).is_truncated, false);
      });

      it('entity exists, and the paged listings report totals', async () => {
        const yes = await call(app, 'GET', '/graph/entity/exists?name=Beta', {
          workspace: 'alpha',
        });
        assert.deepEqual(yes.json, { exists: true });
        const no = await call(app, 'GET', '/graph/entity/exists?name=Nope', { workspace: 'alpha' });
        assert.deepEqual(no.json, { exists: false });
        const page = await call(app, 'GET', '/graph/entities/all?limit=2&offset=1', {
          workspace: 'alpha',
        });
        const body = page.json as { entities: { entity_name: string }[]; total: number };
        assert.equal(body.total, 4);
        assert.deepEqual(
          body.entities.map((e) => e.entity_name),
          ['Beta', 'Delta'],
        );
        const rels = await call(app, 'GET', '/graph/relations/all?limit=1', { workspace: 'alpha' });
        assert.equal((rels.json as { total: number }).total, 3);
      });

      it('bad query parameters are 400s', async () => {
        const response = await call(app, 'GET', '/graph/label/popular?limit=0', {
          workspace: 'alpha',
        });
        assert.equal(response.status, 400);
        assert.equal(
          (response.json as Json).message,
          'Query parameter limit=0 must be a whole number from 1 to 1000.',
        );
        const missing = await call(app, 'GET', '/graphs', { workspace: 'alpha' });
        assert.equal((missing.json as Json).message, 'Query parameter "label" is required.');
      });
    });

    describe('writes', () => {
      const ws = 'writes';
      const post = (path: string, body: unknown) =>
        call(app, 'POST', path, { workspace: ws, body });
      const names = async () =>
        (await call(app, 'GET', '/graph/label/list', { workspace: ws })).json;

      it('refuses duplicates, missing endpoints, self-loops, bad input', async () => {
        assert.equal((await post('/graph/entity/create', entity('A', 'first'))).status, 200);
        assert.equal((await post('/graph/entity/create', entity('B', 'second'))).status, 200);
        const dup = await post('/graph/entity/create', entity('A', 'again'));
        assert.equal(dup.status, 409);
        assert.equal((dup.json as Json).error, 'ENTITY_EXISTS');
        const empty = await post('/graph/entity/create', entity('C', '  '));
        assert.equal(empty.status, 400);
        assert.equal(
          (empty.json as Json).message,
          'Field "entity_data.description" must be a non-empty description.',
        );
        const missing = await post('/graph/relation/create', relation('A', 'Zed', 'x'));
        assert.equal(missing.status, 404);
        assert.match(
          (missing.json as Json).message as string,
          /^Target entity "Zed" does not exist/,
        );
        assert.equal((await post('/graph/relation/create', relation('A', 'B', 'ab'))).status, 200);
        const reversed = await post('/graph/relation/create', relation('B', 'A', 'ba'));
        assert.equal(reversed.status, 409);
        const loop = await post('/graph/relation/create', relation('A', 'A', 'aa'));
        assert.equal(loop.status, 400);
        const malformed = await call(app, 'POST', '/graph/entity/create', {
          workspace: ws,
          raw: '{"a":',
        });
        assert.equal(malformed.status, 400);
        assert.match(
          (malformed.json as Json).message as string,
          /^The request body is not valid JSON/,
        );
        assert.deepEqual(await names(), ['A', 'B']);
        const graph = await call(app, 'GET', '/graphs?label=*', { workspace: ws });
        assert.equal((graph.json as { edges: Json[] }).edges.length, 1);
      });

      it('edits, renames (moving relations) and merges entities', async () => {
        const edit = await post('/graph/entity/edit', {
          entity_name: 'A',
          updated_data: { description: 'changed' },
        });
        assert.equal(edit.status, 200, edit.text);
        assert.equal(
          ((edit.json as Json).data as Json & { graph_data: Json }).graph_data.description,
          'changed',
        );
        const refused = await post('/graph/entity/edit', {
          entity_name: 'A',
          updated_data: { entity_name: 'A2' },
        });
        assert.equal(refused.status, 400);
        const renamed = await post('/graph/entity/edit', {
          entity_name: 'A',
          updated_data: { entity_name: 'A2' },
          allow_rename: true,
        });
        assert.equal(renamed.status, 200, renamed.text);
        assert.equal(((renamed.json as Json).operation_summary as Json).renamed, true);
        assert.deepEqual(await names(), ['A2', 'B']);
        const rel = await call(app, 'GET', '/graph/relations/all', { workspace: ws });
        const first = (rel.json as { relations: Json[] }).relations[0];
        assert.deepEqual([first?.src_id, first?.tgt_id], ['A2', 'B']);
        await post('/graph/entity/create', entity('C', 'third'));
        const unmerged = await post('/graph/entity/edit', {
          entity_name: 'C',
          updated_data: { entity_name: 'B' },
          allow_rename: true,
        });
        assert.equal(unmerged.status, 409, unmerged.text);
        assert.equal(
          (unmerged.json as Json).message,
          `Cannot rename "C" to "B": "B" already exists in workspace "${ws}". Send ` +
            '"allow_merge": true to merge "C" into it.',
        );
        const merged = await post('/graph/entity/edit', {
          entity_name: 'C',
          updated_data: { entity_name: 'B' },
          allow_rename: true,
          allow_merge: true,
        });
        assert.equal(merged.status, 200, merged.text);
        assert.equal(((merged.json as Json).operation_summary as Json).merged, true);
        assert.deepEqual(await names(), ['A2', 'B']);
      });

      it('edits and deletes relations; deleting an entity removes its relations', async () => {
        const edit = await post('/graph/relation/edit', {
          source_id: 'B',
          target_id: 'A2',
          updated_data: { description: 'edited', weight: 5 },
        });
        assert.equal(edit.status, 200, edit.text);
        const graphData = ((edit.json as Json).data as { graph_data: Json }).graph_data;
        assert.equal(graphData.description, 'edited');
        assert.equal(graphData.weight, 5);
        const del = await call(app, 'DELETE', '/graph/entity/delete', {
          workspace: ws,
          body: { entity_name: 'A2' },
        });
        assert.equal(del.status, 200);
        assert.equal((del.json as Json).status, 'success');
        const rels = await call(app, 'GET', '/graph/relations/all', { workspace: ws });
        assert.equal((rels.json as { total: number }).total, 0);
        const gone = await call(app, 'DELETE', '/graph/relation/delete', {
          workspace: ws,
          body: { source_entity: 'A2', target_entity: 'B' },
        });
        assert.equal(gone.status, 404);
        assert.equal((gone.json as Json).status, 'not_found');
      });

      it('insert_custom_kg applies everything or nothing, with stub endpoints', async () => {
        const kgws = 'kg';
        const bad = await call(app, 'POST', '/insert_custom_kg', {
          workspace: kgws,
          body: {
            entities: [{ entity_name: 'X', description: 'x' }],
            relationships: [{ src_id: 'X', tgt_id: 'X', description: 'loop', keywords: '' }],
          },
        });
        assert.equal(bad.status, 400);
        const none = await call(app, 'GET', '/graph/label/list', { workspace: kgws });
        assert.equal(none.status, 404);
        const good = await call(app, 'POST', '/insert_custom_kg', {
          workspace: kgws,
          body: {
            chunks: [{ content: 'Some text about X.', source_id: 'doc-1' }],
            entities: [{ entity_name: 'X', description: 'x', source_id: 'doc-1' }],
            relationships: [
              {
                src_id: 'X',
                tgt_id: 'Y',
                description: 'x to y',
                keywords: 'k',
                source_id: 'doc-1',
              },
            ],
          },
        });
        assert.equal(good.status, 200, good.text);
        assert.deepEqual(((good.json as Json).data as Json).stub_entities, ['Y']);
        const graph = await call(app, 'GET', '/graphs?label=X', { workspace: kgws });
        const nodes = (graph.json as { nodes: { id: string; properties: Json }[] }).nodes;
        const y = nodes.find((n) => n.id === 'Y');
        assert.equal(y?.properties.entity_type, 'UNKNOWN');
        const x = nodes.find((n) => n.id === 'X');
        assert.match(String(x?.properties.source_id), /^chunk-[0-9a-f]{32}$/);
      });

      it('DELETE /documents empties the workspace', async () => {
        const cleared = await call(app, 'DELETE', '/documents', { workspace: 'kg' });
        assert.equal(cleared.status, 200, cleared.text);
        const list = await call(app, 'GET', '/graph/label/list', { workspace: 'kg' });
        assert.ok(list.status === 404 || JSON.stringify(list.json) === '[]', list.text);
        const unknown = await call(app, 'DELETE', '/documents', { workspace: 'neverthere' });
        assert.equal(unknown.status, 404);
      });
    });
  });
}

describe('request limits', () => {
  it('an oversized body is a 413 and changes nothing', async () => {
    const opened = await httpBackends()[0]!.open();
    const app = testApp(opened.storage, { RAGSPACE_MAX_BODY_MB: '1' });
    const huge = 'x'.repeat(1024 * 1024 + 10);
    const response = await call(app, 'POST', '/graph/entity/create', {
      workspace: 'big',
      body: entity('Big', huge),
    });
    assert.equal(response.status, 413);
    assert.equal((response.json as Json).error, 'BODY_TOO_LARGE');
    assert.equal(await opened.storage.hasWorkspace('big'), false);
    await opened.cleanup();
  });
});
