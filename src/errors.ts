/**
 * Every error ragspace reports on purpose. Each has a stable code (for scripts and for
 * LoomGraph), an HTTP status, and a message written for the person who must act on it.
 * Anything thrown that is not a RagspaceError is an internal fault: the HTTP layer answers
 * it with a generic 500 and logs the details, so internals never reach a client.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'AUTH_REQUIRED'
  | 'WORKSPACE_NAME_INVALID'
  | 'WORKSPACE_NOT_FOUND'
  | 'WORKSPACE_CONFLICT'
  | 'WORKSPACE_UNREADABLE'
  | 'WORKSPACE_BUSY'
  | 'BAD_REQUEST'
  | 'BODY_TOO_LARGE'
  | 'NOT_FOUND'
  | 'ENTITY_NOT_FOUND'
  | 'ENTITY_EXISTS'
  | 'RELATION_NOT_FOUND'
  | 'RELATION_EXISTS'
  | 'FILE_CHANGED'
  | 'FILE_CORRUPT'
  | 'EMBEDDING_FAILED'
  | 'EMBEDDING_DIMENSION'
  | 'STORAGE_UNAVAILABLE'
  | 'PGVECTOR_MISSING'
  | 'MIGRATION_REFUSED'
  | 'MIGRATION_LOCKED'
  | 'VERIFY_FAILED';

const HTTP_STATUS: Record<ErrorCode, number> = {
  CONFIG_INVALID: 500,
  AUTH_REQUIRED: 401,
  WORKSPACE_NAME_INVALID: 400,
  WORKSPACE_NOT_FOUND: 404,
  WORKSPACE_CONFLICT: 409,
  WORKSPACE_UNREADABLE: 422,
  WORKSPACE_BUSY: 409,
  BAD_REQUEST: 400,
  BODY_TOO_LARGE: 413,
  NOT_FOUND: 404,
  ENTITY_NOT_FOUND: 404,
  ENTITY_EXISTS: 409,
  RELATION_NOT_FOUND: 404,
  RELATION_EXISTS: 409,
  FILE_CHANGED: 409,
  FILE_CORRUPT: 422,
  EMBEDDING_FAILED: 502,
  EMBEDDING_DIMENSION: 422,
  STORAGE_UNAVAILABLE: 503,
  PGVECTOR_MISSING: 503,
  MIGRATION_REFUSED: 409,
  MIGRATION_LOCKED: 409,
  VERIFY_FAILED: 409,
};

export class RagspaceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Safe, structured facts for the client (file names, ids, offsets); never stack traces. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'RagspaceError';
    this.code = code;
    this.status = HTTP_STATUS[code];
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { error: this.code, message: this.message };
    if (this.details) body.details = this.details;
    return body;
  }
}

export function isRagspaceError(value: unknown): value is RagspaceError {
  return value instanceof RagspaceError;
}

export const errors = {
  configInvalid: (problems: string[]) =>
    new RagspaceError(
      'CONFIG_INVALID',
      `Configuration has ${problems.length} problem(s):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix the environment or .env file and start again.',
      { problems },
    ),

  authRequired: () =>
    new RagspaceError(
      'AUTH_REQUIRED',
      'Missing or wrong API key: send the value of LIGHTRAG_API_KEY in the X-API-Key header.',
    ),

  workspaceNameInvalid: (name: string, reason: string) =>
    new RagspaceError(
      'WORKSPACE_NAME_INVALID',
      `Workspace name ${JSON.stringify(name)} is not allowed: ${reason}. ` +
        'Use 1-64 characters from A-Z, a-z, 0-9, "_" and "-", not starting with "-".',
      { workspace: name },
    ),

  workspaceNotFound: (name: string) =>
    new RagspaceError(
      'WORKSPACE_NOT_FOUND',
      `Workspace "${name}" does not exist. List workspaces with GET /api/workspaces, ` +
        'or write to it to create it.',
      { workspace: name },
    ),

  badRequest: (message: string, details?: Record<string, unknown>) =>
    new RagspaceError('BAD_REQUEST', message, details),

  notFound: (message: string) => new RagspaceError('NOT_FOUND', message),
};
