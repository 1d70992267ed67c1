import type { GraphContext } from './context.ts';
import { relationChunkKey, splitField } from './ids.ts';

/**
 * LightRAG's chunk-tracking stores: `entity_chunks` (key: entity name) and
 * `relation_chunks` (key: "min<SEP>max"), each `{chunk_ids, count}`, kept in step with the
 * graph's `source_id` so LightRAG's document deletion finds every reference.
 */
export async function trackEntityChunks(ctx: GraphContext, name: string, sourceId: unknown) {
  const chunkIds = splitField(sourceId);
  if (chunkIds.length === 0) return;
  const record = { chunk_ids: chunkIds, count: chunkIds.length };
  await ctx.writer.upsertKv('entity_chunks', new Map([[name, record]]));
}

export async function trackRelationChunks(
  ctx: GraphContext,
  source: string,
  target: string,
  sourceId: unknown,
) {
  const chunkIds = splitField(sourceId);
  if (chunkIds.length === 0) return;
  const record = { chunk_ids: chunkIds, count: chunkIds.length };
  await ctx.writer.upsertKv(
    'relation_chunks',
    new Map([[relationChunkKey(source, target), record]]),
  );
}

export async function untrackEntity(ctx: GraphContext, name: string): Promise<void> {
  await ctx.writer.deleteKv('entity_chunks', [name]);
}

export async function untrackRelations(ctx: GraphContext, pairs: [string, string][]) {
  if (pairs.length === 0) return;
  await ctx.writer.deleteKv(
    'relation_chunks',
    pairs.map(([a, b]) => relationChunkKey(a, b)),
  );
}
