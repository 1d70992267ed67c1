import { getEncoding, type Tiktoken } from 'js-tiktoken';
import { errors } from '../errors.ts';
import type { GraphAttributes } from '../formats/graphml.ts';
import type { Entity, KvRecord, Relation, VectorRecord } from '../storage/types.ts';
import { writeVectors, type GraphContext } from './context.ts';
import { chunkId, relationChunkKey, splitField } from './ids.ts';
import { chunkVectorRecord, entityVectorRecord, relationVectorRecord } from './records.ts';
import { refuseSelfLoop } from './relations.ts';
import { requireName, requireObject, type Body } from './validate.ts';

/**
 * `POST /insert_custom_kg`: many chunks, entities and relations in LightRAG's custom-KG
 * format, applied in one write (all or nothing). As in LightRAG, chunk ids are
 * `chunk-` + md5(content), an entity's or relation's `source_id` naming a chunk's
 * `source_id` is mapped to that chunk's id, and a relation endpoint that does not exist
 * becomes a stub entity of type and description "UNKNOWN".
 *
 * One deliberate difference: a `source_id` that names no chunk of the request is kept as
 * given (LightRAG replaces it with "UNKNOWN"), so callers that send chunk ids directly
 * keep their provenance.
 */
export interface CustomKgResult {
  chunks: number;
  entities: number;
  relations: number;
  stub_entities: string[];
}

interface ParsedKg {
  chunks: { id: string; record: KvRecord; sourceId: string }[];
  entities: Entity[];
  relations: Relation[];
}

let encoder: Tiktoken | undefined;

/** LightRAG counts chunk tokens with tiktoken's o200k_base (gpt-4o-mini) by default. */
function countTokens(content: string): number {
  encoder ??= getEncoding('o200k_base');
  return encoder.encode(content).length;
}

