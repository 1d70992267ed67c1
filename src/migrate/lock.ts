import type pg from 'pg';
import { migrationErrors } from '../errors.ts';
import type { Logger } from '../log.ts';
import { acquire } from '../storage/postgres/pool.ts';
import type { TargetDb } from './target.ts';

/**
 * One migration, rollback or export per workspace at a time: a session-level advisory
 * lock, keyed on the workspace's column value, held on a dedicated connection for the
 * whole run. A killed process loses its connection and so its lock; nothing is left to
 * clean up. Short transactions per batch still let the server serve every workspace.
 */
export interface WorkspaceLock {
  release(): Promise<void>;
}

const KEY = "hashtextextended('ragspace:migrate:' || $1, 0)";

export async function lockWorkspace(
  db: TargetDb,
  workspace: string,
  ws: string,
  log: Logger,
): Promise<WorkspaceLock> {
  const client = await acquire(db.pool, db.where, db.retry, log);
  let taken = false;
  try {
    const result = await client.query(`SELECT pg_try_advisory_lock(${KEY}) AS taken`, [ws]);
    taken = result.rows[0].taken === true;
  } finally {
    if (!taken) client.release();
  }
  if (!taken) throw migrationErrors.locked(workspace);
  return { release: () => unlock(client, ws) };
}

async function unlock(client: pg.PoolClient, ws: string): Promise<void> {
  try {
    await client.query(`SELECT pg_advisory_unlock(${KEY})`, [ws]);
    client.release();
  } catch {
    // A broken connection has dropped the lock with it.
    client.release(true);
  }
}
