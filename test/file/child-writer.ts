/**
 * A separate writer process for the file-storage tests (crash and concurrency):
 * `node --import tsx child-writer.ts <working dir> <workspace> <prefix> <count|forever> [bytes]`.
 * Each write adds one entity (linked to "hub"), one full_docs record and one entity
 * vector, so a consistent workspace has as many of each. Prints "wrote <n>" per write.
 */
import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';

const [workingDir, workspace, prefix, countText, fillerText] = process.argv.slice(2);
if (!workingDir || !workspace || !prefix || !countText) {
  throw new Error('usage: child-writer.ts <working dir> <workspace> <prefix> <count|forever>');
}
const count = countText === 'forever' ? Infinity : Number(countText);
const storage = new FileStorage(workingDir, { logger: silentLogger, lock: { waitMs: 120_000 } });
// Bigger records make longer writes, so a kill lands inside one more often.
const filler = 'x'.repeat(Number(fillerText ?? 8192));

async function writeOne(n: number): Promise<void> {
  const name = `${prefix}-${n}`;
  await storage.write(workspace as string, async (w) => {
    await w.upsertEntity({ name, properties: { description: `entity ${n}`, n } });
    await w.upsertRelation({ source: name, target: 'hub', properties: { weight: 1 } });
    await w.upsertKv('full_docs', new Map([[`doc-${name}`, { content: filler, n }]]));
    const vector = Float32Array.from({ length: 256 }, (_, i) => Math.sin(n + i));
    await w.upsertVectors('entities', [
      { id: `ent-${name}`, fields: { entity_name: name, content: name }, vector, createdAt: n },
    ]);
  });
}

const start = await storage
  .read(workspace, (r) => r.entityNames())
  .then(
    (names) => names.filter((name) => name.startsWith(`${prefix}-`)).length,
    () => 0,
  );
for (let n = start; n < start + count; n++) {
  await writeOne(n);
  process.stdout.write(`wrote ${n}\n`);
}
