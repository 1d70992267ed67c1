import { isRagspaceError } from '../errors.ts';
import { doctorCommand } from './commands/doctor.ts';
import { exportCommand } from './commands/export.ts';
import { migrateCommand } from './commands/migrate.ts';
import { reembedCommand } from './commands/reembed.ts';
import { rollbackCommand } from './commands/rollback.ts';
import { serveCommand } from './commands/serve.ts';
import { statsCommand } from './commands/stats.ts';
import { verifyCommand } from './commands/verify.ts';
import { workspacesCommand } from './commands/workspaces.ts';

/**
 * `ragspace <command>`: each command lives in its own file under commands/ and calls a
 * library function; this file only dispatches and turns errors into exit codes.
 */
export type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  serve: { run: serveCommand, summary: 'start the HTTP server' },
  workspaces: { run: workspacesCommand, summary: 'list workspaces (table, or --json)' },
  doctor: { run: doctorCommand, summary: 'check the PostgreSQL storage (--json)' },
  reembed: { run: reembedCommand, summary: 'compute vectors left pending by earlier writes' },
  migrate: { run: migrateCommand, summary: 'copy workspaces from files into PostgreSQL, verified' },
  verify: { run: verifyCommand, summary: "compare a workspace's files with its PostgreSQL rows" },
  rollback: { run: rollbackCommand, summary: "delete a workspace's rows from PostgreSQL" },
  export: { run: exportCommand, summary: 'write a workspace from PostgreSQL back into files' },
  stats: { run: statsCommand, summary: 'workspace statistics on PostgreSQL (--rebuild)' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `Usage: ragspace <command> [options]\n\nCommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (!isRagspaceError(error)) throw error;
    process.stderr.write(`ragspace: ${error.message}\n`);
    return 1;
  }
}
