import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../helpers.ts';
import { call, type App } from '../http/graph-helpers.ts';
import { postgresBackends } from './helpers.ts';

/**
 * B05 over HTTP: a NUL in a name, label or search reaches PostgreSQL only as a parameter
 * it refuses. Each such request is a 422 VALUE_REJECTED naming the workspace, never a
 * 500, and nothing is written.
 */
const REJECTED = {
  error: 'VALUE_REJECTED',
  message:
    'The request for workspace "nul" holds text PostgreSQL cannot store or look up (a NUL ' +
    'character, U+0000). Nothing was changed; remove the character and retry.',
};

for (const backend of postgresBackends()) {
  describe(`a NUL in a request on ${backend.label}`, () => {
    let app: App;
    let cleanup: () => Promise<void>;

    before(async () => {
      const opened = await backend.open();
      cleanup = opened.cleanup;
      app = testApp(opened.storage);
      const body = { entity_name: 'Known', entity_data: { description: 'd', entity_type: 't' } };
      const created = await call(app, 'POST', '/graph/entity/create', { workspace: 'nul', body });
      assert.equal(created.status, 200, created.text);
    });
    after(() => cleanup());

    const rejected = (response: { status: number; json: unknown; text: string }) => {
      assert.equal(response.status, 422, response.text);
      assert.deepEqual(
        {
          error: (response.json as { error: string }).error,
          message: (response.json as { message: string }).message,
        },
        REJECTED,
      );
    };

    it('in reads: exists, label search, graphs', async () => {
      for (const path of [
        '/graph/entity/exists?name=a%00b',
        '/graph/label/search?q=%00',
        '/graphs?label=a%00',
      ]) {
        rejected(await call(app, 'GET', path, { workspace: 'nul' }));
      }
    });

    it('in writes: create, rename, delete; nothing changes', async () => {
      const data = { description: 'd', entity_type: 't' };
      rejected(
        await call(app, 'POST', '/graph/entity/create', {
          workspace: 'nul',
          body: { entity_name: 'Nul\u0000', entity_data: data },
        }),
      );
      rejected(
        await call(app, 'POST', '/graph/entity/edit', {
          workspace: 'nul',
          body: {
            entity_name: 'Known',
            updated_data: { entity_name: 'T\u0000' },
            allow_rename: true,
          },
        }),
      );
      rejected(
        await call(app, 'DELETE', '/graph/entity/delete', {
          workspace: 'nul',
          body: { entity_name: 'Kn\u0000own' },
        }),
      );
      const labels = await call(app, 'GET', '/graph/label/list', { workspace: 'nul' });
      assert.deepEqual(labels.json, ['Known']);
    });
  });
}
