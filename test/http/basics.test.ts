import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FileStorage } from '../../src/storage/file/index.ts';
import { tempDir, testApp } from '../helpers.ts';

const KEY = 'secret-key-1';

describe('API key (LIGHTRAG_API_KEY)', () => {
  const dir = tempDir();
  const app = testApp(new FileStorage(dir.path), { LIGHTRAG_API_KEY: KEY });
  after(() => dir.cleanup());

  const refused = {
    error: 'AUTH_REQUIRED',
    message:
      'Missing or wrong API key: send the value of LIGHTRAG_API_KEY in the X-API-Key header.',
  };

  it('a request without X-API-Key gets 401 AUTH_REQUIRED as JSON', async () => {
    const response = await app.request('/api/workspaces');
    assert.equal(response.status, 401);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await response.json(), refused);
  });

  it('a wrong key, or one differing only in length, is refused the same way', async () => {
    for (const key of ['secret-key-2', 'secret-key-10', 'secret', '']) {
      const response = await app.request('/api/workspaces', { headers: { 'X-API-Key': key } });
      assert.equal(response.status, 401, `key ${JSON.stringify(key)}`);
      assert.deepEqual(await response.json(), refused);
    }
  });

  it('the right key works, on the list and on a workspace', async () => {
    const headers = { 'X-API-Key': KEY };
    const list = await app.request('/api/workspaces', { headers });
    assert.equal(list.status, 200);
    assert.deepEqual(await list.json(), { workspaces: [], count: 0 });
    const missing = await app.request('/api/workspaces/nope', { headers });
    assert.equal(missing.status, 404);
  });

  it('/health, /docs and /openapi.json stay open', async () => {
    for (const path of ['/health', '/docs', '/openapi.json', '/docs/swagger-ui.css']) {
      const response = await app.request(path);
      assert.equal(response.status, 200, path);
    }
    const health = (await (await app.request('/health')).json()) as Record<string, unknown>;
    assert.equal(health.status, 'healthy');
    assert.equal(health.auth_mode, 'api_key');
  });

  it('a path that only starts like an open one is not open', async () => {
    const response = await app.request('/healthz');
    assert.equal(response.status, 401);
  });
});

describe('without LIGHTRAG_API_KEY', () => {
  const dir = tempDir();
  const app = testApp(new FileStorage(dir.path));
  after(() => dir.cleanup());

  it('every route is open and /health says so', async () => {
    assert.equal((await app.request('/api/workspaces')).status, 200);
    const health = (await (await app.request('/health')).json()) as Record<string, unknown>;
    assert.equal(health.auth_mode, 'disabled');
    assert.equal(health.backend, 'file');
  });

  it('an unknown route is a JSON 404 NOT_FOUND', async () => {
    const response = await app.request('/no/such/route');
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), {
      error: 'NOT_FOUND',
      message: 'No such route; see /docs for the API.',
    });
  });

  it('echoes a sane X-Request-Id and invents one otherwise', async () => {
    const echoed = await app.request('/health', { headers: { 'X-Request-Id': 'req-42' } });
    assert.equal(echoed.headers.get('x-request-id'), 'req-42');
    const invented = await app.request('/health', { headers: { 'X-Request-Id': 'bad id!' } });
    assert.match(invented.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});

/** `/api/workspaces/:name` in Hono's syntax becomes `/api/workspaces/{name}` in OpenAPI's. */
function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)(\{[^}]*\})?/g, '{$1}');
}

describe('API documentation', () => {
  const dir = tempDir();
  const app = testApp(new FileStorage(dir.path));
  after(() => dir.cleanup());

  it('/openapi.json describes every route the app serves', async () => {
    const document = (await (await app.request('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    assert.match(document.openapi, /^3\./);
    const served = app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => `${route.method.toLowerCase()} ${openApiPath(route.path)}`);
    assert.ok(served.includes('get /api/workspaces/{name}'), served.join(', '));
    const undocumented = [...new Set(served)].filter((entry) => {
      const [method, path] = entry.split(' ') as [string, string];
      return document.paths[path]?.[method] === undefined;
    });
    assert.deepEqual(undocumented, []);
  });

  it('/docs is an HTML page loading Swagger UI from this server', async () => {
    const response = await app.request('/docs');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const page = await response.text();
    assert.match(page, /<div id="ui"><\/div>/);
    assert.match(page, /src="\/docs\/swagger-ui-bundle\.js"/);
    assert.match(page, /url: '\/openapi\.json'/);
    const script = await app.request('/docs/swagger-ui-bundle.js');
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-type'), 'application/javascript');
    assert.equal((await app.request('/docs/package.json')).status, 404, 'only known assets');
  });
});
