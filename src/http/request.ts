import type { Context } from 'hono';
import { errors } from '../errors.ts';
import type { Body } from '../graph/validate.ts';
import { workspaceName } from '../workspace/name.ts';
import type { AppEnv } from './context.ts';

/** The workspace of a request: the LIGHTRAG-WORKSPACE header, else the server's WORKSPACE. */
export function requestWorkspace(c: Context<AppEnv>, fallback: string): string {
  const header = c.req.header('lightrag-workspace');
  return header === undefined ? fallback : workspaceName(header.trim());
}

/** Parses a JSON object body; malformed JSON and non-objects are 400s naming the problem. */
export async function jsonBody(c: Context<AppEnv>): Promise<Body> {
  const raw = await c.req.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw errors.badRequest(`The request body is not valid JSON (${reason}).`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw errors.badRequest('The request body must be a JSON object.');
  }
  return parsed as Body;
}

/** An integer query parameter within bounds, or its default. */
export function intParam(
  c: Context<AppEnv>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw errors.badRequest(
      `Query parameter ${name}=${raw} must be a whole number from ${min} to ${max}.`,
    );
  }
  return value;
}

export function requiredParam(c: Context<AppEnv>, name: string): string {
  const value = c.req.query(name);
  if (value === undefined || value === '') {
    throw errors.badRequest(`Query parameter "${name}" is required.`);
  }
  return value;
}