function list(body: Body, key: string): unknown[] {
  const value = body[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw errors.badRequest(`Field "${key}" must be an array.`);
  return value;
}

function optionalString(item: Body, key: string, where: string): string | undefined {
  const value = item[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw errors.badRequest(`Field "${where}.${key}" must be a string.`);
  return value;
}

function nonEmpty(item: Body, key: string, where: string, fallback?: string): string {
  const value = optionalString(item, key, where);
  if (value === undefined && fallback !== undefined) return fallback;
  if (value === undefined || value.trim() === '') {
    throw errors.badRequest(`Field "${where}.${key}" must be a non-empty string.`);
  }
  return value;
}

function parseChunk(raw: unknown, index: number, fullDocId: string | undefined, filePath: string) {
  const where = `chunks[${index}]`;
  const item = requireObject(raw, where);
  const content = nonEmpty(item, 'content', where).replaceAll('\u0000', '').trim();
  const sourceId = nonEmpty(item, 'source_id', where);
  const order = item.chunk_order_index ?? 0;
  if (!Number.isInteger(order)) {
    throw errors.badRequest(`Field "${where}.chunk_order_index" must be a whole number.`);
  }
  const record: KvRecord = {
    tokens: countTokens(content),
    content,
    chunk_order_index: order,
    full_doc_id: fullDocId ?? sourceId,
    file_path: optionalString(item, 'file_path', where) ?? filePath,
    source_id: sourceId,
    llm_cache_list: [],
  };
  return { id: chunkId(content), record, sourceId };
}

function mapSource(value: string | undefined, chunkIds: Map<string, string>): string {
  if (value === undefined || value === '') return 'UNKNOWN';
  return splitField(value)
    .map((part) => chunkIds.get(part) ?? part)
    .join('<SEP>');
}

function parseEntity(raw: unknown, index: number, ctx: ParseContext): Entity {
  const where = `entities[${index}]`;
  const item = requireObject(raw, where);
  const name = requireName(item.entity_name, `${where}.entity_name`);
  const properties: GraphAttributes = {
    entity_id: name,
    entity_type: optionalString(item, 'entity_type', where) || 'UNKNOWN',
    description: nonEmpty(item, 'description', where, 'No description provided'),
    source_id: mapSource(optionalString(item, 'source_id', where), ctx.chunkIds),
    file_path: optionalString(item, 'file_path', where) ?? ctx.filePath,
    created_at: ctx.now,
  };
  return { name, properties };
}

function parseWeight(item: Body, where: string): number {
  const weight = item.weight ?? 1.0;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    throw errors.badRequest(`Field "${where}.weight" must be a finite number of at least 0.`);
  }
  return weight;
}

function parseRelation(raw: unknown, index: number, ctx: ParseContext): Relation {
  const where = `relationships[${index}]`;
  const item = requireObject(raw, where);
  const source = requireName(item.src_id, `${where}.src_id`);
  const target = requireName(item.tgt_id, `${where}.tgt_id`);
  refuseSelfLoop(source, target);
  const keywords = optionalString(item, 'keywords', where);
  if (keywords === undefined) throw errors.badRequest(`Field "${where}.keywords" is required.`);
  const properties: GraphAttributes = {
    weight: parseWeight(item, where),
    description: nonEmpty(item, 'description', where),
    keywords,
    source_id: mapSource(optionalString(item, 'source_id', where), ctx.chunkIds),
    file_path: optionalString(item, 'file_path', where) ?? ctx.filePath,
    created_at: ctx.now,
  };
  return { source, target, properties };
}

interface ParseContext {
  chunkIds: Map<string, string>;
  filePath: string;
  now: number;
}

/** Checks the whole request before anything is written. */
export function parseCustomKg(body: Body, now: number): ParsedKg {
  const kg = body.custom_kg === undefined ? body : requireObject(body.custom_kg, 'custom_kg');
  const fullDocId = optionalString(body, 'full_doc_id', 'request');
  const filePath = optionalString(body, 'file_path', 'request') ?? 'custom_kg';
  const chunks = list(kg, 'chunks').map((c, i) => parseChunk(c, i, fullDocId, filePath));
  const ctx: ParseContext = { chunkIds: new Map(), filePath, now };
  for (const chunk of chunks) ctx.chunkIds.set(chunk.sourceId, chunk.id);
  const entities = list(kg, 'entities').map((e, i) => parseEntity(e, i, ctx));
  const relations = list(kg, 'relationships').map((r, i) => parseRelation(r, i, ctx));
  if (chunks.length + entities.length + relations.length === 0) {
    throw errors.badRequest('The custom KG holds no chunks, entities or relationships.');
  }
  return { chunks, entities, relations };
}

async function stubEndpoints(ctx: GraphContext, kg: ParsedKg, known: Set<string>) {
  const stubs: string[] = [];
  for (const relation of kg.relations) {
    for (const name of [relation.source, relation.target]) {
      if (known.has(name) || (await ctx.writer.getEntity(name))) continue;
      const properties: GraphAttributes = {
        entity_id: name,
        entity_type: 'UNKNOWN',
        description: 'UNKNOWN',
        source_id: relation.properties.source_id ?? 'UNKNOWN',
        file_path: relation.properties.file_path ?? 'custom_kg',
        created_at: ctx.now,
      };
      await ctx.writer.upsertEntity({ name, properties });
      known.add(name);
      stubs.push(name);
    }
  }
  return stubs;
}

function trackingRecords(items: { key: string; sourceId: unknown }[]): Map<string, KvRecord> {
  const records = new Map<string, KvRecord>();
  for (const { key, sourceId } of items) {
    const chunkIds = splitField(sourceId).filter((id) => id !== 'UNKNOWN');
    if (chunkIds.length > 0) records.set(key, { chunk_ids: chunkIds, count: chunkIds.length });
  }
  return records;
}

async function writeChunks(ctx: GraphContext, kg: ParsedKg): Promise<void> {
  if (kg.chunks.length === 0) return;
  await ctx.writer.upsertKv('text_chunks', new Map(kg.chunks.map((c) => [c.id, c.record])));
  const rows: VectorRecord[] = kg.chunks.map((c) =>
    chunkVectorRecord(
      c.id,
      c.record as { content: string; full_doc_id: string; file_path: string },
      ctx.now,
    ),
  );
  await writeVectors(ctx, 'chunks', rows);
}

export async function insertCustomKg(ctx: GraphContext, kg: ParsedKg): Promise<CustomKgResult> {
  await writeChunks(ctx, kg);
  const known = new Set<string>();
  for (const entity of kg.entities) {
    await ctx.writer.upsertEntity(entity);
    known.add(entity.name);
  }
  const stubs = await stubEndpoints(ctx, kg, known);
  for (const relation of kg.relations) await ctx.writer.upsertRelation(relation);
  await writeVectors(
    ctx,
    'entities',
    kg.entities.map((e) => entityVectorRecord(e, ctx.now)),
  );
  await writeVectors(
    ctx,
    'relationships',
    kg.relations.map((r) => relationVectorRecord(r, ctx.now)),
  );
  const entityTracking = kg.entities.map((e) => ({
    key: e.name,
    sourceId: e.properties.source_id,
  }));
  const relationTracking = kg.relations.map((r) => ({
    key: relationChunkKey(r.source, r.target),
    sourceId: r.properties.source_id,
  }));
  await ctx.writer.upsertKv('entity_chunks', trackingRecords(entityTracking));
  await ctx.writer.upsertKv('relation_chunks', trackingRecords(relationTracking));
  return {
    chunks: kg.chunks.length,
    entities: kg.entities.length,
    relations: kg.relations.length,
    stub_entities: stubs,
  };
}
