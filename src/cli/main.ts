import { isRagspaceError } from '../errors.ts';

/**
 * `ragspace <command>`: each command lives in its own file under commands/ and calls a
 * library function; this file only dispatches and turns errors into exit codes.
 * A command's module is loaded only when it runs: loading them all (the server's among
 * them) cost a migration about 80 MB of its memory budget.
 */
export type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  serve: {
    load: async () => (await import('./commands/serve.ts')).serveCommand,
    summary: 'start the HTTP server',
  },
  workspaces: {
    load: async () => (await import('./commands/workspaces.ts')).workspacesCommand,
    summary: 'list workspaces (table, or --json)',
  },
  doctor: {
    load: async () => (await import('./commands/doctor.ts')).doctorCommand,
    summary: 'check the PostgreSQL storage (--json)',
  },
  reembed: {
    load: async () => (await import('./commands/reembed.ts')).reembedCommand,
    summary: 'compute vectors left pending by earlier writes',
  },
  migrate: {
    load: async () => (await import('./commands/migrate.ts')).migrateCommand,
    summary: 'copy workspaces from files into PostgreSQL, verified',
  },
  verify: {
    load: async () => (await import('./commands/verify.ts')).verifyCommand,
    summary: "compare a workspace's files with its PostgreSQL rows",
  },
  rollback: {
    load: async () => (await import('./commands/rollback.ts')).rollbackCommand,
    summary: "delete a workspace's rows from PostgreSQL",
  },
  export: {
    load: async () => (await import('./commands/export.ts')).exportCommand,
    summary: 'write a workspace from PostgreSQL back into files',
  },
  stats: {
    load: async () => (await import('./commands/stats.ts')).statsCommand,
    summary: 'workspace statistics on PostgreSQL (--rebuild)',
  },
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
    const run = await command.load();
    return await run(args);
  } catch (error) {
    if (!isRagspaceError(error)) throw error;
    process.stderr.write(`ragspace: ${error.message}\n`);
    return 1;
  }
}
