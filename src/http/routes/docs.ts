import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';
import { openApiDocument } from '../openapi.ts';

/**
 * /openapi.json and /docs. Swagger UI is served from the installed package, not a CDN,
 * so the docs work on machines without internet access.
 */
const require = createRequire(import.meta.url);
const uiDir = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'application/javascript',
};

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>ragspace API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script>
</body></html>`;

/** The documentation routes describe themselves, so /openapi.json lists every route. */
const html = (summary: string) => ({
  summary,
  security: [],
  responses: { 200: { description: 'HTML', content: { 'text/html': {} } } },
});

const docsPaths: Record<string, Record<string, unknown>> = {
  '/openapi.json': {
    get: {
      summary: 'This API description (OpenAPI 3)',
      security: [],
      responses: { 200: { description: 'OpenAPI document' } },
    },
  },
  '/docs': { get: html('Interactive API documentation (Swagger UI)') },
  '/docs/{asset}': {
    get: {
      summary: 'Swagger UI assets served from the installed package',
      security: [],
      parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        200: { description: 'CSS or JavaScript' },
        404: { description: 'No such asset' },
      },
    },
  },
};

export function docsRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const cache = new Map<string, Buffer>();

  routes.get('/openapi.json', (c) => c.json(openApiDocument(docsPaths)));
  routes.get('/docs', (c) => c.html(PAGE));
  routes.get('/docs/:asset', (c) => {
    const asset = c.req.param('asset');
    const type = ASSETS[asset];
    if (!type) return c.notFound();
    if (!cache.has(asset)) cache.set(asset, readFileSync(join(uiDir, asset)));
    return c.body(new Uint8Array(cache.get(asset) as Buffer), 200, { 'content-type': type });
  });

  return routes;
}
