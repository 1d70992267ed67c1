import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bench, BenchOptions } from './bench.ts';

/**
 * `npm run bench` runs every `bench/<name>.bench.ts`; `npm run bench -- <name> [...]` runs
 * the named ones. Options after the names (`--runs 3`, `--keep-data`) reach each bench
 * untouched. Each bench keeps its generated data under `bench/.data/<name>/`.
 */
const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.ts';

function available(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((file) => file.endsWith(SUFFIX))
    .map((file) => file.slice(0, -SUFFIX.length))
    .sort();
}

async function load(name: string): Promise<Bench> {
  const module = (await import(pathToFileURL(join(BENCH_DIR, name + SUFFIX)).href)) as Bench;
  if (typeof module.run !== 'function') throw new Error(`${name}${SUFFIX} exports no run()`);
  return module;
}

async function main(args: string[]): Promise<number> {
  const firstOption = args.findIndex((arg) => arg.startsWith('--'));
  const names = firstOption < 0 ? args : args.slice(0, firstOption);
  const options = firstOption < 0 ? [] : args.slice(firstOption);
  const known = available();
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown bench ${unknown.join(', ')}; available: ${known.join(', ')}\n`);
    return 2;
  }
  for (const name of names.length > 0 ? names : known) {
    const bench: BenchOptions = { dataDir: join(BENCH_DIR, '.data', name), args: options };
    process.stdout.write(`\n== bench ${name}\n`);
    await (await load(name)).run(bench);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
