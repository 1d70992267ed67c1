import type pg from 'pg';
import type { Logger } from '../../log.ts';
import type { SchemaState, StoreSet } from './schema.ts';
import type { TextPolicy } from './text.ts';

/**
 * What one read or write of one workspace works with: its client (inside the
 * transaction), the workspace as stored in the `workspace` column (`ws`, a bound
 * parameter of every statement) and as named by callers (`name`), the text policy
 * collecting this write's notices, and what start-up found in the database.
 */
export interface Session {
  client: pg.PoolClient;
  ws: string;
  name: string;
  policy: TextPolicy;
  schema: SchemaState;
  stores: StoreSet;
  log: Logger;
  /** COPY FROM STDIN is safe here (a real server, never the PGlite socket). */
  canCopy: boolean;
}
