/**
 * OpenAPI descriptions of the graph and document routes (LightRAG's shapes, plus the
 * workspace header on every route).
 */
const ws = { $ref: '#/components/parameters/Workspace' };
const err = {
  description: 'Error',
  content: { 'application/json': { schema: { type: 'object' } } },
};
const query = (name: string, type: string, required = false, description = '') => ({
  name,
  in: 'query',
  required,
  description,
  schema: { type },
});
const jsonBody = (properties: Record<string, unknown>, required: string[]) => ({
  required: true,
  content: { 'application/json': { schema: { type: 'object', properties, required } } },
});
const ok = (description: string) => ({ 200: { description }, 400: err, 404: err });
const writeResult = { ...ok('{status, message, data}'), 409: err, 413: err, 422: err, 502: err };

const read = (summary: string, parameters: unknown[] = []) => ({
  get: { summary, parameters: [ws, ...parameters], responses: ok(summary) },
});

export const graphOpenApiPaths: Record<string, Record<string, unknown>> = {
  '/graph/label/list': read('All entity names, sorted'),
  '/graph/label/popular': read('Entity names by degree', [
    query('limit', 'integer', false, '1-1000, default 300'),
  ]),
  '/graph/label/search': read('Entity names matching q, ranked', [
    query('q', 'string', true),
    query('limit', 'integer', false, '1-100, default 50'),
  ]),
  '/graphs': read('Subgraph around a label ("*" = whole graph by degree)', [
    query('label', 'string', true),
    query('max_depth', 'integer', false, 'default 3'),
    query('max_nodes', 'integer', false, 'default 1000, capped by MAX_GRAPH_NODES'),
  ]),
  '/graph/entity/exists': read('Whether an entity exists', [query('name', 'string', true)]),
  '/graph/entities/all': read('Every entity with its properties, paged', [
    query('limit', 'integer', false, '1-10000, default 1000'),
    query('offset', 'integer'),
  ]),
  '/graph/relations/all': read('Every relation with its properties, paged', [
    query('limit', 'integer', false, '1-10000, default 1000'),
    query('offset', 'integer'),
  ]),
  '/graph/entity/create': {
    post: {
      summary: 'Create an entity (refused when it exists)',
      parameters: [ws],
      requestBody: jsonBody({ entity_name: { type: 'string' }, entity_data: { type: 'object' } }, [
        'entity_name',
        'entity_data',
      ]),
      responses: writeResult,
    },
  },
  '/graph/entity/edit': {
    post: {
      summary:
        'Edit an entity; rename with allow_rename, merge into an existing one with allow_merge',
      parameters: [ws],
      requestBody: jsonBody(
        {
          entity_name: { type: 'string' },
          updated_data: { type: 'object' },
          allow_rename: { type: 'boolean' },
          allow_merge: { type: 'boolean' },
        },
        ['entity_name', 'updated_data'],
      ),
      responses: writeResult,
    },
  },
  '/graph/entity/delete': {
    delete: {
      summary: 'Delete an entity and its relations',
      parameters: [ws],
      requestBody: jsonBody({ entity_name: { type: 'string' } }, ['entity_name']),
      responses: writeResult,
    },
  },
  '/graph/relation/create': {
    post: {
      summary: 'Create a relation between two existing entities',
      parameters: [ws],
      requestBody: jsonBody(
        {
          source_entity: { type: 'string' },
          target_entity: { type: 'string' },
          relation_data: { type: 'object' },
        },
        ['source_entity', 'target_entity', 'relation_data'],
      ),
      responses: writeResult,
    },
  },
  '/graph/relation/edit': {
    post: {
      summary: 'Edit a relation (source_id and target_id are entity names)',
      parameters: [ws],
      requestBody: jsonBody(
        {
          source_id: { type: 'string' },
          target_id: { type: 'string' },
          updated_data: { type: 'object' },
        },
        ['source_id', 'target_id', 'updated_data'],
      ),
      responses: writeResult,
    },
  },
  '/graph/relation/delete': {
    delete: {
      summary: 'Delete a relation',
      parameters: [ws],
      requestBody: jsonBody(
        { source_entity: { type: 'string' }, target_entity: { type: 'string' } },
        ['source_entity', 'target_entity'],
      ),
      responses: writeResult,
    },
  },
  '/insert_custom_kg': {
    post: {
      summary:
        'Insert chunks, entities and relationships in LightRAG custom-KG format, all or nothing',
      parameters: [ws],
      requestBody: jsonBody(
        {
          chunks: { type: 'array', items: { type: 'object' } },
          entities: { type: 'array', items: { type: 'object' } },
          relationships: { type: 'array', items: { type: 'object' } },
          full_doc_id: { type: 'string' },
          file_path: { type: 'string' },
        },
        [],
      ),
      responses: writeResult,
    },
  },
  '/documents': {
    delete: {
      summary: 'Empty the workspace (every store), before a full rebuild',
      parameters: [ws],
      responses: ok('{status, message}'),
    },
  },
};
