import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { errors, isRagspaceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AppEnv } from './context.ts';

/** Tags each request with an id (the caller's X-Request-Id if sane) and logs its outcome. */
export function requestLogging(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const offered = c.req.header('x-request-id');
    const requestId = offered && /^[\w.-]{1,64}$/.test(offered) ? offered : randomUUID();
    const workspace = c.req.header('lightrag-workspace');
    const child = logger.child({ request_id: requestId, ...(workspace ? { workspace } : {}) });
    c.set('requestId', requestId);
    c.set('logger', child);
    const started = performance.now();
    await next();
    c.header('X-Request-Id', requestId);
    child.info('http.request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}

function sameSecret(offered: string, expected: string): boolean {
  const a = Buffer.from(offered);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Requires X-API-Key when LIGHTRAG_API_KEY is set; health and docs stay open like LightRAG. */
export function apiKeyAuth(apiKey: string | undefined, open: string[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!apiKey || open.some((path) => c.req.path === path || c.req.path.startsWith(path + '/'))) {
      return next();
    }
    const offered = c.req.header('x-api-key');
    if (offered === undefined || !sameSecret(offered, apiKey)) throw errors.authRequired();
    return next();
  };
}

/** Turns errors into JSON; anything unexpected becomes a bare 500 and a log line. */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (isRagspaceError(error)) {
    return c.json(error.toJSON(), error.status as 400);
  }
  c.get('logger')?.error('http.internal_error', { message: error.message, stack: error.stack });
  const requestId = c.get('requestId');
  return c.json(
    {
      error: 'INTERNAL',
      message: `Internal error; quote request id ${requestId} when reporting it.`,
    },
    500,
  );
}
