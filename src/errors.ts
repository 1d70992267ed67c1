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
  | 'VALUE_REJECTED'
  | 'SCHEMA_INCOMPATIBLE'
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
  VALUE_REJECTED: 422,
  SCHEMA_INCOMPATIBLE: 503,
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

export const graphErrors = {
  entityExists: (workspace: string, name: string) =>
    new RagspaceError(
      'ENTITY_EXISTS',
      `Entity "${name}" already exists in workspace "${workspace}"; edit it with ` +
        'POST /graph/entity/edit instead.',
      { workspace, entity: name },
    ),

  renameTargetExists: (workspace: string, name: string, target: string) =>
    new RagspaceError(
      'ENTITY_EXISTS',
      `Cannot rename "${name}" to "${target}": "${target}" already exists in workspace ` +
        `"${workspace}". Send "allow_merge": true to merge "${name}" into it.`,
      { workspace, entity: name, target },
    ),

  entityNotFound: (workspace: string, name: string, role = 'Entity') =>
    new RagspaceError(
      'ENTITY_NOT_FOUND',
      `${role} "${name}" does not exist in workspace "${workspace}"; create it first.`,
      { workspace, entity: name },
    ),

  relationExists: (workspace: string, source: string, target: string) =>
    new RagspaceError(
      'RELATION_EXISTS',
      `Relation "${source}" - "${target}" already exists in workspace "${workspace}"; ` +
        'edit it with POST /graph/relation/edit instead.',
      { workspace, source, target },
    ),

  relationNotFound: (workspace: string, source: string, target: string) =>
    new RagspaceError(
      'RELATION_NOT_FOUND',
      `Relation "${source}" - "${target}" does not exist in workspace "${workspace}".`,
      { workspace, source, target },
    ),
};

export const embeddingErrors = {
  failed: (host: string, reason: string) =>
    new RagspaceError(
      'EMBEDDING_FAILED',
      `The embedding service at ${host} failed: ${reason}. Nothing was written; check ` +
        'EMBEDDING_BINDING_HOST and the service, then retry.',
      { host },
    ),

  dimension: (where: string, got: number, expected: number) =>
    new RagspaceError(
      'EMBEDDING_DIMENSION',
      `Embedding dimension ${got} does not match ${where} (${expected}). Nothing was ` +
        'written; set EMBEDDING_DIM and EMBEDDING_MODEL to match the vectors already stored, ' +
        'or re-embed the workspace with `ragspace reembed` after a model change.',
      { got, expected },
    ),
};

export const postgresErrors = {
  unavailable: (target: string, reason: string, attempts: number) =>
    new RagspaceError(
      'STORAGE_UNAVAILABLE',
      `PostgreSQL at ${target} cannot be used: ${reason} (after ${attempts} attempt(s)). ` +
        'Check that the server runs and POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, ' +
        'POSTGRES_PASSWORD, POSTGRES_DATABASE and POSTGRES_SSL_MODE are right, then retry.',
      { target, reason },
    ),

  embeddedBusy: (directory: string, pid: number) =>
    new RagspaceError(
      'STORAGE_UNAVAILABLE',
      `The embedded database in ${directory} is in use by process ${pid}. Only one ` +
        'process can open a PGlite directory: stop that process, or point RAGSPACE_PGLITE_DIR ' +
        'elsewhere, or run a PostgreSQL server for several processes.',
      { directory, pid },
    ),

  pgvectorMissing: (database: string) =>
    new RagspaceError(
      'PGVECTOR_MISSING',
      `LIGHTRAG_VECTOR_STORAGE=PGVectorStorage needs the pgvector extension, but ` +
        `"CREATE EXTENSION vector" failed in database ${database}. Use the ` +
        'pgvector/pgvector:pg17 image, or install the package postgresql-NN-pgvector (NN = ' +
        'the server major version) and let a superuser run CREATE EXTENSION vector; or keep ' +
        'vectors in files with LIGHTRAG_VECTOR_STORAGE=NanoVectorDBStorage.',
      { database },
    ),

  valueRejected: (workspace: string, table: string, record: string, field: string, why: string) =>
    new RagspaceError(
      'VALUE_REJECTED',
      `Record "${record}" of workspace "${workspace}" cannot be stored in ${table}: field ` +
        `"${field}" ${why}. Nothing of this write was stored; fix the record and retry.`,
      { workspace, table, record, field },
    ),

  unstorableText: (workspace: string) =>
    new RagspaceError(
      'VALUE_REJECTED',
      `The request for workspace "${workspace}" holds text PostgreSQL cannot store or look ` +
        'up (a NUL character, U+0000). Nothing was changed; remove the character and retry.',
      { workspace },
    ),

  schemaIncompatible: (table: string, problem: string) =>
    new RagspaceError(
      'SCHEMA_INCOMPATIBLE',
      `Table ${table} exists but ${problem}. ragspace changes no existing column or table; ` +
        'fix the table by hand (or use another database) and start again.',
      { table },
    ),

  schemaNotCreated: (object: string, reason: string) =>
    new RagspaceError(
      'SCHEMA_INCOMPATIBLE',
      `${object} is missing and could not be created: ${reason}. Create it as the table ` +
        'owner (start ragspace once with a role that may), or grant this role CREATE on the ' +
        'schema; `ragspace doctor` shows what is missing.',
      { object },
    ),
};

