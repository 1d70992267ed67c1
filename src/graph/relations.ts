import { errors, graphErrors } from '../errors.ts';
import type { GraphAttributes } from '../formats/graphml.ts';
import type { Relation, WorkspaceReader } from '../storage/types.ts';
import { writeVectors, type GraphContext } from './context.ts';
import { joinUnique, orderedPair, relationVectorIds, splitField } from './ids.ts';
import { relationVectorRecord, text } from './records.ts';
import { trackRelationChunks, untrackRelations } from './tracking.ts';
import { editedProperties, onlyFields, requireDescription, type Body } from './validate.ts';

/**
 * Relation operations with LightRAG's rules. Relations are undirected: "A - B" and
 * "B - A" are the same relation, and one that joins an entity to itself is refused.
 */
const MANUAL_SOURCE = 'manual_creation';
const EDITABLE = ['description', 'keywords', 'source_id', 'file_path', 'weight'];

export interface RelationInfo {
  src_entity: string;
  tgt_entity: string;
  source_id: string | null;
  graph_data: GraphAttributes | null;
}

export async function relationInfo(
  reader: WorkspaceReader,
  source: string,
  target: string,
): Promise<RelationInfo> {
  const relation = await reader.getRelation(source, target);
  const sourceId = relation?.properties.source_id;
  return {
    src_entity: source,
    tgt_entity: target,
    source_id: sourceId === undefined ? null : String(sourceId),
    graph_data: relation?.properties ?? null,
  };
}

export function refuseSelfLoop(source: string, target: string): void {
  if (source === target) {
    throw errors.badRequest(
      `A relation must join two different entities; "${source}" cannot relate to itself.`,
    );
  }
}

async function requireEndpoints(ctx: GraphContext, source: string, target: string) {
  if (!(await ctx.writer.getEntity(source))) {
    throw graphErrors.entityNotFound(ctx.workspace, source, 'Source entity');
  }
  if (!(await ctx.writer.getEntity(target))) {
    throw graphErrors.entityNotFound(ctx.workspace, target, 'Target entity');
  }
}

async function storeRelation(ctx: GraphContext, relation: Relation): Promise<void> {
  await ctx.writer.upsertRelation(relation);
  await writeVectors(ctx, 'relationships', [relationVectorRecord(relation, ctx.now)]);
  const { source, target, properties } = relation;
  await trackRelationChunks(ctx, source, target, properties.source_id);
}

export async function createRelation(
  ctx: GraphContext,
  source: string,
  target: string,
  data: Body,
): Promise<RelationInfo> {
  refuseSelfLoop(source, target);
  const description = requireDescription(data.description, 'relation_data.description');
  const extra = editedProperties(data, 'relation_data');
  await requireEndpoints(ctx, source, target);
  if (await ctx.writer.getRelation(source, target)) {
    throw graphErrors.relationExists(ctx.workspace, source, target);
  }
  const properties: GraphAttributes = {
    weight: typeof extra.weight === 'number' ? extra.weight : 1.0,
    description,
    keywords: text(extra, 'keywords'),
    source_id: text(extra, 'source_id') || MANUAL_SOURCE,
    file_path: text(extra, 'file_path') || MANUAL_SOURCE,
    created_at: ctx.now,
  };
  await storeRelation(ctx, { source, target, properties });
  return relationInfo(ctx.writer, source, target);
}

export async function editRelation(
  ctx: GraphContext,
  source: string,
  target: string,
  updated: Body,
): Promise<RelationInfo> {
  onlyFields(updated, EDITABLE, 'updated_data');
  const changes = editedProperties(updated, 'updated_data');
  const relation = await ctx.writer.getRelation(source, target);
  if (!relation) throw graphErrors.relationNotFound(ctx.workspace, source, target);
  const properties = { ...relation.properties, ...changes };
  await storeRelation(ctx, { source, target, properties });
  return relationInfo(ctx.writer, source, target);
}

export async function removeRelationVectors(ctx: GraphContext, relations: Relation[]) {
  const ids = relations.flatMap((r) => relationVectorIds(r.source, r.target));
  if (ids.length > 0) await ctx.writer.deleteVectors('relationships', ids);
}

export async function deleteRelation(ctx: GraphContext, source: string, target: string) {
  const relation = await ctx.writer.getRelation(source, target);
  const label = `${source} - ${target}`;
  if (!relation) {
    const message = `Relation "${label}" not found in workspace "${ctx.workspace}".`;
    return { status: 'not_found', doc_id: label, message, status_code: 404, file_path: null };
  }
  await removeRelationVectors(ctx, [relation]);
  await untrackRelations(ctx, [orderedPair(source, target)]);
  await ctx.writer.deleteRelation(source, target);
  const message = `Relation "${label}" deleted.`;
  return { status: 'success', doc_id: label, message, status_code: 200, file_path: null };
}

function sortedKeywords(...values: unknown[]): string {
  const words = values.flatMap((v) => String(v ?? '').split(','));
  return [...new Set(words.map((w) => w.trim()).filter((w) => w !== ''))].sort().join(',');
}

/** Two relations becoming one (after a merge): texts joined, keywords united, max weight. */
export function mergeRelationProperties(kept: GraphAttributes, other: GraphAttributes) {
  const merged: GraphAttributes = { ...other, ...kept };
  merged.description = joinUnique([
    ...splitField(kept.description),
    ...splitField(other.description),
  ]);
  merged.keywords = sortedKeywords(kept.keywords, other.keywords);
  merged.source_id = joinUnique([...splitField(kept.source_id), ...splitField(other.source_id)]);
  merged.file_path = joinUnique([...splitField(kept.file_path), ...splitField(other.file_path)]);
  merged.weight = Math.max(Number(kept.weight ?? 0), Number(other.weight ?? 0));
  return merged;
}
