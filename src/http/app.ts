import { Hono } from 'hono';
import { errors, RagspaceError } from '../errors.ts';
import type { AppEnv, ServerDeps } from './context.ts';
import { apiKeyAuth, handleError, requestLogging } from './middleware.ts';
import { bodyLimit } from 'hono/body-limit';
import { docsRoutes } from './routes/docs.ts';
import { documentRoutes } from './routes/documents.ts';
import { graphRoutes } from './routes/graph.ts';
import { healthRoutes } from './routes/health.ts';
import { workspaceRoutes } from './routes/workspaces.ts';

/** Paths that stay open when an API key is set, as in LightRAG. */
const OPEN_PATHS = ['/health', '/docs', '/openapi.json'];

function tooLarge(deps: ServerDeps) {
  return (): never => {
    const limit = Math.round(deps.config.maxBodyBytes / (1024 * 1024));
    throw new RagspaceError(
      'BODY_TOO_LARGE',
      `The request body is larger than ${limit} MB; send smaller batches or raise ` +
        'RAGSPACE_MAX_BODY_MB.',
    );
  };
}

export function createApp(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestLogging(deps.logger));
  app.use('*', apiKeyAuth(deps.config.apiKey, OPEN_PATHS));
  app.use('*', bodyLimit({ maxSize: deps.config.maxBodyBytes, onError: tooLarge(deps) }));
  app.route('/', healthRoutes(deps));
  app.route('/', docsRoutes());
  app.route('/', workspaceRoutes(deps));
  app.route('/', graphRoutes(deps));
  app.route('/', documentRoutes(deps));
  app.notFound((c) =>
    c.json(errors.notFound('No such route; see /docs for the API.').toJSON(), 404),
  );
  app.onError(handleError);
  return app;
}
