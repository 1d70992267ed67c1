import { readConfig } from '../../config.ts';
import { errors } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { exportWorkspace } from '../../migrate/export.ts';
import { renderReport } from '../../migrate/render.ts';
import { commandEnv, parseOptions } from '../args.ts';
import { renderTable } from '../table.ts';

/**
 * `ragspace export --workspace A --out DIR [--no-verify] [--json]`: writes workspace A from
 * PostgreSQL into DIR as LightRAG's files, then verifies DIR against the rows (the same
 * check as `ragspace verify --workspace A --dir DIR`). Exit 0 when written and verified.
 */
export async function exportCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    workspace: { type: 'string' },
    out: { type: 'string' },
    'no-verify': { type: 'boolean' },
    json: { type: 'boolean' },
    dotenv: { type: 'string' },
  });
  if (!options.workspace || !options.out) {
    throw errors.badRequest(
      'Name the workspace with --workspace A and the directory with --out DIR.',
    );
  }
  const config = readConfig(commandEnv(options.dotenv));
  const report = await exportWorkspace(config, {
    workspace: options.workspace,
    out: options.out,
    verify: !options['no-verify'],
    log: createLogger({ command: 'export' }),
  });
  if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    const rows = report.files.map((f) => [f.file, f.records]);
    process.stdout.write(`Exported "${report.workspace}" into ${report.directory}:\n`);
    process.stdout.write(renderTable(['file', 'records'], rows));
    if (report.verification) process.stdout.write(renderReport(report.verification));
  }
  return report.verification && !report.verification.ok ? 1 : 0;
}
