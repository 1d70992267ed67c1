import { errors, graphErrors } from '../errors.ts';
import type { GraphAttributes } from '../formats/graphml.ts';
import type { Entity, Relation, WorkspaceReader } from '../storage/types.ts';
import { writeVectors, type GraphContext } from './context.ts';
import { entityVectorId, joinUnique, splitField } from './ids.ts';
import { entityVectorRecord, relationVectorRecord, text } from './records.ts';
import { mergeRelationProperties, removeRelationVectors } from './relations.ts';
import {
  trackEntityChunks,
  trackRelationChunks,
  untrackEntity,
  untrackRelations,
} from './tracking.ts';
import { editedProperties, onlyFields, requireDescription, type Body } from './validate.ts';

/**
 * Entity operations with LightRAG's rules: what a new entity holds, how an edit, a rename
 * and a merge change the graph, the vector rows and the chunk tracking together.
 */
export const MANUAL_SOURCE = 'manual_creation';
const EDITABLE = ['entity_name', 'entity_type', 'description', 'source_id', 'file_path'];

export interface EntityInfo {
  entity_name: string;
  source_id: string | null;
  graph_data: GraphAttributes | null;
}

export async function entityInfo(reader: WorkspaceReader, name: string): Promise<EntityInfo> {
  const entity = await reader.getEntity(name);
  const source = entity?.properties.source_id;
  return {
    entity_name: name,
    source_id: source === undefined ? null : String(source),
    graph_data: entity?.properties ?? null,
  };
}

async function storeEntity(ctx: GraphContext, entity: Entity): Promise<void> {
  await ctx.writer.upsertEntity(entity);
  await writeVectors(ctx, 'entities', [entityVectorRecord(entity, ctx.now)]);
  await trackEntityChunks(ctx, entity.name, entity.properties.source_id);
}

export async function createEntity(
  ctx: GraphContext,
  name: string,
  data: Body,
): Promise<EntityInfo> {
  const description = requireDescription(data.description, 'entity_data.description');
  const extra = editedProperties(data, 'entity_data');
  if (await ctx.writer.getEntity(name)) throw graphErrors.entityExists(ctx.workspace, name);
  const properties: GraphAttributes = {
    entity_id: name,
    entity_type: text(extra, 'entity_type') || 'UNKNOWN',
    description,
    source_id: text(extra, 'source_id') || MANUAL_SOURCE,
    file_path: text(extra, 'file_path') || MANUAL_SOURCE,
    created_at: ctx.now,
  };
  await storeEntity(ctx, { name, properties });
  return entityInfo(ctx.writer, name);
}

async function requireEntity(ctx: GraphContext, name: string): Promise<Entity> {
  const entity = await ctx.writer.getEntity(name);
  if (!entity) throw graphErrors.entityNotFound(ctx.workspace, name);
  return entity;
}

export interface EditOutcome {
  info: EntityInfo;
  summary: {
    merged: boolean;
    merge_status: 'success' | 'not_attempted';
    merge_error: null;
    operation_status: 'success';
    target_entity: string | null;
    final_entity: string;
    renamed: boolean;
  };
}

function outcomeSummary(final: string, renamed: boolean, merged: boolean): EditOutcome['summary'] {
  return {
    merged,
    merge_status: merged ? 'success' : 'not_attempted',
    merge_error: null,
    operation_status: 'success',
    target_entity: renamed ? final : null,
    final_entity: final,
    renamed,
  };
}

function renameTarget(updated: Body, name: string): string {
  const raw = updated.entity_name;
  if (raw === undefined || raw === null) return name;
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw errors.badRequest('Field "updated_data.entity_name" must be a non-empty string.');
  }
  return raw.trim();
}

export async function editEntity(
  ctx: GraphContext,
  name: string,
  updated: Body,
  options: { allowRename: boolean; allowMerge: boolean },
): Promise<EditOutcome> {
  onlyFields(updated, EDITABLE, 'updated_data');
  const changes = editedProperties(updated, 'updated_data');
  const entity = await requireEntity(ctx, name);
  const target = renameTarget(updated, name);
  if (target === name) {
    await updateEntity(ctx, entity, changes);
    return {
      info: await entityInfo(ctx.writer, name),
      summary: outcomeSummary(name, false, false),
    };
  }
  if (!options.allowRename) {
    throw errors.badRequest(`Renaming "${name}" needs "allow_rename": true.`);
  }
  const existing = await ctx.writer.getEntity(target);
  if (existing && !options.allowMerge) {
    throw graphErrors.renameTargetExists(ctx.workspace, name, target);
  }
  if (existing) await mergeEntityInto(ctx, entity, existing, changes);
  else await renameEntity(ctx, entity, target, changes);
  const info = await entityInfo(ctx.writer, target);
  return { info, summary: outcomeSummary(target, true, existing !== undefined) };
}

