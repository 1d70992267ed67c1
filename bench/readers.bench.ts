import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  fixed,
  mb,
  median,
  note,
  numberOption,
  percentile,
  PROBE,
  probe,
  runChild,
  table,
  type BenchOptions,
  type ChildResult,
} from './bench.ts';
import { llmCacheEntries, writeGraphml, writeKvStore, writeSmallWorkspace } from './generate.ts';

/**
 * The file readers at scale: a working directory of 1,000 small workspaces and one large
 * one (200,000 entities and 400,000 relations in GraphML, about 450 MB, plus a 300 MB
 * key-value file). Measures GraphML throughput and peak RSS next to networkx in the same
 * run, the peak RSS of reading the key-value file, and GET /api/workspaces over a real
 * HTTP server on 127.0.0.1, cold (fresh process) and warm.
 */
const DATA_VERSION = 3;
const SMALL_WORKSPACES = 1000;
const LARGE = {
  nodes: 200_000,
  edges: 400_000,
  descriptionChars: 430,
  kvEntries: 14_000,
  kvEntryChars: 20_000,
};

interface Data {
  workingDir: string;
  graphml: string;
  kv: string;
}

function dataPaths(dataDir: string): Data {
  const workingDir = join(dataDir, 'rag_storage');
  const large = join(workingDir, 'large');
  return {
    workingDir,
    graphml: join(large, 'graph_chunk_entity_relation.graphml'),
    kv: join(large, 'kv_store_llm_response_cache.json'),
  };
}

/** Generates the data unless the same version is already there. */
function ensureData(dataDir: string): Data {
  const paths = dataPaths(dataDir);
  const manifest = join(dataDir, 'manifest.json');
  const wanted = JSON.stringify({ DATA_VERSION, SMALL_WORKSPACES, LARGE });
  if (existsSync(manifest) && readFileSync(manifest, 'utf8') === wanted) return paths;
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(join(paths.workingDir, 'large'), { recursive: true });
  const started = performance.now();
  note('generating the large workspace (GraphML and key-value file)');
  writeGraphml(paths.graphml, {
    nodes: LARGE.nodes,
    edges: LARGE.edges,
    seed: 7,
    descriptionChars: LARGE.descriptionChars,
  });
  writeKvStore(paths.kv, llmCacheEntries(LARGE.kvEntries, LARGE.kvEntryChars, 11));
  note(`generating ${SMALL_WORKSPACES} small workspaces`);
  for (let i = 0; i < SMALL_WORKSPACES; i++) {
    const entities = 20 + (i % 40);
    writeSmallWorkspace(join(paths.workingDir, `ws-${String(i).padStart(4, '0')}`), {
      seed: i + 1,
      entities,
      relations: Math.floor(entities * 1.5),
      documents: 2,
      chunksPerDocument: 3,
      dim: 32,
    });
  }
  writeFileSync(manifest, wanted);
  note(`data ready in ${fixed((performance.now() - started) / 1000)} s`);
  return paths;
}

const NETWORKX = `
import json, resource, sys, time
import networkx as nx
started, cpu = time.perf_counter(), time.process_time()
graph = nx.read_graphml(sys.argv[1])
print(json.dumps({
    'seconds': time.perf_counter() - started,
    'cpuSeconds': time.process_time() - cpu,
    'peakRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    'nodes': graph.number_of_nodes(),
    'edges': graph.number_of_edges(),
}))
`;

interface Python {
  command: string;
  version: string;
}

function findPython(): Python | undefined {
  const script = 'import sys, networkx; print(networkx.__version__, sys.version.split()[0])';
  for (const command of ['python3', '/usr/bin/python3']) {
    const found = spawnSync(command, ['-c', script], { encoding: 'utf8' });
    if (found.status !== 0) continue;
    const [networkx, python] = found.stdout.trim().split(' ');
    return { command, version: `networkx ${networkx} on Python ${python} (${command})` };
  }
  return undefined;
}

type Runs = Record<string, ChildResult['report'][]>;

function checkCounts(report: ChildResult['report'], what: string): void {
  if (report.nodes !== LARGE.nodes || report.edges !== LARGE.edges) {
    throw new Error(`${what} read ${report.nodes} nodes / ${report.edges} edges`);
  }
}

