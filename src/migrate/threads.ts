import { buildSync } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Worker threads running a TypeScript module of this project. The module and everything
 * it imports are bundled once per process into one script (by esbuild, which tsx itself
 * uses): a worker that registered tsx and loaded the modules one by one instead held some
 * 35 MB before doing anything, a bundled one 12 MB; several run at once in a migration.
 */
const bundles = new Map<string, string>();

function bundleOf(moduleUrl: string): string {
  let code = bundles.get(moduleUrl);
  if (code === undefined) {
    const built = buildSync({
      entryPoints: [fileURLToPath(moduleUrl)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    code = built.outputFiles[0]!.text;
    bundles.set(moduleUrl, code);
  }
  return code;
}

export function startTsWorker(
  moduleUrl: string,
  workerData: unknown,
  resourceLimits: ResourceLimits,
): Worker {
  return new Worker(bundleOf(moduleUrl), { eval: true, workerData, resourceLimits });
}
