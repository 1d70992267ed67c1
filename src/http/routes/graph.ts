import { Hono, type Context } from 'hono';
import { errors } from '../../errors.ts';
import type { GraphContext } from '../../graph/context.ts';
import { createEntity, deleteEntity, editEntity } from '../../graph/entities.ts';
import { nowSeconds } from '../../graph/records.ts';
import { createRelation, deleteRelation, editRelation } from '../../graph/relations.ts';
import { optionalFlag, requireName, requireObject } from '../../graph/validate.ts';
import type { WorkspaceReader } from '../../storage/types.ts';
import type { AppEnv, ServerDeps } from '../context.ts';
import { intParam, jsonBody, requestWorkspace, requiredParam } from '../request.ts';

/**
 * LightRAG's graph routes, for the workspace each request names. Reads of an unknown
 * workspace are 404s; writes create it.
 */
type Ctx = Context<AppEnv>;

export const MAX_PAGE = 10_000;

export function graphRoutes(deps: ServerDeps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const workspaceOf = (c: Ctx) => requestWorkspace(c, deps.config.workspace);

  const read = <T>(c: Ctx, fn: (reader: WorkspaceReader) => Promise<T>) =>
    deps.storage.read(workspaceOf(c), fn);

  // Only creating writes may bring a workspace into being; an edit or delete aimed at a
  // workspace that does not exist is a 404, not a new empty directory.
  const write: Writer = async (c, fn, mode = 'existing') => {
    const workspace = workspaceOf(c);
    if (mode === 'existing' && !(await deps.storage.hasWorkspace(workspace))) {
      throw errors.workspaceNotFound(workspace);
    }
    const logger = c.get('logger').child({ workspace });
    return deps.storage.write(workspace, (writer) =>
      fn({ workspace, writer, embedder: deps.embedder, logger, now: nowSeconds() }),
    );
  };

  registerReads(routes, deps, read);
  registerEntityWrites(routes, write);
  registerRelationWrites(routes, write);
  return routes;
}

type Reader = <T>(c: Ctx, fn: (reader: WorkspaceReader) => Promise<T>) => Promise<T>;
export type Writer = <T>(
  c: Ctx,
  fn: (ctx: GraphContext) => Promise<T>,
  mode?: 'existing' | 'create',
) => Promise<T>;

function registerReads(routes: Hono<AppEnv>, deps: ServerDeps, read: Reader): void {
  routes.get('/graph/label/list', async (c) => c.json(await read(c, (r) => r.entityNames())));

  routes.get('/graph/label/popular', async (c) => {
    const limit = intParam(c, 'limit', 300, 1, 1000);
    return c.json(await read(c, (r) => r.popularLabels(limit)));
  });

  routes.get('/graph/label/search', async (c) => {
    const q = requiredParam(c, 'q');
    const limit = intParam(c, 'limit', 50, 1, 100);
    return c.json(await read(c, (r) => r.searchLabels(q, limit)));
  });

  routes.get('/graphs', async (c) => {
    const label = requiredParam(c, 'label');
    const depth = intParam(c, 'max_depth', 3, 1, 1000);
    const cap = deps.config.maxGraphNodes;
    const nodes = Math.min(intParam(c, 'max_nodes', 1000, 1, Number.MAX_SAFE_INTEGER), cap);
    return c.json(await read(c, (r) => r.knowledgeGraph(label, depth, nodes)));
  });

  routes.get('/graph/entity/exists', async (c) => {
    const name = requiredParam(c, 'name');
    return c.json({ exists: (await read(c, (r) => r.getEntity(name))) !== undefined });
  });

  registerListings(routes, read);
}

function registerListings(routes: Hono<AppEnv>, read: Reader): void {
  routes.get('/graph/entities/all', async (c) => {
    const limit = intParam(c, 'limit', 1000, 1, MAX_PAGE);
    const offset = intParam(c, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const page = await read(c, (r) => r.entities(offset, limit));
    const entities = page.items.map((e) => ({ entity_name: e.name, properties: e.properties }));
    return c.json({ entities, total: page.total, limit, offset });
  });

  routes.get('/graph/relations/all', async (c) => {
    const limit = intParam(c, 'limit', 1000, 1, MAX_PAGE);
    const offset = intParam(c, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const page = await read(c, (r) => r.relations(offset, limit));
    const relations = page.items.map((r) => ({
      src_id: r.source,
      tgt_id: r.target,
      properties: r.properties,
    }));
    return c.json({ relations, total: page.total, limit, offset });
  });
}

function registerEntityWrites(routes: Hono<AppEnv>, write: Writer): void {
  routes.post('/graph/entity/create', async (c) => {
    const body = await jsonBody(c);
    const name = requireName(body.entity_name, 'entity_name');
    const data = requireObject(body.entity_data, 'entity_data');
    const info = await write(c, (ctx) => createEntity(ctx, name, data), 'create');
    return c.json({ status: 'success', message: `Entity "${name}" created.`, data: info });
  });

  routes.post('/graph/entity/edit', async (c) => {
    const body = await jsonBody(c);
    const name = requireName(body.entity_name, 'entity_name');
    const updated = requireObject(body.updated_data, 'updated_data');
    const options = {
      allowRename: optionalFlag(body, 'allow_rename'),
      allowMerge: optionalFlag(body, 'allow_merge'),
    };
    const outcome = await write(c, (ctx) => editEntity(ctx, name, updated, options));
    const message = `Entity "${name}" updated.`;
    return c.json({
      status: 'success',
      message,
      data: outcome.info,
      operation_summary: outcome.summary,
    });
  });

  routes.delete('/graph/entity/delete', async (c) => {
    const body = await jsonBody(c);
    const name = requireName(body.entity_name, 'entity_name');
    const result = await write(c, (ctx) => deleteEntity(ctx, name));
    return c.json(result, result.status_code as 200);
  });
}

function registerRelationWrites(routes: Hono<AppEnv>, write: Writer): void {
  routes.post('/graph/relation/create', async (c) => {
    const body = await jsonBody(c);
    const source = requireName(body.source_entity, 'source_entity');
    const target = requireName(body.target_entity, 'target_entity');
    const data = requireObject(body.relation_data, 'relation_data');
    const info = await write(c, (ctx) => createRelation(ctx, source, target, data));
    const message = `Relation "${source}" - "${target}" created.`;
    return c.json({ status: 'success', message, data: info });
  });

  routes.post('/graph/relation/edit', async (c) => {
    const body = await jsonBody(c);
    const source = requireName(body.source_id, 'source_id');
    const target = requireName(body.target_id, 'target_id');
    const updated = requireObject(body.updated_data, 'updated_data');
    const info = await write(c, (ctx) => editRelation(ctx, source, target, updated));
    const message = `Relation "${source}" - "${target}" updated.`;
    return c.json({ status: 'success', message, data: info });
  });

  routes.delete('/graph/relation/delete', async (c) => {
    const body = await jsonBody(c);
    const source = requireName(body.source_entity, 'source_entity');
    const target = requireName(body.target_entity, 'target_entity');
    const result = await write(c, (ctx) => deleteRelation(ctx, source, target));
    return c.json(result, result.status_code as 200);
  });
}