/** Alternates the readers run by run, so a noisy neighbour slows them alike. */
async function graphRounds(data: Data, runs: number, nxRuns: number, python?: Python) {
  const results: Runs = { full: [], count: [], networkx: [], baseline: [] };
  for (let i = 0; i < runs; i++) {
    note(`GraphML round ${i + 1}/${runs}`);
    const full = (await probe('graphml-full', data.graphml)).report;
    checkCounts(full, 'ragspace');
    results.full?.push(full);
    results.count?.push((await probe('graphml-count', data.graphml)).report);
    results.baseline?.push((await probe('baseline')).report);
    if (python && i < nxRuns) {
      const nx = (await runChild(python.command, ['-c', NETWORKX, data.graphml])).report;
      checkCounts(nx, 'networkx');
      results.networkx?.push(nx);
    }
  }
  return results;
}

async function kvRounds(data: Data, runs: number): Promise<ChildResult['report'][]> {
  const reports = [];
  for (let i = 0; i < runs; i++) {
    note(`key-value round ${i + 1}/${runs}`);
    const report = (await probe('kv', data.kv)).report;
    if (report.records !== LARGE.kvEntries) throw new Error(`kv read ${report.records} records`);
    reports.push(report);
  }
  return reports;
}

interface Server {
  url: string;
  stop(): void;
}

/** Starts `probe.ts serve` and waits for the port it prints. */
function startServer(workingDir: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', PROBE, 'serve', workingDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.once('data', (data: Buffer) => {
      const { port } = JSON.parse(data.toString().trim().split('\n')[0] as string) as {
        port: number;
      };
      resolve({ url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') });
    });
  });
}

/** Milliseconds for one GET, body included; checks the page has every workspace. */
async function timedGet(url: string, expectedCount: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(url);
  const body = (await response.json()) as { count?: number };
  const ms = performance.now() - started;
  if (response.status !== 200 || body.count !== expectedCount) {
    throw new Error(`GET ${url} gave ${response.status} with count ${body.count}`);
  }
  return ms;
}

interface Listing {
  cold: number[];
  warmDefault: number[];
  warmFull: number[];
  afterTouch: number[];
}

async function listingRounds(data: Data, rounds: number, warmRequests: number): Promise<Listing> {
  const listing: Listing = { cold: [], warmDefault: [], warmFull: [], afterTouch: [] };
  const expected = SMALL_WORKSPACES + 1;
  const touched = join(data.workingDir, 'ws-0007', 'graph_chunk_entity_relation.graphml');
  for (let round = 0; round < rounds; round++) {
    note(`listing round ${round + 1}/${rounds}`);
    const server = await startServer(data.workingDir);
    try {
      const full = `${server.url}/api/workspaces?limit=10000`;
      listing.cold.push(await timedGet(full, expected));
      for (let i = 0; i < warmRequests; i++) {
        listing.warmDefault.push(await timedGet(`${server.url}/api/workspaces`, expected));
        listing.warmFull.push(await timedGet(full, expected));
      }
      const past = new Date(Date.UTC(2026, 0, 1 + round));
      utimesSync(touched, past, past);
      listing.afterTouch.push(await timedGet(full, expected));
    } finally {
      server.stop();
    }
  }
  return listing;
}

const seconds = (reports: ChildResult['report'][], key = 'seconds') =>
  median(reports.map((r) => Number(r[key])));

