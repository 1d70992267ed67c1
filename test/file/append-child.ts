/**
 * A writer process for the append crash test:
 * `node --import tsx append-child.ts <working dir> <workspace> <batch size>`. Each write
 * only adds (so every file takes the append path): `batch` entities linked in a chain
 * and to "hub", their entity_chunks records and pending entity vector rows. Prints
 * "wrote <n>" after each write, and writes until it is killed.
 */
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';

const [workingDir, workspace, batchText] = process.argv.slice(2);
if (!workingDir || !workspace || !batchText) {
  throw new Error('usage: append-child.ts <working dir> <workspace> <batch size>');
}
const batch = Number(batchText);
const storage = new FileStorage(workingDir, { logger: silentLogger, lock: { waitMs: 120_000 } });

async function writeOne(n: number): Promise<void> {
  const names = Array.from({ length: batch }, (_, i) => `n-${n}-${i}`);
  await storage.write(workspace as string, async (w) => {
    for (const [i, name] of names.entries()) {
      await w.upsertEntity({ name, properties: { description: `entity ${n}/${i}` } });
      await w.upsertRelation({ source: name, target: 'hub', properties: { weight: 1 } });
      const previous = names[i - 1];
      if (previous) await w.upsertRelation({ source: previous, target: name, properties: {} });
    }
    const records = names.map((name) => [name, { chunk_ids: ['c'], count: 1 }] as const);
    await w.upsertKv('entity_chunks', new Map(records));
    await w.upsertVectors(
      'entities',
      names.map((name) => ({
        id: `ent-${name}`,
        fields: { content: name },
        vector: null,
        createdAt: n,
      })),
    );
  });
}

const start = await storage.read(workspace, async (r) => {
  const names = await r.entityNames();
  return names.filter((name) => name.startsWith('n-')).length / batch;
});
for (let n = start; ; n++) {
  await writeOne(n);
  process.stdout.write(`wrote ${n}\n`);
}
