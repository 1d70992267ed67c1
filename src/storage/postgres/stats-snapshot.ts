import type pg from 'pg';
import { applyWorkspaceQuery } from '../../workspace/query.ts';
import type { WorkspacePage, WorkspaceQuery, WorkspaceSummary } from '../types.ts';
import { STATS_TABLE } from './stats-sql.ts';
import { listWorkspaces, type Naming } from './workspaces.ts';

/**
 * The workspace list answered from a copy of the statistics table held in memory, checked
 * against the table on every request.
 *
 * Why: with 10,000 workspaces the list's SQL takes a few milliseconds in the server, but
 * moving 10,000 rows to Node and turning them into objects costs several times that on
 * every request. The statistics change only when a workspace is written, so the rows are
 * fetched again only then.
 *
 * How a change is seen: every change to a statistics row gives it a new `xmin` (the
 * writing transaction), so the count of listed rows and the sum of their `xmin`s change
 * with any insert, update or delete. That fingerprint is one scan of the small statistics
 * table, read in the same MVCC snapshot as the rows it describes, so a cached copy is
 * never newer or older than what the fingerprint says. Known limit: after transaction-id
 * wraparound a change could, in theory, leave count and sum equal; the next change
 * corrects the copy.
 *
 * Beyond `maxWorkspaces` listed workspaces, nothing is cached and every request is
 * answered by the list's SQL (workspaces.ts), so memory stays bounded.
 */
const FINGERPRINT_SQL = `SELECT count(*) AS listed,
         COALESCE(sum(xmin::text::bigint), 0)::text AS xids FROM ${STATS_TABLE} WHERE listed`;

const ROWS_SQL = `SELECT workspace, entity_count, relation_count, document_count, chunk_count,
         updated_iso, xmin::text AS xid FROM ${STATS_TABLE} WHERE listed`;

interface Snapshot {
  fingerprint: string;
  summaries: WorkspaceSummary[];
}

export class StatsSnapshot {
  private snapshot: Snapshot | undefined;

  constructor(
    private readonly naming: Naming,
    private readonly maxWorkspaces: number,
  ) {}

  async list(client: pg.ClientBase, query: WorkspaceQuery): Promise<WorkspacePage> {
    const current = await this.current(client);
    if (!current) return listWorkspaces(client, this.naming, query);
    return applyWorkspaceQuery(current.summaries, query);
  }

  /** The cached copy if still current, a fresh one if not, none past the size limit. */
  private async current(client: pg.ClientBase): Promise<Snapshot | undefined> {
    if (this.maxWorkspaces === 0) return undefined;
    const { listed, xids } = (await client.query(FINGERPRINT_SQL)).rows[0];
    if (this.snapshot?.fingerprint === `${listed}:${xids}`) return this.snapshot;

    this.snapshot = undefined;
    if (listed > this.maxWorkspaces) return undefined;
    this.snapshot = await this.load(client);
    return this.snapshot;
  }

  /** Rows and fingerprint from one statement, so both come from the same snapshot. */
  private async load(client: pg.ClientBase): Promise<Snapshot> {
    const rows = (await client.query(ROWS_SQL)).rows as StatsRow[];
    let sum = 0n;
    for (const row of rows) sum += BigInt(row.xid);

    // In the list's default order: sorting what is already sorted costs next to nothing.
    const summaries = rows.map((row) => this.summaryOf(row)).sort(byName);
    return { fingerprint: `${rows.length}:${sum}`, summaries };
  }

  private summaryOf(row: StatsRow): WorkspaceSummary {
    const alias = this.naming.alias;
    return {
      name: alias && row.workspace === alias.column ? alias.name : row.workspace,
      entity_count: row.entity_count,
      relation_count: row.relation_count,
      document_count: row.document_count,
      chunk_count: row.chunk_count,
      updated_at: row.updated_iso,
    };
  }
}

interface StatsRow {
  workspace: string;
  entity_count: number;
  relation_count: number;
  document_count: number;
  chunk_count: number;
  updated_iso: string | null;
  xid: string;
}

const byName = (a: WorkspaceSummary, b: WorkspaceSummary) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
