import { errors } from '../errors.ts';
import type { GraphAttributes } from '../formats/graphml.ts';

/**
 * Checks on request bodies of the graph routes. Each failure names the field and says
 * what is expected; nothing is written when one fails.
 */
export type Body = Record<string, unknown>;

export function requireObject(value: unknown, field: string): Body {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw errors.badRequest(`Field "${field}" must be a JSON object.`, { field });
  }
  return value as Body;
}

export function requireName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw errors.badRequest(`Field "${field}" must be a non-empty string.`, { field });
  }
  return value.trim();
}

export function requireDescription(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw errors.badRequest(`Field "${field}" must be a non-empty description.`, { field });
  }
  return value;
}

export function optionalText(body: Body, key: string, field: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw errors.badRequest(`Field "${field}" must be a string.`, { field });
  }
  return value;
}

export function optionalWeight(body: Body, field: string): number | undefined {
  const value = body.weight;
  if (value === undefined || value === null) return undefined;
  const weight = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    throw errors.badRequest(`Field "${field}" must be a finite number of at least 0.`, { field });
  }
  return weight;
}

export function optionalFlag(body: Body, key: string): boolean {
  const value = body[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw errors.badRequest(`Field "${key}" must be true or false.`, { field: key });
  }
  return value;
}

/** Refuses fields an edit does not know, rather than silently dropping them. */
export function onlyFields(body: Body, allowed: string[], field: string): void {
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw errors.badRequest(
      `Unknown field(s) in "${field}": ${unknown.join(', ')}. Allowed: ${allowed.join(', ')}.`,
      { field, unknown },
    );
  }
}

/** Text fields of an edit, checked and copied; `weight` is a number. */
export function editedProperties(body: Body, field: string): GraphAttributes {
  const properties: GraphAttributes = {};
  for (const key of Object.keys(body)) {
    if (key === 'entity_name') continue;
    if (key === 'weight') {
      properties.weight = optionalWeight(body, `${field}.weight`) as number;
      continue;
    }
    const text = optionalText(body, key, `${field}.${key}`);
    if (text !== undefined) properties[key] = text;
  }
  if (typeof properties.description === 'string' && properties.description.trim() === '') {
    throw errors.badRequest(`Field "${field}.description" must not be empty.`, { field });
  }
  return properties;
}
