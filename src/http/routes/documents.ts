import { Hono } from 'hono';
import { errors } from '../../errors.ts';
import { insertCustomKg, parseCustomKg } from '../../graph/custom-kg.ts';
import { nowSeconds } from '../../graph/records.ts';
import type { AppEnv, ServerDeps } from '../context.ts';
import { jsonBody, requestWorkspace } from '../request.ts';

/**
 * Whole-workspace writes: the batch insert LightRAG lacks over HTTP, and clearing a
 * workspace before a full rebuild (LightRAG's DELETE /documents).
 */
export function documentRoutes(deps: ServerDeps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post('/insert_custom_kg', async (c) => {
    const workspace = requestWorkspace(c, deps.config.workspace);
    const now = nowSeconds();
    const kg = parseCustomKg(await jsonBody(c), now);
    const logger = c.get('logger').child({ workspace });
    const result = await deps.storage.write(workspace, (writer) =>
      insertCustomKg({ workspace, writer, embedder: deps.embedder, logger, now }, kg),
    );
    logger.info('graph.custom_kg_inserted', {
      ...result,
      stub_entities: result.stub_entities.length,
    });
    const message =
      `Inserted ${result.chunks} chunk(s), ${result.entities} entity(ies) and ` +
      `${result.relations} relation(s) into workspace "${workspace}".`;
    return c.json({ status: 'success', message, data: result });
  });

  routes.delete('/documents', async (c) => {
    const workspace = requestWorkspace(c, deps.config.workspace);
    if (!(await deps.storage.hasWorkspace(workspace))) throw errors.workspaceNotFound(workspace);
    await deps.storage.write(workspace, (writer) => writer.clear());
    c.get('logger').info('workspace.cleared', { workspace });
    return c.json({
      status: 'success',
      message: `Every store of workspace "${workspace}" was cleared.`,
    });
  });

  return routes;
}
