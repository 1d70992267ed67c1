import { VERSION } from '../version.ts';
import { graphOpenApiPaths } from './openapi-graph.ts';

/**
 * The OpenAPI description served at /openapi.json and rendered at /docs. Written by hand
 * next to the routes; a test checks that every served route is described here.
 */
const workspaceHeader = {
  name: 'LIGHTRAG-WORKSPACE',
  in: 'header',
  required: false,
  description: 'Workspace to use; defaults to the server WORKSPACE ("default" when empty).',
  schema: { type: 'string' },
};

const errorResponse = {
  description: 'Error',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          error: { type: 'string', description: 'Stable error code' },
          message: { type: 'string' },
          details: { type: 'object' },
        },
      },
    },
  },
};

const problem = {
  type: 'object',
  properties: {
    file: { type: 'string' },
    record: { type: 'string' },
    reason: { type: 'string' },
    offset: { type: 'integer', description: 'Byte offset in the file, where known' },
  },
};

const workspaceSummary = {
  type: 'object',
  required: ['name', 'entity_count', 'relation_count', 'document_count', 'chunk_count'],
  properties: {
    name: { type: 'string' },
    entity_count: { type: 'integer' },
    relation_count: { type: 'integer' },
    document_count: { type: 'integer' },
    chunk_count: { type: 'integer' },
    updated_at: { type: 'string', format: 'date-time', nullable: true },
    errors: { type: 'array', items: problem },
  },
};

const intParam = (name: string, description: string) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type: 'integer', minimum: 0 },
});

const listParameters = [
  {
    name: 'q',
    in: 'query',
    description: 'Case-insensitive substring of the name',
    schema: { type: 'string' },
  },
  {
    name: 'prefix',
    in: 'query',
    description: 'Name prefix (case-sensitive)',
    schema: { type: 'string' },
  },
  intParam('min_entities', 'At least this many entities'),
  intParam('max_entities', 'At most this many entities'),
  intParam('min_relations', 'At least this many relations'),
  intParam('max_relations', 'At most this many relations'),
  { name: 'has_documents', in: 'query', schema: { type: 'boolean' } },
  { name: 'updated_since', in: 'query', schema: { type: 'string', format: 'date-time' } },
  {
    name: 'sort',
    in: 'query',
    description: 'name, entity_count, relation_count or updated_at; "-" prefix for descending',
    schema: { type: 'string', default: 'name' },
  },
  intParam('limit', 'Page size (default 100, at most 10000)'),
  intParam('offset', 'Rows to skip'),
  {
    name: 'cursor',
    in: 'query',
    description: 'next_cursor of the previous page',
    schema: { type: 'string' },
  },
];

export const openApiPaths: Record<string, Record<string, unknown>> = {
  '/health': {
    get: { summary: 'Server status and configuration', responses: { 200: { description: 'OK' } } },
  },
  '/api/workspaces': {
    get: {
      summary: 'List workspaces with statistics',
      parameters: listParameters,
      responses: {
        200: {
          description: 'One page of workspaces; count is the number matching before paging',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  workspaces: { type: 'array', items: workspaceSummary },
                  count: { type: 'integer' },
                  next_cursor: { type: 'string', nullable: true },
                },
              },
            },
          },
        },
        400: errorResponse,
        401: errorResponse,
      },
    },
  },
  '/api/workspaces/{name}': {
    get: {
      summary: 'One workspace: statistics, files, stores and problems found',
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        200: { description: 'Workspace detail' },
        400: errorResponse,
        404: errorResponse,
      },
    },
  },
};

export function openApiDocument(extraPaths: Record<string, Record<string, unknown>> = {}) {
  return {
    openapi: '3.0.3',
    info: {
      title: 'ragspace',
      version: VERSION,
      description: 'LightRAG-compatible graph API for many workspaces, with a workspace list.',
    },
    components: {
      securitySchemes: { ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
      parameters: { Workspace: workspaceHeader },
    },
    security: [{ ApiKey: [] }],
    paths: { ...openApiPaths, ...graphOpenApiPaths, ...extraPaths },
  };
}
