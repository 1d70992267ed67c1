import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.ts';

/** Child processes for the tests: the real `ragspace` binary, or a Node script. */
export const BIN = fileURLToPath(new URL('../bin/ragspace.js', import.meta.url));

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs Node with `args` in a clean environment (PATH only) plus `env`; collects output. */
export function runNode(args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `ragspace <args>` as a user runs it. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return runNode([BIN, ...args], env);
}

/** An empty env file (for --dotenv), so no stray .env is read; removed by `cleanup`. */
export function emptyEnvFile(): { path: string; cleanup: () => void } {
  const dir = tempDir('ragspace-env-');
  const path = join(dir.path, 'empty.env');
  writeFileSync(path, '');
  return { path, cleanup: dir.cleanup };
}
