import { migrationErrors } from '../errors.ts';
import { ConsistencyCheck } from './consistency.ts';
import {
  planOf,
  sourcePass,
  sourceRecords,
  storesOf,
  type BatchHandler,
  type Checked,
  type SourceTotals,
} from './passes.ts';
import type { WorkspaceReport } from './report.ts';
import { changedSince, type SourceSnapshot } from './snapshot.ts';
import {
  errorOf,
  finishReport,
  refusal,
  type RunOptions,
  type WorkspaceRun,
} from './workspace-run.ts';

/**
 * Steps shared by migrate and verify: the pass over every source record (writing each
 * batch when given a writer), the source's own consistency findings, and the final verdict,
 * which the source files' fingerprints can overrule.
 */
export function refused(run: WorkspaceRun): WorkspaceReport {
  run.report.error = errorOf(refusal(run));
  return finishReport(run, 'refused');
}

/** The copy pass (or, without a writer, the read-only pass of --dry-run). */
export async function copyPass(
  run: WorkspaceRun,
  options: RunOptions,
  checked: Checked,
  write: BatchHandler | undefined,
): Promise<SourceTotals & { consistency: ConsistencyCheck }> {
  const consistency = new ConsistencyCheck(new Set(storesOf(run.plan.stores)));
  const handler: BatchHandler = {
    batch: async (plan, batch) => {
      consistency.observe(batch);
      await write?.batch(plan, batch);
    },
    done: async (plan) => write?.done(plan),
  };
  const phase = write ? 'copying' : 'reading';
  const totals = await sourcePass(run.ctx, run.plan, checked, options.progress, phase, handler);
  run.report.stores = storesOf(run.plan.stores).map((store) => ({
    store,
    records: totals.digests.get(store)?.records ?? 0,
    seconds: (totals.times.get(store) ?? 0) / 1000,
  }));
  await consistency.report(run.ctx.findings, (store) => rereadStore(run, checked, store));
  return { ...totals, consistency };
}

function rereadStore(run: WorkspaceRun, checked: Checked, store: string) {
  const plan = planOf(run.plan, store);
  return sourceRecords(run.ctx, plan, checked.facts.get(plan.store), store);
}

/**
 * `decide`'s verdict, unless the files changed since the snapshot: then nothing read from
 * them can be trusted, and the workspace is not reported as migrated.
 */
export async function settle(
  run: WorkspaceRun,
  snapshot: SourceSnapshot,
  decide: () => Promise<WorkspaceReport['status']>,
): Promise<WorkspaceReport> {
  const verdict = await decide();
  const changed = await changedSince(snapshot);
  if (changed.length === 0) return finishReport(run, verdict);
  run.report.changedFiles = changed;
  run.report.error = errorOf(migrationErrors.sourceChanged(run.plan.name, changed));
  return finishReport(run, 'source_changed');
}
