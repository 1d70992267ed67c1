import { readConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { consoleProgress, silentProgress } from '../../migrate/progress.ts';
import { renderReport } from '../../migrate/render.ts';
import { verify } from '../../migrate/verify.ts';
import { commandEnv, parseOptions } from '../args.ts';
import { errors } from '../../errors.ts';

/**
 * `ragspace verify --workspace A [--dir DIR] [--json]`: compares a workspace's files with
 * its PostgreSQL rows, store by store, listing every difference. `--dir` compares the files
 * of DIR instead (the output of `ragspace export`). Exit 0 only when they match.
 */
export async function verifyCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    workspace: { type: 'string' },
    dir: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    dotenv: { type: 'string' },
  });
  if (!options.workspace) throw errors.badRequest('Name the workspace with --workspace A.');
  const config = readConfig(commandEnv(options.dotenv));
  const report = await verify(config, {
    workspace: options.workspace,
    directory: options.dir,
    progress: options.quiet ? silentProgress : consoleProgress(),
    log: createLogger({ command: 'verify' }),
  });
  process.stdout.write(
    options.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report),
  );
  return report.ok ? 0 : 1;
}
