import type { Hono } from 'hono';
import type { AppEnv } from '../../src/http/context.ts';

/** Small request helpers for the graph route tests. */
export type App = Hono<AppEnv>;

export async function call(
  app: App,
  method: string,
  path: string,
  options: { workspace?: string; body?: unknown; raw?: string } = {},
): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.workspace !== undefined) headers['LIGHTRAG-WORKSPACE'] = options.workspace;
  const body =
    options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await app.request(path, { method, headers, body });
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

export function entity(name: string, description: string, extra: Record<string, unknown> = {}) {
  return { entity_name: name, entity_data: { description, entity_type: 'org', ...extra } };
}

export function relation(source: string, target: string, description: string) {
  return {
    source_entity: source,
    target_entity: target,
    relation_data: { description, keywords: 'works with', weight: 2 },
  };
}

/** Fills a workspace through the public API. */
export async function seed(app: App, workspace: string, flavour: string): Promise<void> {
  const post = (path: string, body: unknown) => call(app, 'POST', path, { workspace, body });
  for (const name of ['Acme', 'Beta', 'Gamma', 'Delta']) {
    const created = await post('/graph/entity/create', entity(name, `${name} of ${flavour}`));
    if (created.status !== 200) throw new Error(`seed failed: ${created.text}`);
  }
  for (const [a, b] of [
    ['Acme', 'Beta'],
    ['Acme', 'Gamma'],
    ['Beta', 'Gamma'],
  ] as const) {
    const created = await post('/graph/relation/create', relation(a, b, `${a}-${b} in ${flavour}`));
    if (created.status !== 200) throw new Error(`seed failed: ${created.text}`);
  }
}
