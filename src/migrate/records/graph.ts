import { orderedPair } from '../../storage/postgres/graph-codec.ts';
import type { GraphAttributes } from '../../formats/graphml.ts';
import { ENTITIES_TABLE, RELATIONS_TABLE } from '../../storage/postgres/tables.ts';
import { isStorableText, type TextPolicy } from '../../storage/postgres/text.ts';
import type { Entity, Relation } from '../../storage/types.ts';
import type { CanonicalRecord } from '../canonical.ts';
import type { Findings } from '../findings.ts';

/**
 * Graph nodes and edges against ragspace's graph tables (graph-codec.ts). Every attribute
 * survives there (columns, or `extra` with its GraphML type), so the canonical form is the
 * attributes with the text policy applied; an edge is keyed by its endpoints in code-point
 * order, as the relations table keys it.
 */
export const ENTITY_STORE = 'graph_entities';
export const RELATION_STORE = 'graph_relations';

function isClean(attributes: GraphAttributes): boolean {
  for (const key in attributes) {
    const value = attributes[key];
    if (!isStorableText(key)) return false;
    if (typeof value === 'string' && !isStorableText(value)) return false;
  }
  return true;
}

/**
 * Attributes as the codec stores them: text through the policy, names too (in `extra`).
 * Clean attributes (nearly all) are returned as they are: millions of records pass here.
 */
function policed(
  attributes: GraphAttributes,
  policy: TextPolicy,
  where: { store: string; record: string },
): GraphAttributes {
  if (isClean(attributes)) return attributes;
  const out: GraphAttributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    const safeValue =
      typeof value === 'string' ? policy.text(value, where.store, where.record, key) : value;
    out[policy.text(key, where.store, where.record, `${key} (name)`)] = safeValue;
  }
  return out;
}

/** Refuses a node id PostgreSQL would alter (it keys the row); true when it is storable. */
export function checkGraphId(
  name: string,
  store: string,
  policy: TextPolicy,
  findings: Findings,
): boolean {
  try {
    policy.id(name, store === ENTITY_STORE ? ENTITIES_TABLE : RELATIONS_TABLE);
    return true;
  } catch {
    findings.add({
      severity: 'error',
      store,
      code: 'bad_id',
      record: name.toWellFormed(),
      message: 'a node id holds a NUL or a lone surrogate; ids are never altered',
    });
    return false;
  }
}

export function checkSelfLoop(source: string, target: string, findings: Findings): void {
  if (source !== target) return;
  findings.add({
    severity: 'source',
    store: RELATION_STORE,
    code: 'self_loop',
    record: `${source} - ${target}`,
    message: 'an edge joins a node to itself (LightRAG never writes one); copied as it is',
  });
}

function checkEntityId(entity: Entity, findings?: Findings): void {
  const given = entity.properties.entity_id;
  if (given === undefined || given === entity.name) return;
  findings?.add({
    severity: 'warning',
    store: ENTITY_STORE,
    code: 'entity_id_replaced',
    record: entity.name,
    field: 'entity_id',
    message:
      'entity_id differs from the node id; stored as the node id, as LightRAG keeps them equal ' +
      '(the old value is lost)',
  });
}

/**
 * The canonical entity. The backend keeps entity_id equal to the name (as LightRAG does),
 * so an old node without one gains it; one that differs is reported to `findings`.
 */
export function canonicalEntity(
  entity: Entity,
  policy: TextPolicy,
  findings?: Findings,
): CanonicalRecord {
  checkEntityId(entity, findings);
  const record = canonicalEntityRow(entity, policy);
  // A copy, if it differs: the fields may be the entity's own properties, kept as read.
  if (record.fields.entity_id !== entity.name) {
    record.fields = { ...record.fields, entity_id: entity.name };
  }
  return record;
}

/** The canonical form of an entity row read back: exactly what it holds. */
export function canonicalEntityRow(entity: Entity, policy: TextPolicy): CanonicalRecord {
  const where = { store: ENTITY_STORE, record: entity.name };
  return {
    key: entity.name,
    label: entity.name,
    fields: policed(entity.properties, policy, where),
  };
}

export function relationKey(low: string, high: string): string {
  return `${low}\u0001${high}`;
}

function checkWeight(relation: Relation, label: string, findings?: Findings): void {
  const weight = relation.properties.weight;
  if (typeof weight !== 'number' || Number.isFinite(weight)) return;
  findings?.add({
    severity: 'warning',
    store: RELATION_STORE,
    code: 'non_finite_weight',
    record: label,
    field: 'weight',
    // One message for the whole group of findings: the value is not named.
    message:
      'weight is NaN or infinite: kept as it is (DOUBLE PRECISION holds it), but ranks oddly',
  });
}

/** The canonical relation; non-finite weights are reported to `findings`. */
export function canonicalRelation(
  relation: Relation,
  policy: TextPolicy,
  findings?: Findings,
): CanonicalRecord {
  const [low, high] = orderedPair(relation.source, relation.target);
  const label = `${low} - ${high}`;
  checkWeight(relation, label, findings);
  const where = { store: RELATION_STORE, record: label };
  const fields = policed(relation.properties, policy, where);
  return { key: relationKey(low, high), label, fields };
}
