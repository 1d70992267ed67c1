import { Hono } from 'hono';
import type { AppEnv, ServerDeps } from '../context.ts';
import { VERSION } from '../../version.ts';

/** GET /health, shaped like LightRAG's so existing probes keep working. */
export function healthRoutes(deps: ServerDeps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const { config } = deps;

  routes.get('/health', (c) =>
    c.json({
      status: 'healthy',
      working_directory: config.workingDir,
      configuration: {
        kv_storage: config.storage.kv,
        doc_status_storage: config.storage.docStatus,
        graph_storage: config.storage.graph,
        vector_storage: config.storage.vector,
        workspace: config.workspace,
        max_graph_nodes: config.maxGraphNodes,
      },
      auth_mode: config.apiKey ? 'api_key' : 'disabled',
      backend: deps.storage.kind,
      core_version: VERSION,
      api_version: VERSION,
    }),
  );

  return routes;
}
