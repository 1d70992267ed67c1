import type { Embedder } from '../embedding/client.ts';
import { embeddingErrors } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { VectorNamespace, VectorRecord, WorkspaceWriter } from '../storage/types.ts';

/** What a graph operation needs: where it writes, and how it embeds. */
export interface GraphContext {
  workspace: string;
  writer: WorkspaceWriter;
  embedder: Embedder | undefined;
  logger: Logger;
  now: number;
}

async function checkStoredDimension(
  ctx: GraphContext,
  namespace: VectorNamespace,
  dimension: number,
): Promise<void> {
  const stored = await ctx.writer.vectorDimension(namespace);
  if (stored !== undefined && stored !== dimension) {
    throw embeddingErrors.dimension(
      `the ${stored}-dimension vectors already in ${namespace} of workspace "${ctx.workspace}"`,
      dimension,
      stored,
    );
  }
}

/**
 * Embeds and stores vector rows. Without an embedding service the rows are stored as
 * pending (graph and key-value writes still succeed) and `ragspace reembed` fills them.
 */
export async function writeVectors(
  ctx: GraphContext,
  namespace: VectorNamespace,
  rows: VectorRecord[],
): Promise<void> {
  if (rows.length === 0) return;
  if (!ctx.embedder) {
    await ctx.writer.upsertVectors(namespace, rows);
    return;
  }
  const vectors = await ctx.embedder.embed(rows.map((r) => String(r.fields.content ?? '')));
  await checkStoredDimension(ctx, namespace, vectors[0]?.length ?? 0);
  const embedded = rows.map((row, i) => ({ ...row, vector: vectors[i] ?? null }));
  await ctx.writer.upsertVectors(namespace, embedded);
}
