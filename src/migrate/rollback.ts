import type pg from 'pg';
import type { Config } from '../config.ts';
import { migrationErrors } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { workspaceName } from '../workspace/name.ts';
import { markRolledBack } from './journal.ts';
import { lockWorkspace } from './lock.ts';
import { KINDS } from './passes.ts';
import { storePlans } from './plan.ts';
import {
  anyStore,
  inspectVectorTables,
  openTarget,
  selectedStores,
  withClient,
  type TargetDb,
} from './target.ts';

/**
 * `ragspace rollback`: deletes one workspace's rows from every table the configuration
 * keeps in PostgreSQL (graph, key-value, doc status, and the configured vector tables).
 * The source files are never touched, so rolling back returns to serving them. It first
 * counts what it will delete and asks `confirm`; deletion goes in batches of short
 * transactions, so the server keeps serving other workspaces.
 */
export interface TableRows {
  table: string;
  rows: number;
}

export interface RollbackPlan {
  workspace: string;
  column: string;
  target: string;
  tables: TableRows[];
}

export interface RollbackReport extends RollbackPlan {
  deleted: TableRows[];
  confirmed: boolean;
}

const DELETE_BATCH = 5000;

async function existingTables(db: TargetDb, log: Logger): Promise<string[]> {
  const context = { db, workspace: '', ws: '', log, state: new Map() };
  const tables = storePlans(db.stores).flatMap((plan) => KINDS[plan.kind].tables(context, plan));
  return withClient(db, log, async (client) => {
    const result = await client.query(
      `SELECT t FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n)
        WHERE to_regclass(t) IS NOT NULL ORDER BY n`,
      [[...new Set(tables)]],
    );
    return result.rows.map((r) => r.t as string);
  });
}

async function countRows(client: pg.PoolClient, table: string, ws: string): Promise<number> {
  const result = await client.query(`SELECT count(*) AS n FROM ${table} WHERE workspace = $1`, [
    ws,
  ]);
  return result.rows[0].n as number;
}

async function planOn(db: TargetDb, name: string, log: Logger): Promise<RollbackPlan> {
  const column = db.columnOf(name);
  const tables = await existingTables(db, log);
  const counted = await withClient(db, log, async (client) => {
    const rows: TableRows[] = [];
    for (const table of tables) rows.push({ table, rows: await countRows(client, table, column) });
    return rows;
  });
  return { workspace: name, column, target: db.where, tables: counted };
}

/** Deletes in batches by physical row id: every table has one, whatever its key. */
async function deleteAll(db: TargetDb, log: Logger, table: string, ws: string): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await withClient(db, log, (client) =>
      client.query(
        `DELETE FROM ${table} WHERE ctid IN
           (SELECT ctid FROM ${table} WHERE workspace = $1 LIMIT ${DELETE_BATCH})`,
        [ws],
      ),
    );
    total += deleted.rowCount ?? 0;
    if ((deleted.rowCount ?? 0) < DELETE_BATCH) return total;
  }
}

export interface RollbackOptions {
  workspace: string;
  /** Shown the plan; resolves true to go ahead. */
  confirm: (plan: RollbackPlan) => Promise<boolean>;
  log?: Logger;
}

export async function rollback(config: Config, options: RollbackOptions): Promise<RollbackReport> {
  const log = options.log ?? createLogger({ command: 'rollback' });
  if (!anyStore(selectedStores(config))) throw migrationErrors.nothingToMigrate();
  const name = workspaceName(options.workspace);
  const db = await openTarget(config, log, false);
  try {
    await inspectVectorTables(db, log);
    const lock = await lockWorkspace(db, name, db.columnOf(name), log);
    try {
      return await rollbackLocked(db, name, options, log);
    } finally {
      await lock.release();
    }
  } finally {
    await db.close();
  }
}

async function rollbackLocked(
  db: TargetDb,
  name: string,
  options: RollbackOptions,
  log: Logger,
): Promise<RollbackReport> {
  const plan = await planOn(db, name, log);
  const confirmed = await options.confirm(plan);
  if (!confirmed) return { ...plan, deleted: [], confirmed };
  const deleted: TableRows[] = [];
  for (const { table } of plan.tables) {
    deleted.push({ table, rows: await deleteAll(db, log, table, plan.column) });
  }
  await withClient(db, log, (client) => markRolledBack(client, plan.column));
  log.info('migrate.rolled_back', { workspace: name, tables: deleted.length });
  return { ...plan, deleted, confirmed };
}