/** Errors of the file backend (LightRAG's JSON, GraphML and nano-vectordb files). */
export const fileErrors = {
  corrupt: (workspace: string, file: string, reason: string, offset?: number) =>
    new RagspaceError(
      'FILE_CORRUPT',
      `File ${file} of workspace "${workspace}" cannot be read: ${reason}` +
        (offset === undefined ? '' : ` (at byte ${offset})`) +
        '. Nothing was written. Restore the file from a backup, or repair or remove it by ' +
        'hand, then retry.',
      offset === undefined ? { workspace, file, reason } : { workspace, file, reason, offset },
    ),

  busy: (workspace: string, waitedMs: number, holder: string) =>
    new RagspaceError(
      'WORKSPACE_BUSY',
      `Workspace "${workspace}" is being written by ${holder}; gave up after waiting ` +
        `${Math.round(waitedMs / 1000)} s. Nothing was written; retry later.`,
      { workspace, holder },
    ),

  lockLost: (workspace: string) =>
    new RagspaceError(
      'WORKSPACE_BUSY',
      `The write lock of workspace "${workspace}" was taken over while this write was ` +
        'stalled (it looked abandoned). Nothing was written; retry.',
      { workspace },
    ),

  changed: (workspace: string, file: string) =>
    new RagspaceError(
      'FILE_CHANGED',
      `File ${file} of workspace "${workspace}" kept changing while ragspace wrote it ` +
        '(another program that ignores the ragspace lock, such as a running LightRAG ' +
        'server, writes it too). Nothing was written; stop the other writer and retry.',
      { workspace, file },
    ),
};

/** Errors of `ragspace migrate`, `verify`, `rollback` and `export` (src/migrate). */
export const migrationErrors = {
  locked: (workspace: string) =>
    new RagspaceError(
      'MIGRATION_LOCKED',
      `Workspace "${workspace}" is already being migrated, rolled back or exported by another ` +
        'ragspace process (it holds the PostgreSQL advisory lock of this workspace). Nothing ' +
        'was written; wait for that process to finish, then run the command again.',
      { workspace },
    ),

  nothingToMigrate: () =>
    new RagspaceError(
      'MIGRATION_REFUSED',
      'No store is kept in PostgreSQL by this configuration, so there is nowhere to migrate ' +
        'to. Set LIGHTRAG_KV_STORAGE=PGKVStorage, LIGHTRAG_GRAPH_STORAGE=PGGraphStorage, ' +
        'LIGHTRAG_DOC_STATUS_STORAGE=PGDocStatusStorage and/or ' +
        'LIGHTRAG_VECTOR_STORAGE=PGVectorStorage (see docs/operations.md), then retry.',
    ),

  refused: (workspace: string, problems: string[]) =>
    new RagspaceError(
      'MIGRATION_REFUSED',
      `Workspace "${workspace}" was not migrated; nothing was written. The checks found:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix the source files (or the configuration) and run the migration again.',
      { workspace, problems },
    ),

  targetNotEmpty: (workspace: string, rows: Record<string, number>) =>
    new RagspaceError(
      'MIGRATION_REFUSED',
      `Workspace "${workspace}" already has rows in PostgreSQL that no migration wrote (` +
        Object.entries(rows)
          .map(([table, n]) => `${table}: ${n}`)
          .join(', ') +
        '). Nothing was written. Remove them with `ragspace rollback --workspace ' +
        `${workspace}\`, or pass --force to merge the files into them.`,
      { workspace, rows },
    ),

  ambiguousColumn: (column: string, workspaces: string[]) =>
    new RagspaceError(
      'MIGRATION_REFUSED',
      `Workspaces ${workspaces.join(', ')} would all be stored under workspace = '${column}' ` +
        '(POSTGRES_WORKSPACE renames the rows of the workspace named by WORKSPACE). Nothing ' +
        'was written; migrate them in separate runs with a matching POSTGRES_WORKSPACE, or ' +
        'unset it.',
      { column, workspaces },
    ),

  sourceChanged: (workspace: string, files: string[]) =>
    new RagspaceError(
      'FILE_CHANGED',
      `Files of workspace "${workspace}" changed while they were being read ` +
        `(${files.join(', ')}); ` +
        'the copy may mix old and new data and is not reported as migrated. Stop whatever ' +
        'writes them (a running LightRAG server) and run the migration again; it resumes.',
      { workspace, files },
    ),

  verifyFailed: (workspace: string, summary: string) =>
    new RagspaceError(
      'VERIFY_FAILED',
      `Workspace "${workspace}" in PostgreSQL does not match its files: ${summary}. Run ` +
        `\`ragspace verify --workspace ${workspace}\` for every difference. If the files ` +
        'changed since an earlier migration of it, migrating again only adds and merges: ' +
        `roll it back (\`ragspace rollback --workspace ${workspace}\`) and migrate it again.`,
      { workspace },
    ),

  confirmationNeeded: (workspace: string) =>
    new RagspaceError(
      'MIGRATION_REFUSED',
      `Rolling back workspace "${workspace}" deletes its rows from PostgreSQL and needs ` +
        'confirmation: run it in a terminal and answer the question, or pass --yes.',
      { workspace },
    ),

  exportEmpty: (workspace: string, where: string) =>
    new RagspaceError(
      'MIGRATION_REFUSED',
      `Workspace "${workspace}" has no rows in ${where}. Nothing was exported; check the ` +
        'name (`ragspace workspaces` lists them with PostgreSQL storage configured).',
      { workspace },
    ),

  exportTarget: (directory: string, reason: string) =>
    new RagspaceError(
      'MIGRATION_REFUSED',
      `Cannot export into ${directory}: ${reason}. Nothing was written; choose a new or ` +
        'empty directory outside WORKING_DIR for --out.',
      { directory },
    ),
};
