import type { Config } from '../config.ts';
import { isRagspaceError, migrationErrors, type RagspaceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { workspaceName } from '../workspace/name.ts';
import { Findings } from './findings.ts';
import type { PassContext, TargetContext } from './kinds/types.ts';
import { planWorkspace, locateWorkspace, type WorkspacePlan } from './plan.ts';
import type { Progress } from './progress.ts';
import { newPolicy } from './records/text.ts';
import type { WorkspaceReport, WorkspaceStatus } from './report.ts';
import type { StoreSet } from '../storage/postgres/schema.ts';
import type { TargetDb } from './target.ts';

/**
 * What every command working on one workspace shares: where its files are, the pass
 * context over them, the target context in PostgreSQL, and its report under construction.
 */
export interface RunOptions {
  config: Config;
  /** Undefined for a dry run, which touches no database. */
  db: TargetDb | undefined;
  stores: StoreSet;
  log: Logger;
  progress: Progress;
}

export interface WorkspaceRun {
  plan: WorkspacePlan;
  ctx: PassContext;
  target: TargetContext | undefined;
  report: WorkspaceReport;
  started: number;
}

function halfvecOf(db: TargetDb | undefined): (store: string) => boolean {
  return (store) => {
    const namespace = store.replace(/^vdb_/, '') as 'entities' | 'relationships' | 'chunks';
    return db?.schema.vectorTables[namespace]?.type === 'halfvec';
  };
}

/** A workspace's run; `directory` reads its files from elsewhere (export's output). */
export function openRun(options: RunOptions, name: string, directory?: string): WorkspaceRun {
  const { config, db, log } = options;
  const location = directory
    ? { name: workspaceName(name), directory, problems: [] }
    : locateWorkspace(config.workingDir, name);
  const dir = location.directory;
  const plan = planWorkspace(location.name, dir, options.stores);
  const findings = new Findings();
  for (const problem of location.problems) {
    findings.add({
      severity: 'warning',
      store: 'workspace',
      code: 'location',
      message: problem.reason,
    });
  }
  const ctx: PassContext = {
    workspace: location.name,
    directory: dir,
    policy: newPolicy(location.name),
    findings,
    log: log.child({ workspace: location.name }),
    vectorDim: config.storage.vector === 'PGVectorStorage' ? config.embedding.dim : undefined,
    halfvec: halfvecOf(db),
  };
  const column = db ? db.columnOf(location.name) : location.name;
  const target = db
    ? { db, workspace: location.name, ws: column, log: ctx.log, state: new Map() }
    : undefined;
  return { plan, ctx, target, report: emptyReport(plan, column), started: Date.now() };
}

function emptyReport(plan: WorkspacePlan, column: string): WorkspaceReport {
  return {
    workspace: plan.name,
    column,
    directory: plan.directory,
    status: 'failed',
    dryRun: false,
    stores: [],
    findings: [],
    notMigrated: plan.unmigrated,
    seconds: 0,
    recordsPerSecond: 0,
  };
}

/** Closes the report: status, findings, time and rate. */
export function finishReport(run: WorkspaceRun, status: WorkspaceStatus): WorkspaceReport {
  const report = run.report;
  report.status = status;
  report.findings = run.ctx.findings.list();
  report.seconds = (Date.now() - run.started) / 1000;
  const records = report.stores.reduce((sum, s) => sum + s.records, 0);
  report.recordsPerSecond = report.seconds > 0 ? Math.round(records / report.seconds) : 0;
  return report;
}

/** A report for a workspace that could not even be opened (unknown name, locked). */
export function failedReport(name: string, error: RagspaceError): WorkspaceReport {
  return {
    workspace: name,
    column: name,
    directory: '',
    status: error.code === 'MIGRATION_LOCKED' ? 'locked' : 'failed',
    dryRun: false,
    stores: [],
    findings: [],
    notMigrated: [],
    error: { code: error.code, message: error.message },
    seconds: 0,
    recordsPerSecond: 0,
  };
}

export function errorOf(error: unknown): { code: string; message: string } {
  if (isRagspaceError(error)) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message };
}

/** The refusal error for a workspace whose checks found errors. */
export function refusal(run: WorkspaceRun): RagspaceError {
  const problems = run.ctx.findings.list('error').map((group) => {
    const where = group.records.length ? ` (${group.records.slice(0, 3).join(', ')}…)` : '';
    return `${group.store}: ${group.message}${group.count > 1 ? ` ×${group.count}` : ''}${where}`;
  });
  return migrationErrors.refused(run.plan.name, problems);
}
