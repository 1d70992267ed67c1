import type { Config } from '../config.ts';
import { migrationErrors } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { StoreDigest } from './digest.ts';
import { differenceCount, findDifferences } from './compare.ts';
import type { PassContext, TargetContext } from './kinds/types.ts';
import {
  checkWorkspace,
  KINDS,
  planOf,
  sourceRecords,
  storesOf,
  targetDigest,
  type Checked,
} from './passes.ts';
import type { WorkspacePlan } from './plan.ts';
import { silentProgress, type Progress } from './progress.ts';
import { ENTITY_STORE, RELATION_STORE } from './records/graph.ts';
import { succeeded, type MigrationReport, type StoreVerification } from './report.ts';
import { takeSnapshot } from './snapshot.ts';
import { copyPass, refused, settle } from './steps.ts';
import {
  anyStore,
  inspectVectorTables,
  openTarget,
  selectedStores,
  tableExists,
} from './target.ts';
import { errorOf, finishReport, openRun, type RunOptions } from './workspace-run.ts';

/**
 * Source against target, store by store: counts and order-free checksums first; where a
 * checksum differs, every difference by id (missing, extra, changed fields). Keys the
 * source holds twice and relation endpoints it never declared are the source's doing and
 * do not fail the comparison.
 */
const GRAPH_STORES = new Set([ENTITY_STORE, RELATION_STORE]);

async function compareStore(
  ctx: PassContext,
  plan: WorkspacePlan,
  checked: Checked,
  source: StoreDigest,
  target: TargetContext,
  store: string,
): Promise<StoreVerification> {
  const storePlan = planOf(plan, store);
  const kind = KINDS[storePlan.kind];
  const tables = kind.tables(target, storePlan);
  const present = await tableExists(target.db, target.log, tables);
  const targetSide = present
    ? await targetDigest(target, storePlan, store, source.records)
    : new StoreDigest();
  const result: StoreVerification = {
    store,
    source: source.records,
    target: targetSide.records,
    sourceChecksum: source.checksum(),
    targetChecksum: targetSide.checksum(),
    ok: true,
  };
  if (source.differingBuckets(targetSide).length === 0) return result;
  const facts = checked.facts.get(storePlan.store);
  result.differences = await findDifferences(
    source,
    targetSide,
    () => sourceRecords(ctx, storePlan, facts, store),
    () => (present ? kind.target(target, storePlan, store) : noRows()),
    GRAPH_STORES.has(store),
  );
  result.ok = differenceCount(result.differences) === 0;
  return result;
}

async function* noRows(): AsyncGenerator<never> {}

export async function compareStores(
  ctx: PassContext,
  plan: WorkspacePlan,
  checked: Checked,
  digests: Map<string, StoreDigest>,
  target: TargetContext,
  progress: Progress,
): Promise<StoreVerification[]> {
  const results: StoreVerification[] = [];
  for (const store of storesOf(plan.stores)) {
    progress.note(ctx.workspace, `verifying ${store}`);
    const source = digests.get(store)!;
    results.push(await compareStore(ctx, plan, checked, source, target, store));
  }
  return results;
}

export function verificationSummary(results: StoreVerification[]): string {
  const bad = results.filter((r) => !r.ok);
  return bad
    .map((r) => {
      const t = r.differences!.totals;
      return `${r.store}: ${t.missing} missing, ${t.extra} extra, ${t.changed} changed`;
    })
    .join('; ');
}

export interface VerifyOptions {
  workspace: string;
  /** Compare the files of this directory instead of WORKING_DIR's (after an export). */
  directory?: string;
  progress?: Progress;
  log?: Logger;
}

/**
 * `ragspace verify`: the files of a workspace against its rows, store by store. Reads
 * only; tables that do not exist count as empty.
 */
export async function verify(config: Config, options: VerifyOptions): Promise<MigrationReport> {
  const log = options.log ?? createLogger({ command: 'verify' });
  const progress = options.progress ?? silentProgress;
  const stores = selectedStores(config);
  if (!anyStore(stores)) throw migrationErrors.nothingToMigrate();
  const db = await openTarget(config, log, false);
  try {
    await inspectVectorTables(db, log);
    const runOptions: RunOptions = { config, db, stores, log, progress };
    const report = await verifyOne(runOptions, options);
    return { target: db.where, ok: succeeded(report), workspaces: [report] };
  } finally {
    progress.close();
    await db.close();
  }
}

async function verifyOne(options: RunOptions, verifyOptions: VerifyOptions) {
  const run = openRun(options, verifyOptions.workspace, verifyOptions.directory);
  try {
    const snapshot = await takeSnapshot(run.plan.directory);
    const checked = await checkWorkspace(run.ctx, run.plan, options.progress);
    if (run.ctx.findings.has('error')) return refused(run);
    const totals = await copyPass(run, options, checked, undefined);
    return await settle(run, snapshot, async () => {
      const target = run.target!;
      const results = await compareStores(
        run.ctx,
        run.plan,
        checked,
        totals.digests,
        target,
        options.progress,
      );
      run.report.verification = results;
      return results.every((r) => r.ok) ? 'verified' : 'verify_failed';
    });
  } catch (error) {
    run.report.error = errorOf(error);
    return finishReport(run, 'failed');
  }
}