function graphRows(graph: Runs, sizeMb: number, python?: Python): string[][] {
  const full = seconds(graph.full ?? []);
  const fullRss = seconds(graph.full ?? [], 'peakRssMb');
  const count = seconds(graph.count ?? []);
  const baseRss = seconds(graph.baseline ?? [], 'peakRssMb');
  const nx = graph.networkx?.length ? seconds(graph.networkx) : NaN;
  const nxRss = graph.networkx?.length ? seconds(graph.networkx, 'peakRssMb') : NaN;
  const speed = nx / full;
  const memory = nxRss / fullRss;
  const met = (ok: boolean) => (python ? (ok ? 'yes' : 'NO') : 'n/a');
  const rate = (s: number) => `${fixed(s, 2)} s = ${fixed(sizeMb / s, 0)} MB/s`;
  return [
    [
      'GraphML read, all attributes decoded',
      rate(full),
      python ? rate(nx) : 'n/a',
      `${fixed(speed)}x faster`,
      '>= 10x',
      met(speed >= 10),
    ],
    [
      'GraphML read, peak RSS of the process',
      `${fixed(fullRss, 0)} MB`,
      python ? `${fixed(nxRss, 0)} MB` : 'n/a',
      `1/${fixed(memory)}`,
      '<= 1/25',
      met(memory >= 25),
    ],
    [
      'GraphML count only (the list uses this)',
      rate(count),
      '',
      `${fixed(nx / count)}x faster`,
      '',
      '',
    ],
    ['Node + tsx process doing nothing (RSS)', `${fixed(baseRss, 0)} MB`, '', '', '', ''],
  ];
}

function kvRows(kv: ChildResult['report'][], sizeMb: number): string[][] {
  const time = seconds(kv);
  const rss = seconds(kv, 'peakRssMb');
  return [
    [
      `Key-value file ${fixed(sizeMb, 0)} MB, ${LARGE.kvEntries} records`,
      `${fixed(time, 2)} s = ${fixed(sizeMb / time, 0)} MB/s`,
      '',
      '',
      '',
      '',
    ],
    [
      'Key-value file, peak RSS of the process',
      `${fixed(rss, 0)} MB`,
      '',
      '',
      '< 300 MB',
      rss < 300 ? 'yes' : 'NO',
    ],
  ];
}

function listingRows(listing: Listing): string[][] {
  const ms = (values: number[]) =>
    `${fixed(median(values))} ms (p95 ${fixed(percentile(values, 0.95))})`;
  const warm = median(listing.warmFull);
  return [
    [
      'GET /api/workspaces cold: fresh server, reads all',
      `${fixed(median(listing.cold) / 1000, 2)} s`,
      '',
      '',
      '',
      '',
    ],
    ['GET /api/workspaces warm, default page (100)', ms(listing.warmDefault), '', '', '', ''],
    [
      'GET /api/workspaces warm, all 1,001 (limit=10000)',
      ms(listing.warmFull),
      '',
      '',
      '< 20 ms',
      warm < 20 ? 'yes' : 'NO',
    ],
    [
      'GET /api/workspaces after one file changed',
      `${fixed(median(listing.afterTouch))} ms`,
      '',
      '',
      '',
      '',
    ],
  ];
}

export async function run(options: BenchOptions): Promise<void> {
  const runs = numberOption(options.args, 'runs', 5);
  const nxRuns = numberOption(options.args, 'networkx-runs', 3);
  const data = ensureData(options.dataDir);
  const python = findPython();
  if (!python) note('networkx not found (python3, /usr/bin/python3): no comparison');
  const graphMb = mb(statSync(data.graphml).size);
  const kvMb = mb(statSync(data.kv).size);
  const graph = await graphRounds(data, runs, nxRuns, python);
  const kv = await kvRounds(data, Math.min(runs, 3));
  const listing = await listingRounds(data, 3, 30);
  const header = [
    `node ${process.version}, ${cpus().length} CPUs; ${python?.version ?? 'networkx: not found'}`,
    `GraphML ${fixed(graphMb)} MB (${LARGE.nodes} nodes, ${LARGE.edges} edges); ` +
      `medians of ${runs} runs (networkx: ${Math.min(runs, nxRuns)}), each in a fresh process; ` +
      'listing over real HTTP on 127.0.0.1, 3 servers x 30 warm requests',
  ];
  const rows = [...graphRows(graph, graphMb, python), ...kvRows(kv, kvMb), ...listingRows(listing)];
  process.stdout.write(header.join('\n') + '\n\n');
  process.stdout.write(
    table(['measurement', 'ragspace', 'networkx', 'ratio', 'target', 'met'], rows),
  );
  writeFileSync(
    join(options.dataDir, 'results.json'),
    JSON.stringify({ graph, kv, listing }, null, 2),
  );
}
