import { createInterface } from 'node:readline/promises';
import { readConfig } from '../../config.ts';
import { errors, migrationErrors } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { rollback, type RollbackPlan } from '../../migrate/rollback.ts';
import { commandEnv, parseOptions } from '../args.ts';
import { renderTable } from '../table.ts';

/**
 * `ragspace rollback --workspace A [--yes] [--json]`: deletes workspace A's rows from
 * PostgreSQL after showing what it will delete. Without --yes it asks on the terminal, and
 * refuses when there is no terminal to ask on. The files in WORKING_DIR are not touched.
 */
function describe(plan: RollbackPlan): string {
  const rows = plan.tables.map((t) => [t.table, t.rows]);
  const total = plan.tables.reduce((sum, t) => sum + t.rows, 0);
  return (
    `Rolling back workspace "${plan.workspace}" deletes ${total} rows (workspace = ` +
    `'${plan.column}') from ${plan.target}:\n${renderTable(['table', 'rows'], rows)}`
  );
}

async function ask(plan: RollbackPlan): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw migrationErrors.confirmationNeeded(plan.workspace);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${describe(plan)}Delete them? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

export async function rollbackCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    workspace: { type: 'string' },
    yes: { type: 'boolean' },
    json: { type: 'boolean' },
    dotenv: { type: 'string' },
  });
  if (!options.workspace) throw errors.badRequest('Name the workspace with --workspace A.');
  const config = readConfig(commandEnv(options.dotenv));
  const report = await rollback(config, {
    workspace: options.workspace,
    confirm: async (plan) => {
      if (!options.yes) return ask(plan);
      if (!options.json) process.stdout.write(describe(plan));
      return true;
    },
    log: createLogger({ command: 'rollback' }),
  });
  if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else if (!report.confirmed) process.stdout.write('Nothing was deleted.\n');
  else {
    const total = report.deleted.reduce((sum, t) => sum + t.rows, 0);
    process.stdout.write(`Deleted ${total} rows of workspace "${report.workspace}".\n`);
  }
  return report.confirmed ? 0 : 1;
}
