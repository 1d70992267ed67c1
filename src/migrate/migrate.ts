import type { PoolClient } from 'pg';
import type { Config } from '../config.ts';
import { isRagspaceError, migrationErrors } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { workspaceName } from '../workspace/name.ts';
import { finishRun, migratedBefore, startRun, ensureJournal, type RunStatus } from './journal.ts';
import type { SourceBatch } from './kinds/types.ts';
import { lockWorkspace } from './lock.ts';
import { ConsistencyCheck } from './consistency.ts';
import { checkWorkspace, KINDS, storesOf, type BatchHandler, type Checked } from './passes.ts';
import { ENTITY_STORE, RELATION_STORE } from './records/graph.ts';
import { copyPass, refused, settle } from './steps.ts';
import { allWorkspaces, skippedDirectories, type StorePlan } from './plan.ts';
import { silentProgress, type Progress } from './progress.ts';
import { succeeded, type MigrationReport, type WorkspaceReport } from './report.ts';
import { takeSnapshot, type SourceSnapshot } from './snapshot.ts';
import {
  anyStore,
  columnRule,
  openTarget,
  selectedStores,
  withClient,
  type TargetDb,
} from './target.ts';
import { compareStores } from './verify.ts';
import {
  errorOf,
  failedReport,
  finishReport,
  openRun,
  type RunOptions,
  type WorkspaceRun,
} from './workspace-run.ts';

/**
 * `ragspace migrate`: each workspace's files into the configured PostgreSQL, one at a time.
 * Per workspace: lock, fingerprint the files, check everything (nothing is written if a
 * check fails), copy in batches (each its own short transaction, every write an upsert
 * keyed by (workspace, id), so a repeated or interrupted run converges), compare the files'
 * fingerprints again, then verify the rows against the files.
 */
export interface MigrateOptions {
  workspaces?: string[];
  all?: boolean;
  dryRun?: boolean;
  /** Merge into a workspace that holds rows no migration wrote. */
  force?: boolean;
  progress?: Progress;
  log?: Logger;
}

function workspaceList(config: Config, options: MigrateOptions): string[] {
  const names = options.all ? allWorkspaces(config.workingDir) : (options.workspaces ?? []);
  return [...new Set(names.map(workspaceName))];
}

/** POSTGRES_WORKSPACE renames one workspace's rows; two workspaces must not meet there. */
function checkColumns(config: Config, names: string[]): void {
  const columnOf = columnRule(config);
  const owners = new Map<string, string[]>();
  for (const name of names)
    owners.set(columnOf(name), [...(owners.get(columnOf(name)) ?? []), name]);
  for (const [column, sharing] of owners) {
    if (sharing.length > 1) throw migrationErrors.ambiguousColumn(column, sharing);
  }
}

export async function migrate(config: Config, options: MigrateOptions): Promise<MigrationReport> {
  const log = options.log ?? createLogger({ command: 'migrate' });
  const progress = options.progress ?? silentProgress;
  const stores = selectedStores(config);
  if (!anyStore(stores)) throw migrationErrors.nothingToMigrate();
  const names = workspaceList(config, options);
  checkColumns(config, names);
  // A dry run touches no database: opening one could create tables or a PGlite directory.
  const db = options.dryRun ? undefined : await openTarget(config, log, true);
  const runOptions: RunOptions = { config, db, stores, log, progress };
  const reports: WorkspaceReport[] = [];
  try {
    for (const name of names) reports.push(await migrateOne(runOptions, name, options));
  } finally {
    progress.close();
    await db?.close();
  }
  const target = db?.where ?? 'none (dry run)';
  const report: MigrationReport = { target, ok: reports.every(succeeded), workspaces: reports };
  if (options.all) report.skipped = skippedDirectories(config.workingDir);
  return report;
}

