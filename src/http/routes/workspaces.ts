import { Hono } from 'hono';
import { workspaceName } from '../../workspace/name.ts';
import { clientPage, parseWorkspaceQuery } from '../../workspace/query.ts';
import type { AppEnv, ServerDeps } from '../context.ts';

/** GET /api/workspaces and GET /api/workspaces/{name}: ragspace's workspace list. */
export function workspaceRoutes(deps: ServerDeps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get('/api/workspaces', async (c) => {
    const query = parseWorkspaceQuery(c.req.query());
    return c.json(clientPage(await deps.storage.listWorkspaces(query)));
  });

  routes.get('/api/workspaces/:name', async (c) => {
    const name = workspaceName(c.req.param('name'));
    return c.json(await deps.storage.describeWorkspace(name));
  });

  return routes;
}