async function updateEntity(ctx: GraphContext, entity: Entity, changes: GraphAttributes) {
  const properties = { ...entity.properties, ...changes, entity_id: entity.name };
  await storeEntity(ctx, { name: entity.name, properties });
}

/** Moves every relation of `from` onto `to`, merging with relations `to` already has. */
async function repointRelations(ctx: GraphContext, from: string, to: string): Promise<void> {
  const relations = await ctx.writer.relationsOf(from);
  await removeRelationVectors(ctx, relations);
  await untrackRelations(
    ctx,
    relations.map((r): [string, string] => [r.source, r.target]),
  );
  const moved: Relation[] = [];
  for (const relation of relations) {
    const other = relation.source === from ? relation.target : relation.source;
    if (other === to) continue; // would become a self-loop, which LightRAG never stores
    const existing = await ctx.writer.getRelation(to, other);
    const properties = existing
      ? mergeRelationProperties(existing.properties, relation.properties)
      : relation.properties;
    moved.push({ source: to, target: other, properties });
  }
  await ctx.writer.deleteEntity(from);
  for (const relation of moved) {
    await ctx.writer.upsertRelation(relation);
    await trackRelationChunks(ctx, relation.source, relation.target, relation.properties.source_id);
  }
  await writeVectors(
    ctx,
    'relationships',
    moved.map((r) => relationVectorRecord(r, ctx.now)),
  );
}

async function retireEntity(ctx: GraphContext, name: string): Promise<void> {
  await ctx.writer.deleteVectors('entities', [entityVectorId(name)]);
  await untrackEntity(ctx, name);
}

async function renameEntity(
  ctx: GraphContext,
  entity: Entity,
  target: string,
  changes: GraphAttributes,
): Promise<void> {
  const properties = { ...entity.properties, ...changes, entity_id: target };
  await ctx.writer.upsertEntity({ name: target, properties });
  await repointRelations(ctx, entity.name, target);
  await retireEntity(ctx, entity.name);
  await storeEntity(ctx, { name: target, properties });
}

function mergedEntityProperties(source: Entity, target: Entity, changes: GraphAttributes) {
  const s = source.properties;
  const t = target.properties;
  const merged: GraphAttributes = { ...s, ...t };
  merged.description = joinUnique([...splitField(t.description), ...splitField(s.description)]);
  merged.source_id = joinUnique([...splitField(t.source_id), ...splitField(s.source_id)]);
  merged.file_path = joinUnique([...splitField(t.file_path), ...splitField(s.file_path)]);
  return { ...merged, ...changes, entity_id: target.name };
}

async function mergeEntityInto(
  ctx: GraphContext,
  source: Entity,
  target: Entity,
  changes: GraphAttributes,
): Promise<void> {
  const properties = mergedEntityProperties(source, target, changes);
  await repointRelations(ctx, source.name, target.name);
  await retireEntity(ctx, source.name);
  await storeEntity(ctx, { name: target.name, properties });
}

export interface DeletionResult {
  status: 'success' | 'not_found';
  doc_id: string;
  message: string;
  status_code: number;
  file_path: string | null;
}

export async function deleteEntity(ctx: GraphContext, name: string): Promise<DeletionResult> {
  const entity = await ctx.writer.getEntity(name);
  if (!entity) {
    const message = `Entity "${name}" not found in workspace "${ctx.workspace}".`;
    return { status: 'not_found', doc_id: name, message, status_code: 404, file_path: null };
  }
  const relations = await ctx.writer.relationsOf(name);
  await removeRelationVectors(ctx, relations);
  await untrackRelations(
    ctx,
    relations.map((r): [string, string] => [r.source, r.target]),
  );
  await retireEntity(ctx, name);
  await ctx.writer.deleteEntity(name);
  const message = `Entity "${name}" and its ${relations.length} relation(s) deleted.`;
  return { status: 'success', doc_id: name, message, status_code: 200, file_path: null };
}
