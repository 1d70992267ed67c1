import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Shared pieces of the benchmarks: options, child-process probes, medians, tables. */
export interface BenchOptions {
  /** Where this bench keeps generated data (git-ignored). */
  dataDir: string;
  /** Command-line options after the bench names, e.g. `--runs 3`. */
  args: string[];
}

export interface Bench {
  run(options: BenchOptions): Promise<void>;
}

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const PROBE = join(BENCH_DIR, 'probe.ts');

/** The value of `--name N` among the options, else `fallback`. */
export function numberOption(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(args[at + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] as number;
}

export interface ChildResult {
  /** Whatever the child printed as JSON on its last line of stdout. */
  report: Record<string, number | string>;
  stderr: string;
}

/** Runs a command to completion and parses the JSON it prints last. */
export function runChild(command: string, args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${command} exited with ${code}: ${stderr}`));
      try {
        resolve({ report: JSON.parse(last) as ChildResult['report'], stderr });
      } catch {
        reject(new Error(`${command} printed no JSON report: ${stdout}${stderr}`));
      }
    });
  });
}

/** Runs one task of bench/probe.ts in a fresh Node process (through tsx, as ragspace runs). */
export function probe(task: string, ...args: string[]): Promise<ChildResult> {
  return runChild(process.execPath, ['--import', 'tsx', PROBE, task, ...args]);
}

/** A plain text table with aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    '| ' + cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ') + ' |';
  const rule = '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|';
  return [line(headers), rule, ...rows.map(line)].join('\n') + '\n';
}

export const mb = (bytes: number) => bytes / 1e6;
export const fixed = (value: number, digits = 1) => value.toFixed(digits);

/** Logs progress on stderr, so stdout keeps only the results. */
export function note(message: string): void {
  process.stderr.write(`  ${message}\n`);
}
