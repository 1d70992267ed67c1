/**
 * What checking and copying a workspace found, kept small whatever the workspace size:
 * findings are grouped (store, code, field) with a count and the first few records.
 * - error: the workspace cannot be migrated as it is; nothing is written.
 * - warning: migrated, but a value is stored differently (text policy) or not at all.
 * - source: an inconsistency inside the source files themselves, not a migration fault.
 */
export type Severity = 'error' | 'warning' | 'source';

export interface Finding {
  severity: Severity;
  store: string;
  code: string;
  message: string;
  record?: string;
  field?: string;
}

export interface FindingGroup {
  severity: Severity;
  store: string;
  code: string;
  field?: string;
  message: string;
  count: number;
  /** The first records concerned (at most `EXAMPLES`). */
  records: string[];
}

export const EXAMPLES = 20;

export class Findings {
  private readonly groups = new Map<string, FindingGroup>();

  add(finding: Finding): void {
    const key = [finding.severity, finding.store, finding.code, finding.field ?? ''].join('\u0000');
    let group = this.groups.get(key);
    if (!group) {
      group = {
        severity: finding.severity,
        store: finding.store,
        code: finding.code,
        message: finding.message,
        count: 0,
        records: [],
      };
      if (finding.field !== undefined) group.field = finding.field;
      this.groups.set(key, group);
    }
    group.count++;
    if (finding.record !== undefined && group.records.length < EXAMPLES) {
      group.records.push(finding.record);
    }
  }

  merge(other: Findings): void {
    this.mergeGroups(other.list());
  }

  /** Adds groups another `Findings` listed (on another thread, say). */
  mergeGroups(groups: FindingGroup[]): void {
    for (const group of groups) {
      const key = [group.severity, group.store, group.code, group.field ?? ''].join('\u0000');
      const mine = this.groups.get(key);
      if (!mine) this.groups.set(key, { ...group, records: [...group.records] });
      else {
        mine.count += group.count;
        const room = EXAMPLES - mine.records.length;
        mine.records.push(...group.records.slice(0, Math.max(0, room)));
      }
    }
  }

  list(severity?: Severity): FindingGroup[] {
    const all = [...this.groups.values()];
    return severity ? all.filter((g) => g.severity === severity) : all;
  }

  has(severity: Severity): boolean {
    return this.list(severity).length > 0;
  }

  count(severity: Severity): number {
    return this.list(severity).reduce((sum, g) => sum + g.count, 0);
  }
}
