import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readConfig } from '../src/config.ts';
import { createApp } from '../src/http/app.ts';
import { silentLogger } from '../src/log.ts';
import { FileStorage } from '../src/storage/file/index.ts';
import { entityName, writeGraphml } from './generate.ts';

/**
 * Issue 3's figures: `/graphs` (depth 3, 1,000 nodes) on the largest sample and on a
 * generated 100,000-node graph with a warm workspace, and `/insert_custom_kg` throughput
 * into a 100,000-entity workspace without embeddings. Runs in process through
 * `app.request`, so it measures ragspace, not the network stack.
 */
const DATA = resolve('bench/.data/graph-routes');
const SAMPLE = resolve('../shared/samples/masterlyj-large-chinese');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function appFor(workingDir: string) {
  const config = readConfig({
    WORKING_DIR: workingDir,
    MAX_GRAPH_NODES: '1000',
    LOG_LEVEL: 'error',
  });
  const storage = new FileStorage(workingDir);
  return { app: createApp({ config, storage, logger: silentLogger }), storage };
}

async function timeGraphs(workingDir: string, workspace: string, label: string, runs: number) {
  const { app } = appFor(workingDir);
  const path = `/graphs?label=${encodeURIComponent(label)}&max_depth=3&max_nodes=1000`;
  const headers = { 'LIGHTRAG-WORKSPACE': workspace };
  const warm = await app.request(path, { headers });
  const body = (await warm.json()) as { nodes: unknown[]; is_truncated: boolean };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const response = await app.request(path, { headers });
    await response.arrayBuffer();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    nodes: body.nodes.length,
    truncated: body.is_truncated,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
  };
}

/** A generated graph plus one hub (entity 0 linked to 1,500 others), so a depth-3 walk
 * from the hub reaches far more than 1,000 nodes, as around a busy module in LoomGraph. */
async function prepareGenerated(nodes: number): Promise<string> {
  const root = join(DATA, `generated-${nodes}`);
  const file = join(root, 'big', 'graph_chunk_entity_relation.graphml');
  if (existsSync(file)) return root;
  mkdirSync(join(root, 'big'), { recursive: true });
  writeGraphml(file, { nodes, edges: nodes * 2, seed: 7, descriptionChars: 120 });
  const { app } = appFor(root);
  const relationships = Array.from({ length: 1500 }, (_, i) => ({
    src_id: entityName(0),
    tgt_id: entityName(1 + ((i * 37) % (nodes - 1))),
    description: 'hub link',
    keywords: 'hub',
  }));
  const headers = { 'LIGHTRAG-WORKSPACE': 'big', 'content-type': 'application/json' };
  const body = JSON.stringify({ relationships });
  await app.request('/insert_custom_kg', { method: 'POST', headers, body });
  return root;
}

function customKgBatch(batch: number, size: number) {
  const entities = Array.from({ length: size }, (_, i) => ({
    entity_name: `Inserted ${batch}-${i}`,
    entity_type: 'component',
    description: `Component ${i} of batch ${batch}, indexed by the benchmark.`,
    source_id: `chunk-bench-${batch}`,
  }));
  const relationships = entities.slice(1).map((e, i) => ({
    src_id: entities[i]!.entity_name,
    tgt_id: e.entity_name,
    description: 'calls',
    keywords: 'calls',
  }));
  return { entities, relationships };
}

async function timeCustomKg(root: string, batches: number, size: number) {
  const workingDir = join(DATA, 'insert');
  rmSync(workingDir, { recursive: true, force: true });
  cpSync(root, workingDir, { recursive: true });
  const { app } = appFor(workingDir);
  const headers = { 'LIGHTRAG-WORKSPACE': 'big', 'content-type': 'application/json' };
  await app.request('/graph/entity/exists?name=x', { headers });
  const rates: number[] = [];
  for (let b = 0; b < batches; b++) {
    const body = JSON.stringify(customKgBatch(b, size));
    const started = performance.now();
    const response = await app.request('/insert_custom_kg', { method: 'POST', headers, body });
    if (response.status !== 200) throw new Error(`insert failed: ${await response.text()}`);
    rates.push(size / ((performance.now() - started) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { median: percentile(rates, 50), batches, size };
}

export async function run(options: { quick?: boolean } = {}): Promise<void> {
  const nodes = options.quick ? 20_000 : 100_000;
  const runs = options.quick ? 10 : 40;
  const sampleDir = join(DATA, 'sample');
  rmSync(sampleDir, { recursive: true, force: true });
  mkdirSync(sampleDir, { recursive: true });
  cpSync(SAMPLE, join(sampleDir, 'masterlyj'), { recursive: true });
  const hub = '*';
  const sample = await timeGraphs(sampleDir, 'masterlyj', hub, runs);
  const generatedRoot = await prepareGenerated(nodes);
  const generated = await timeGraphs(generatedRoot, 'big', entityName(0), runs);
  const whole = await timeGraphs(generatedRoot, 'big', '*', runs);
  const insert = await timeCustomKg(generatedRoot, options.quick ? 3 : 10, 1000);
  printGraphs(nodes, [
    ['masterlyj-large-chinese (*)', sample],
    [`generated ${nodes} (hub label)`, generated],
    [`generated ${nodes} (*)`, whole],
  ]);
  console.log(`\n/insert_custom_kg into a ${nodes}-entity workspace, no embeddings`);
  const rate = insert.median.toFixed(0);
  console.log(`median ${rate} entities/s, ${insert.batches} batches of ${insert.size}`);
  console.log('target: >= 5000 entities/s');
}

type Timing = Awaited<ReturnType<typeof timeGraphs>>;

function printGraphs(nodes: number, rows: [string, Timing][]): void {
  const ms = (v: number) => v.toFixed(1).padStart(8);
  console.log('\n/graphs, depth 3, max_nodes 1000, warm workspace (ms)');
  console.log(`${'graph'.padEnd(34)} nodes      p50       p95`);
  for (const [label, t] of rows) {
    console.log(`${label.padEnd(34)} ${String(t.nodes).padStart(5)} ${ms(t.p50)}  ${ms(t.p95)}`);
  }
  console.log(`target: p95 < 50 ms on ${nodes} nodes`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run({ quick: process.argv.includes('--quick') });
}
