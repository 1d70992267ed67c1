import { Hono } from 'hono';
import { errors } from '../errors.ts';
import type { AppEnv, ServerDeps } from './context.ts';
import { apiKeyAuth, handleError, requestLogging } from './middleware.ts';
import { docsRoutes } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { workspaceRoutes } from './routes/workspaces.ts';

/** Paths that stay open when an API key is set, as in LightRAG. */
const OPEN_PATHS = ['/health', '/docs', '/openapi.json'];

export function createApp(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestLogging(deps.logger));
  app.use('*', apiKeyAuth(deps.config.apiKey, OPEN_PATHS));
  app.route('/', healthRoutes(deps));
  app.route('/', docsRoutes());
  app.route('/', workspaceRoutes(deps));
  app.notFound((c) =>
    c.json(errors.notFound('No such route; see /docs for the API.').toJSON(), 404),
  );
  app.onError(handleError);
  return app;
}
