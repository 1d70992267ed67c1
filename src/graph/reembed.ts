import type { Embedder } from '../embedding/client.ts';
import type { Logger } from '../log.ts';
import type { StorageBackend, VectorNamespace } from '../storage/types.ts';
import { writeVectors } from './context.ts';
import { nowSeconds } from './records.ts';

/**
 * Computes the vectors that writes left pending (no embedding service was configured at
 * the time). Works in batches so a large backlog never holds the workspace lock for long.
 */
const NAMESPACES: VectorNamespace[] = ['entities', 'relationships', 'chunks'];
const BATCH = 256;

export interface ReembedReport {
  workspace: string;
  embedded: Record<VectorNamespace, number>;
}

async function reembedBatch(
  storage: StorageBackend,
  workspace: string,
  namespace: VectorNamespace,
  embedder: Embedder,
  logger: Logger,
): Promise<number> {
  return storage.write(workspace, async (writer) => {
    const pending = (await writer.pendingVectors(namespace)).slice(0, BATCH);
    const ctx = { workspace, writer, embedder, logger, now: nowSeconds() };
    await writeVectors(ctx, namespace, pending);
    return pending.length;
  });
}

export async function reembedWorkspace(
  storage: StorageBackend,
  workspace: string,
  embedder: Embedder,
  logger: Logger,
  onProgress: (namespace: VectorNamespace, done: number) => void = () => undefined,
): Promise<ReembedReport> {
  const embedded = { entities: 0, relationships: 0, chunks: 0 };
  for (const namespace of NAMESPACES) {
    for (;;) {
      const count = await reembedBatch(storage, workspace, namespace, embedder, logger);
      if (count === 0) break;
      embedded[namespace] += count;
      onProgress(namespace, embedded[namespace]);
    }
  }
  logger.info('reembed.done', { workspace, ...embedded });
  return { workspace, embedded };
}
