import { readConfig, type Config } from '../../config.ts';
import { errors } from '../../errors.ts';
import { createLogger, type Logger } from '../../log.ts';
import type pg from 'pg';
import { closeConnection, connect, startupPolicy } from '../../storage/postgres/connection.ts';
import { acquire, describeTarget } from '../../storage/postgres/pool.ts';
import { ensureSchema, storesOf, vectorSettings } from '../../storage/postgres/schema.ts';
import {
  keptStats,
  rebuildStats,
  type KeptStats,
  type RebuildReport,
  type StatsChange,
} from '../../storage/postgres/stats.ts';
import { workspaceName } from '../../workspace/name.ts';
import { commandEnv, parseOptions } from '../args.ts';

/**
 * `ragspace stats [--rebuild] [--workspace X] [--json] [--dotenv F]`: the workspace
 * statistics PostgreSQL keeps. Without `--rebuild`, a summary of what is kept; with it,
 * a recount from the tables in one transaction (one workspace, or all), one progress line
 * per table on stderr, and every workspace whose statistics changed.
 */
export async function statsCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    rebuild: { type: 'boolean' },
    workspace: { type: 'string' },
    json: { type: 'boolean' },
    dotenv: { type: 'string' },
  });
  const config = readConfig(commandEnv(options.dotenv));
  const log = createLogger({ command: 'stats' });
  const ws = options.workspace === undefined ? undefined : columnOf(config, options.workspace);
  return withPostgres(config, log, async (client) => {
    if (!options.rebuild) {
      const kept = await keptStats(client, ws);
      process.stdout.write(options.json ? json(kept) : formatKept(kept));
      return 0;
    }
    const progress = (line: string) => process.stderr.write(line + '\n');
    const report = await rebuildStats(client, { workspace: ws, progress, log });
    process.stdout.write(options.json ? json(report) : formatReport(report));
    return 0;
  });
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/** The `workspace` column value of a name (POSTGRES_WORKSPACE renames the server's). */
function columnOf(config: Config, raw: string): string {
  const name = workspaceName(raw);
  const alias = config.postgres.workspace;
  return alias !== undefined && name === config.workspace ? alias : name;
}

/** Opens the configured database, makes sure the statistics exist, runs `fn`, closes. */
async function withPostgres(
  config: Config,
  log: Logger,
  fn: (client: pg.PoolClient) => Promise<number>,
): Promise<number> {
  const stores = storesOf(config);
  if (!Object.values(stores).some(Boolean)) {
    throw errors.badRequest(
      'Workspace statistics are kept only in PostgreSQL, and no store is configured there: ' +
        'set LIGHTRAG_GRAPH_STORAGE=PGGraphStorage (or another PG*Storage) and POSTGRES_*.',
    );
  }
  const connection = await connect(config, log);
  try {
    const database = describeTarget(connection.target);
    const client = await acquire(connection.pool, database, startupPolicy(config), log);
    try {
      await ensureSchema(client, { stores, vectors: vectorSettings(config), database }, log);
      return await fn(client);
    } finally {
      client.release();
    }
  } finally {
    await closeConnection(connection);
  }
}

const SHOWN: (keyof KeptStats)[] = [
  'entity_count',
  'relation_count',
  'doc_status_count',
  'full_docs_count',
  'chunk_count',
  'other_rows',
  'updated_at',
];

function formatKept(kept: KeptStats[]): string {
  const total = (key: keyof KeptStats) => kept.reduce((sum, s) => sum + Number(s[key]), 0);
  const lines = [`${kept.length} workspaces`];
  for (const key of SHOWN.slice(0, -1)) lines.push(`${key.padEnd(18)} ${total(key)}`);
  return lines.join('\n') + '\n';
}

function describeChange(change: StatsChange): string {
  if (!change.before) return `${change.workspace}: added`;
  if (!change.after) return `${change.workspace}: removed (no rows left)`;
  const parts = SHOWN.filter((key) => change.before![key] !== change.after![key]).map(
    (key) => `${key} ${change.before![key]} -> ${change.after![key]}`,
  );
  return `${change.workspace}: ${parts.join(', ')}`;
}

function formatReport(report: RebuildReport): string {
  const head =
    `rebuilt the statistics of ${report.workspaces} workspaces in ` +
    `${report.seconds.toFixed(2)} s; ${report.changed.length} changed`;
  return [head, ...report.changed.map(describeChange)].join('\n') + '\n';
}
