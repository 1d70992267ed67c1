import { readConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { runDoctor, type DoctorReport } from '../../storage/postgres/doctor.ts';
import { commandEnv, parseOptions } from '../args.ts';
import { renderTable } from '../table.ts';

/**
 * `ragspace doctor [--json] [--dotenv F]`: checks the configured PostgreSQL storage
 * without changing it. Exit code 0 when the storage can work, 1 when it cannot.
 */
export async function doctorCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    json: { type: 'boolean' },
    dotenv: { type: 'string' },
  });
  const config = readConfig(commandEnv(options.dotenv));
  const report = await runDoctor(config, createLogger({ component: 'doctor' }));
  process.stdout.write(
    options.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report),
  );
  return report.ok ? 0 : 1;
}

function presence(found: { installed: string | null; available: string | null }): string {
  return `installed ${found.installed ?? 'no'}, available ${found.available ?? 'no'}`;
}

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

function header(report: DoctorReport): string[] {
  const s = report.storage;
  const lines = [
    `storage     kv=${s.kv} vector=${s.vector} graph=${s.graph} doc_status=${s.doc_status}`,
    `database    ${report.location ?? '-'}`,
    `server      ${report.server_version ?? '-'}`,
    `pgvector    ${presence(report.pgvector)}${report.pgvector.needed ? ' (needed)' : ''}`,
    `pg_trgm     ${presence(report.pg_trgm)}`,
    `EMBEDDING_DIM ${report.embedding_dim ?? 'unset'}`,
  ];
  const p = report.permissions;
  if (p) {
    lines.push(
      `may create  tables: ${yesNo(p.create_tables)}, ` +
        `extension vector: ${yesNo(p.create_extension_vector)}`,
    );
  }
  return lines;
}

function formatReport(report: DoctorReport): string {
  let text = header(report).join('\n') + '\n\n';
  if (report.tables.length > 0) {
    const headers = ['table', 'store', 'exists', 'dim', 'rows per workspace'];
    text += renderTable(headers, tableRows(report)) + '\n';
  }
  for (const other of report.other_vector_tables) text += `other vector table: ${other}\n`;
  for (const note of report.notes) text += `note: ${note}\n`;
  for (const problem of report.problems) text += `PROBLEM: ${problem}\n`;
  return text + (report.ok ? 'ok: the configured storage can work\n' : 'not ok\n');
}

function tableRows(report: DoctorReport): string[][] {
  return report.tables.map((t) => {
    const counts = Object.entries(t.rows_by_workspace).map(([ws, n]) => `${ws}=${n}`);
    const dim = String(t.vector_dimension ?? '-');
    return [t.table, t.store, yesNo(t.exists), dim, counts.join(' ') || '-'];
  });
}
