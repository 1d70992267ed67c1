import { renderTable } from '../cli/table.ts';
import type { FindingGroup } from './findings.ts';
import type { MigrationReport, StoreVerification, WorkspaceReport } from './report.ts';

/**
 * The human summary of a migration or verification: one table row per workspace and
 * store (records, time, rate, warnings, verification), then each workspace's outcome,
 * findings and differences. Long lists are cut here; --json carries them whole.
 */
const SHOWN = 20;

function warningsOf(report: WorkspaceReport, store: string): number {
  return report.findings
    .filter((f) => f.severity === 'warning' && f.store === store)
    .reduce((sum, f) => sum + f.count, 0);
}

function verdict(results: StoreVerification[] | undefined, store: string): string {
  const result = results?.find((r) => r.store === store);
  if (!result) return '-';
  return result.ok ? `ok ${result.target}` : `FAILED ${result.target}`;
}

function storeRows(report: WorkspaceReport): (string | number)[][] {
  return report.stores.map((s) => [
    report.workspace,
    s.store,
    s.records,
    s.seconds.toFixed(1),
    s.seconds > 0 ? Math.round(s.records / s.seconds) : '-',
    warningsOf(report, s.store),
    verdict(report.verification, s.store),
  ]);
}

function findingLine(group: FindingGroup): string {
  const field = group.field ? ` [${group.field}]` : '';
  const shown = group.records.slice(0, 5).map((r) => JSON.stringify(r));
  const more = group.count > shown.length ? ` … ${group.count} in all` : '';
  const which = shown.length
    ? `: ${shown.join(', ')}${more}`
    : group.count > 1
      ? ` ×${group.count}`
      : '';
  return `    ${group.severity} ${group.store}${field} ${group.code} — ${group.message}${which}`;
}

function listed(title: string, items: string[], total: number): string[] {
  if (total === 0) return [];
  const shown = items.slice(0, SHOWN).map((i) => `        ${JSON.stringify(i)}`);
  const more = total > SHOWN ? [`        … ${total - SHOWN} more (see --json)`] : [];
  return [`      ${title}: ${total}`, ...shown, ...more];
}

function differenceLines(result: StoreVerification): string[] {
  const d = result.differences;
  if (!d) return [];
  const changed = d.changed.map((c) => `${c.record} (${c.fields.join(', ')})`);
  const lines = [
    ...listed('missing in PostgreSQL', d.missing, d.totals.missing),
    ...listed('only in PostgreSQL', d.extra, d.totals.extra),
    ...listed('changed', changed, d.totals.changed),
    ...listed(
      'duplicated in the source (source finding)',
      d.sourceDuplicates,
      d.sourceDuplicates.length,
    ),
    ...listed(
      'edge endpoints the file never declared (source finding)',
      d.undeclaredNodes,
      d.undeclaredNodes.length,
    ),
  ];
  return lines.length ? [`    ${result.store}:`, ...lines] : [];
}

function workspaceLines(report: WorkspaceReport): string[] {
  const head =
    `${report.workspace} (rows under workspace '${report.column}'): ${report.status}` +
    ` in ${report.seconds.toFixed(1)} s, ${report.recordsPerSecond} records/s`;
  const lines = [head];
  if (report.error) lines.push(`  ${report.error.message.replace(/\n/g, '\n  ')}`);
  for (const file of report.notMigrated) {
    lines.push(`  not migrated: ${file} (LightRAG keeps no PostgreSQL table for it)`);
  }
  const order = ['error', 'warning', 'source'];
  const groups = [...report.findings].sort(
    (a, b) => order.indexOf(a.severity) - order.indexOf(b.severity),
  );
  if (groups.length) lines.push('  findings:', ...groups.map(findingLine));
  const differences = (report.verification ?? []).flatMap(differenceLines);
  if (differences.length) lines.push('  differences:', ...differences);
  return lines;
}

export function renderReport(report: MigrationReport): string {
  const headers = ['workspace', 'store', 'records', 'seconds', 'records/s', 'warnings', 'verify'];
  const rows = report.workspaces.flatMap(storeRows);
  const table = rows.length ? renderTable(headers, rows) : '';
  const details = [...report.workspaces.flatMap(workspaceLines), ...skippedLines(report)];
  return `${table}\n${details.join('\n')}\n\ntarget: ${report.target}\n`;
}

function skippedLines(report: MigrationReport): string[] {
  return (report.skipped ?? []).map(
    (s) =>
      `skipped directory "${s.directory}": ${s.reason}; not migrated (rename it to migrate it)`,
  );
}
