import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';

/**
 * One measured task per process, so each starts cold and its peak RSS is its own.
 * Prints a JSON report as its last line: wall and CPU seconds of the task itself (module
 * loading excluded) and the process's peak RSS (VmHWM). `serve` instead prints the port
 * of an HTTP server on 127.0.0.1 and runs until killed. Each task imports only what it
 * uses, so a reader's peak RSS is not inflated by the whole server's modules.
 */
function peakRssMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    if (match) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: fall through to what Node reports.
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function measure(task: () => Promise<Record<string, number>>): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await task();
  const used = process.cpuUsage(cpu);
  const report = {
    ...result,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMb: peakRssMb(),
  };
  process.stdout.write(JSON.stringify(report) + '\n');
}

async function graphmlFull(path: string): Promise<Record<string, number>> {
  const { readGraphml } = await import('../src/formats/graphml.ts');
  const counts = { nodes: 0, edges: 0, attributes: 0 };
  await readGraphml(path, {
    wantsAttributes: true,
    onNode: (node) => {
      counts.nodes++;
      counts.attributes += Object.keys(node.attributes).length;
    },
    onEdge: (edge) => {
      counts.edges++;
      counts.attributes += Object.keys(edge.attributes).length;
    },
  });
  return counts;
}

async function graphmlCount(path: string): Promise<Record<string, number>> {
  const { countGraphml } = await import('../src/formats/graphml.ts');
  return countGraphml(path);
}

async function kvRecords(path: string): Promise<Record<string, number>> {
  const { inspectFile } = await import('../src/storage/file/inspect.ts');
  const facts = await inspectFile(path, basename(path));
  if (facts.errors.length > 0) throw new Error(JSON.stringify(facts.errors));
  return { records: facts.records };
}

async function startServer(workingDir: string): Promise<void> {
  const { serve } = await import('@hono/node-server');
  const { readConfig } = await import('../src/config.ts');
  const { createApp } = await import('../src/http/app.ts');
  const { silentLogger } = await import('../src/log.ts');
  const { FileStorage } = await import('../src/storage/file/index.ts');
  const config = readConfig({ WORKING_DIR: workingDir, LOG_LEVEL: 'error' });
  const storage = new FileStorage(workingDir, { logger: silentLogger });
  const app = createApp({ config, storage, logger: silentLogger });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(JSON.stringify({ port }) + '\n');
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

const [task, path = ''] = process.argv.slice(2);
if (task === 'graphml-full') await measure(() => graphmlFull(path));
else if (task === 'graphml-count') await measure(() => graphmlCount(path));
else if (task === 'kv') await measure(() => kvRecords(path));
else if (task === 'serve') await startServer(path);
else if (task === 'baseline') await measure(async () => ({}));
else throw new Error(`unknown probe task ${task}`);
