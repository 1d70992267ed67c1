import { fileURLToPath } from 'node:url';
import { runNode, type ProcessResult } from '../run-process.ts';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

export type WorkerResult = ProcessResult;

/** Runs the worker in its own Node process with `env` added to a clean environment. */
export function runWorker(env: Record<string, string>, task: object): Promise<WorkerResult> {
  return runNode(['--import', 'tsx', WORKER, JSON.stringify(task)], env);
}
