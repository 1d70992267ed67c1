import { readConfig } from '../../config.ts';
import { errors } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { migrate } from '../../migrate/migrate.ts';
import { consoleProgress, silentProgress } from '../../migrate/progress.ts';
import { renderReport } from '../../migrate/render.ts';
import { commandEnv, parseOptions } from '../args.ts';

/**
 * `ragspace migrate --workspace A[,B...] | --all [--dry-run] [--force] [--json]`: copies
 * workspaces from WORKING_DIR into the configured PostgreSQL and verifies them.
 * Exit 0 when every workspace migrated (or, with --dry-run, passed its checks), else 1.
 */
export async function migrateCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    workspace: { type: 'string' },
    all: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    dotenv: { type: 'string' },
  });
  if (!options.all === !options.workspace) {
    throw errors.badRequest('Name the workspaces with --workspace A[,B...], or pass --all.');
  }
  const config = readConfig(commandEnv(options.dotenv));
  const report = await migrate(config, {
    workspaces: options.workspace?.split(',').map((name) => name.trim()),
    all: options.all,
    dryRun: options['dry-run'],
    force: options.force,
    progress: options.quiet ? silentProgress : consoleProgress(),
    log: createLogger({ command: 'migrate' }),
  });
  process.stdout.write(
    options.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report),
  );
  return report.ok ? 0 : 1;
}