async function migrateOne(
  options: RunOptions,
  name: string,
  migrateOptions: MigrateOptions,
): Promise<WorkspaceReport> {
  let run: WorkspaceRun;
  try {
    run = openRun(options, name);
  } catch (error) {
    if (isRagspaceError(error)) return failedReport(name, error);
    throw error;
  }
  if (!options.db) return dryRun(run, options);
  const db = options.db;
  try {
    const lock = await lockWorkspace(db, run.plan.name, run.target!.ws, options.log);
    try {
      return await lockedRun(run, options, migrateOptions.force === true);
    } finally {
      await lock.release();
    }
  } catch (error) {
    if (isRagspaceError(error) && error.code === 'MIGRATION_LOCKED') {
      return failedReport(run.plan.name, error);
    }
    run.report.error = errorOf(error);
    return finishReport(run, 'failed');
  }
}

async function dryRun(run: WorkspaceRun, options: RunOptions): Promise<WorkspaceReport> {
  run.report.dryRun = true;
  try {
    const snapshot = await takeSnapshot(run.plan.directory);
    const checked = await checkWorkspace(run.ctx, run.plan, options.progress);
    if (run.ctx.findings.has('error')) return refused(run);
    await copyPass(run, options, checked, undefined);
    return await settle(run, snapshot, async () => 'checked');
  } catch (error) {
    run.report.error = errorOf(error);
    return finishReport(run, 'failed');
  }
}

async function lockedRun(
  run: WorkspaceRun,
  options: RunOptions,
  force: boolean,
): Promise<WorkspaceReport> {
  const snapshot = await takeSnapshot(run.plan.directory);
  // On a real server the GraphML reader thread writes the COPY text as it reads, and
  // digests the records (their vector ids too, if the consistency check pairs them).
  if (options.db!.canCopy) {
    run.ctx.copyWs = run.target!.ws;
    const pairs = new ConsistencyCheck(new Set(storesOf(run.plan.stores)));
    run.ctx.pairedIds = pairs.needs(ENTITY_STORE) || pairs.needs(RELATION_STORE);
  }
  try {
    await prepareWriters(run);
    return await checkedRun(run, options, force, snapshot);
  } catch (error) {
    await abandonWriters(run);
    throw error;
  }
}

/** Lets the writers take part in the check pass (nothing visible is written before it ends). */
async function prepareWriters(run: WorkspaceRun): Promise<void> {
  for (const plan of run.plan.stores) await KINDS[plan.kind].prepare?.(run.target!, run.ctx, plan);
}

async function checkedRun(
  run: WorkspaceRun,
  options: RunOptions,
  force: boolean,
  snapshot: SourceSnapshot,
): Promise<WorkspaceReport> {
  const checked = await checkWorkspace(run.ctx, run.plan, options.progress);
  if (run.ctx.findings.has('error')) {
    await abandonWriters(run);
    return refused(run);
  }
  await guardTarget(run, options, force);
  const runId = await journal(run, options, (client, ws) =>
    startRun(client, ws, run.plan.directory),
  );
  const report = await copyAndVerify(run, options, checked, snapshot);
  await journal(run, options, (client, ws) =>
    finishRun(client, ws, runId, journalStatus(report), report),
  );
  return report;
}

async function copyAndVerify(
  run: WorkspaceRun,
  options: RunOptions,
  checked: Checked,
  snapshot: SourceSnapshot,
): Promise<WorkspaceReport> {
  try {
    const totals = await copyPass(run, options, checked, writer(run));
    const analyzing = await startAnalyze(run, options);
    const report = await settle(run, snapshot, async () => {
      const results = await compareStores(
        run.ctx,
        run.plan,
        checked,
        totals.digests,
        run.target!,
        options.progress,
      );
      run.report.verification = results;
      return results.every((r) => r.ok) ? 'migrated' : 'verify_failed';
    });
    await analyzing.done;
    return report;
  } catch (error) {
    run.report.error = errorOf(error);
    await abandonWriters(run);
    return finishReport(run, 'failed');
  }
}

