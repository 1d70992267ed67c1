import type { StoreDifferences } from './compare.ts';
import type { FindingGroup } from './findings.ts';

/**
 * What `migrate` and `verify` return: per workspace, per store counts, times, checksums
 * and differences, and the findings. Scripts read it as JSON (--json); people read the
 * summary table the CLI renders from it.
 */
export type WorkspaceStatus =
  | 'migrated'
  | 'checked'
  | 'verified'
  | 'refused'
  | 'locked'
  | 'source_changed'
  | 'verify_failed'
  | 'failed';

export interface StoreVerification {
  store: string;
  source: number;
  target: number;
  sourceChecksum: string;
  targetChecksum: string;
  ok: boolean;
  differences?: StoreDifferences;
}

export interface StoreSummary {
  store: string;
  /** Records in the source files. */
  records: number;
  /** Seconds spent copying (or reading, for --dry-run and verify). */
  seconds: number;
}

export interface WorkspaceReport {
  workspace: string;
  /** The value of the `workspace` column its rows carry. */
  column: string;
  directory: string;
  status: WorkspaceStatus;
  dryRun: boolean;
  stores: StoreSummary[];
  verification?: StoreVerification[];
  findings: FindingGroup[];
  changedFiles?: string[];
  /** Files no PostgreSQL table holds (they stay in WORKING_DIR). */
  notMigrated: string[];
  error?: { code: string; message: string };
  seconds: number;
  /** Source records per second over the whole run of this workspace. */
  recordsPerSecond: number;
}

export interface MigrationReport {
  target: string;
  ok: boolean;
  workspaces: WorkspaceReport[];
  /** With --all: directories of WORKING_DIR whose names are not workspace names. */
  skipped?: { directory: string; reason: string }[];
}

const SUCCESS: WorkspaceStatus[] = ['migrated', 'checked', 'verified'];

export function succeeded(report: WorkspaceReport): boolean {
  return SUCCESS.includes(report.status);
}

export function warningCount(report: WorkspaceReport): number {
  return report.findings
    .filter((f) => f.severity === 'warning')
    .reduce((sum, f) => sum + f.count, 0);
}
