import type { GraphAttributes } from '../formats/graphml.ts';
import type { Entity, Relation, VectorRecord } from '../storage/types.ts';
import { entityVectorId, orderedPair, relationVectorId } from './ids.ts';

/**
 * How LightRAG derives vector rows from graph objects: the content string that is
 * embedded, the row id, and the meta fields its vector stores keep.
 */
export function text(properties: GraphAttributes, key: string): string {
  const value = properties[key];
  return value === undefined ? '' : String(value);
}

export function entityContent(entity: Entity): string {
  return `${entity.name}\n${text(entity.properties, 'description')}`;
}

export function relationContent(relation: Relation): string {
  const [low, high] = orderedPair(relation.source, relation.target);
  const p = relation.properties;
  return `${text(p, 'keywords')}\t${low}\n${high}\n${text(p, 'description')}`;
}

export function entityVectorRecord(entity: Entity, now: number): VectorRecord {
  return {
    id: entityVectorId(entity.name),
    fields: {
      entity_name: entity.name,
      source_id: text(entity.properties, 'source_id'),
      content: entityContent(entity),
      file_path: text(entity.properties, 'file_path'),
    },
    vector: null,
    createdAt: now,
  };
}

export function relationVectorRecord(relation: Relation, now: number): VectorRecord {
  const [low, high] = orderedPair(relation.source, relation.target);
  return {
    id: relationVectorId(low, high),
    fields: {
      src_id: low,
      tgt_id: high,
      source_id: text(relation.properties, 'source_id'),
      content: relationContent(relation),
      file_path: text(relation.properties, 'file_path'),
    },
    vector: null,
    createdAt: now,
  };
}

export function chunkVectorRecord(
  id: string,
  chunk: { content: string; full_doc_id: string; file_path: string },
  now: number,
): VectorRecord {
  return {
    id,
    fields: { full_doc_id: chunk.full_doc_id, content: chunk.content, file_path: chunk.file_path },
    vector: null,
    createdAt: now,
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