/** After a failed or refused run, the writers let go of what they hold (else the pool waits). */
async function abandonWriters(run: WorkspaceRun): Promise<void> {
  for (const plan of run.plan.stores) await KINDS[plan.kind].abandon?.(run.target!);
}

/**
 * Fresh statistics for the tables just loaded: without them the planner takes a large
 * workspace for an empty one (verify's keyset pages on PGlite would turn into sorts of the
 * whole set, and the server's first queries would too).
 */
async function analyze(run: WorkspaceRun, options: RunOptions): Promise<void> {
  const tables = run.plan.stores.flatMap((plan) => KINDS[plan.kind].tables(run.target!, plan));
  await withClient(options.db!, options.log, async (client) => {
    for (const table of new Set(tables)) await client.query(`ANALYZE ${table}`);
  });
}

/**
 * Starts `analyze`; resolves once verify may start. Graph rows are read back by COPY on a
 * real server, with no plan to need statistics: there they are taken while verify reads
 * and hashes. PGlite runs one statement at a time, and the other stores' keyset pages
 * want the statistics first.
 */
async function startAnalyze(run: WorkspaceRun, options: RunOptions) {
  const done = analyze(run, options);
  done.catch(() => undefined); // awaited by the caller, after verify
  const streamed = run.plan.stores.every((plan) => plan.kind === 'graph');
  if (!options.db!.canCopy || !streamed) await done;
  return { done };
}

function journalStatus(report: WorkspaceReport): RunStatus {
  if (report.status === 'migrated') return 'migrated';
  if (report.status === 'source_changed' || report.status === 'verify_failed') {
    return report.status;
  }
  return 'failed';
}

async function journal<T>(
  run: WorkspaceRun,
  options: RunOptions,
  fn: (client: PoolClient, ws: string) => Promise<T>,
): Promise<T> {
  return withClient(options.db!, options.log, async (client) => {
    await ensureJournal(client);
    return fn(client, run.target!.ws);
  });
}

/** Refuses to merge into rows that no migration wrote, unless forced. */
async function guardTarget(run: WorkspaceRun, options: RunOptions, force: boolean) {
  if (force) return;
  const db = options.db!;
  const ws = run.target!.ws;
  const rows = await existingRows(run, db, options);
  if (Object.keys(rows).length === 0) return;
  const ours = await withClient(db, options.log, (client) => migratedBefore(client, ws));
  if (!ours) throw migrationErrors.targetNotEmpty(run.plan.name, rows);
}

async function existingRows(run: WorkspaceRun, db: TargetDb, options: RunOptions) {
  const tables = run.plan.stores.flatMap((plan) => KINDS[plan.kind].tables(run.target!, plan));
  const rows: Record<string, number> = {};
  await withClient(db, options.log, async (client) => {
    for (const table of new Set(tables)) {
      const result = await client.query(`SELECT count(*) AS n FROM ${table} WHERE workspace = $1`, [
        run.target!.ws,
      ]);
      if (result.rows[0].n > 0) rows[table] = result.rows[0].n as number;
    }
  });
  return rows;
}

/**
 * Writes each batch while the next is being read and converted: one write in flight at a
 * time, so PostgreSQL and this process work side by side and memory holds two batches.
 * Nothing else queries meanwhile, so even PGlite sees one statement at a time.
 */
function writer(run: WorkspaceRun): BatchHandler {
  const target = run.target!;
  let inFlight: Promise<void> = Promise.resolve();
  const start = (write: Promise<void>) => {
    write.catch(() => undefined); // awaited by the next call; this only stops an early report
    inFlight = write;
  };
  return {
    batch: async (plan: StorePlan, batch: SourceBatch) => {
      await inFlight;
      start(KINDS[plan.kind].write(target, plan, batch));
    },
    done: async (plan: StorePlan) => {
      await inFlight;
      await KINDS[plan.kind].finish?.(target, plan);
    },
  };
}
