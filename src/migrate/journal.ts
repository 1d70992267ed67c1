import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { storedText } from './records/text.ts';

/**
 * ragspace_migrations: one row per run of `ragspace migrate` on a workspace (its status
 * and final report). It tells a resumed or repeated run that the rows it finds were
 * written by a migration, and keeps a history operators can query. LightRAG ignores it.
 */
export const JOURNAL_TABLE = 'ragspace_migrations';

export type RunStatus =
  | 'running'
  | 'interrupted'
  | 'migrated'
  | 'failed'
  | 'verify_failed'
  | 'source_changed'
  | 'rolled_back';

export async function ensureJournal(client: pg.PoolClient): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${JOURNAL_TABLE} (
       workspace VARCHAR(255) NOT NULL,
       run_id TEXT NOT NULL,
       source TEXT NOT NULL,
       status TEXT NOT NULL,
       started_at TIMESTAMP(3) NOT NULL,
       finished_at TIMESTAMP(3),
       report JSONB,
       CONSTRAINT ${JOURNAL_TABLE}_pk PRIMARY KEY (workspace, run_id))`,
  );
}

export async function journalExists(client: pg.PoolClient): Promise<boolean> {
  const result = await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [JOURNAL_TABLE]);
  return result.rows[0].found === true;
}

/** Whether a migration (any outcome) has written into this workspace before. */
export async function migratedBefore(client: pg.PoolClient, ws: string): Promise<boolean> {
  if (!(await journalExists(client))) return false;
  const result = await client.query(
    `SELECT 1 FROM ${JOURNAL_TABLE} WHERE workspace = $1 AND status <> 'rolled_back' LIMIT 1`,
    [ws],
  );
  return (result.rowCount ?? 0) > 0;
}

/**
 * Journals a new run. Called with the workspace's lock held, so a run of it still marked
 * running was killed (its lock went with its connection): it is marked interrupted.
 */
export async function startRun(client: pg.PoolClient, ws: string, source: string): Promise<string> {
  const runId = randomUUID();
  await client.query(
    `UPDATE ${JOURNAL_TABLE} SET status = 'interrupted'
      WHERE workspace = $1 AND status = 'running'`,
    [ws],
  );
  await client.query(
    `INSERT INTO ${JOURNAL_TABLE} (workspace, run_id, source, status, started_at)
     VALUES ($1, $2, $3, 'running', timezone('UTC', now()))`,
    [ws, runId, source],
  );
  return runId;
}

export async function finishRun(
  client: pg.PoolClient,
  ws: string,
  runId: string,
  status: RunStatus,
  report: unknown,
): Promise<void> {
  await client.query(
    `UPDATE ${JOURNAL_TABLE} SET status = $3, finished_at = timezone('UTC', now()), report = $4
      WHERE workspace = $1 AND run_id = $2`,
    [ws, runId, status, JSON.stringify(report, storable)],
  );
}

/** Record ids in a report can hold what JSONB refuses (NUL, lone surrogates). */
function storable(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? storedText(value) : value;
}

export async function markRolledBack(client: pg.PoolClient, ws: string): Promise<void> {
  if (!(await journalExists(client))) return;
  await client.query(`UPDATE ${JOURNAL_TABLE} SET status = 'rolled_back' WHERE workspace = $1`, [
    ws,
  ]);
}
