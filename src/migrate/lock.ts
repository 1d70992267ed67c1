import type pg from 'pg';
import { migrationErrors } from '../errors.ts';
import type { Logger } from '../log.ts';
import { acquire, createPool } from '../storage/postgres/pool.ts';
import type { TargetDb } from './target.ts';

/**
 * One migration, rollback or export per workspace at a time: a session-level advisory
 * lock, keyed on the workspace's column value, held for the whole run on a connection of
 * its own (outside the working pool, so a small pool cannot starve). A killed process
 * loses its connection and so its lock; nothing is left to clean up. Short transactions
 * per batch still let the server serve every workspace.
 *
 * PGlite takes no lock: behind its socket every connection shares one session, where
 * advisory locks are re-entrant and would stop nobody, and an embedded PGlite directory
 * already admits one process at a time.
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
  if (!db.canCopy) return { release: async () => undefined };
  const pool = createPool({ ...db.target, maxConnections: 1 });
  const client = await acquire(pool, db.where, db.retry, log).catch(async (error) => {
    await pool.end();
    throw error;
  });
  let taken = false;
  try {
    const result = await client.query(`SELECT pg_try_advisory_lock(${KEY}) AS taken`, [ws]);
    taken = result.rows[0].taken === true;
  } finally {
    if (!taken) await close(pool, client);
  }
  if (!taken) throw migrationErrors.locked(workspace);
  return { release: () => unlock(pool, client, ws) };
}

async function close(pool: pg.Pool, client: pg.PoolClient): Promise<void> {
  client.release();
  await pool.end().catch(() => undefined);
}

async function unlock(pool: pg.Pool, client: pg.PoolClient, ws: string): Promise<void> {
  // A broken connection has dropped the lock with it: nothing to undo then.
  await client.query(`SELECT pg_advisory_unlock(${KEY})`, [ws]).catch(() => undefined);
  await close(pool, client);
}
