import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Small LightRAG-shaped files for tests, written the way LightRAG writes them: GraphML as
 * networkx's lxml writer lays it out, key-value stores as `json.dump(indent=2)`.
 */
export const GRAPH = 'graph_chunk_entity_relation.graphml';

/** A point in time well past the stats cache's race window. */
export const LONG_AGO = new Date('2026-01-01T00:00:00Z');

const HEAD =
  "<?xml version='1.0' encoding='utf-8'?>\n" +
  '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
  'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns ' +
  'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">';

const KEYS =
  '<key id="d3" for="edge" attr.name="description" attr.type="string"/>\n' +
  '<key id="d2" for="edge" attr.name="weight" attr.type="double"/>\n' +
  '<key id="d1" for="node" attr.name="entity_type" attr.type="string"/>\n' +
  '<key id="d0" for="node" attr.name="entity_id" attr.type="string"/>\n';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function nodeXml(name: string): string {
  const text = escape(name);
  return (
    `<node id="${text.replace(/"/g, '&quot;')}">\n` +
    `  <data key="d0">${text}</data>\n  <data key="d1">person</data>\n</node>\n`
  );
}

function edgeXml([source, target]: [string, string]): string {
  const attr = (value: string) => escape(value).replace(/"/g, '&quot;');
  return (
    `<edge source="${attr(source)}" target="${attr(target)}">\n` +
    '  <data key="d2">1.0</data>\n  <data key="d3">knows</data>\n</edge>\n'
  );
}

/** A GraphML file with the given entities and relations. */
export function graphml(nodes: string[], edges: [string, string][] = []): string {
  const body = nodes.map(nodeXml).join('') + edges.map(edgeXml).join('');
  return `${HEAD}${KEYS}<graph edgedefault="undirected">${body}</graph></graphml>`;
}

/** `count` entities named `<prefix>0..` joined in a chain by `count - 1` relations. */
export function chainGraph(prefix: string, count: number): string {
  const nodes = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const edges = nodes.slice(1).map((node, i): [string, string] => [nodes[i] as string, node]);
  return graphml(nodes, edges);
}

/** A key-value store as LightRAG writes it. */
export function kv(records: Record<string, unknown>): string {
  return JSON.stringify(records, null, 2);
}

/** Doc-status records with the given statuses, keyed doc-0, doc-1, ... */
export function docStatus(...statuses: string[]): string {
  const records: Record<string, unknown> = {};
  statuses.forEach((status, i) => {
    records[`doc-${i}`] = { status, file_path: `file-${i}.pdf`, content_summary: 'text' };
  });
  return kv(records);
}

/** Sets the modification time of every file under `root` (recursively). */
export function ageTree(root: string, when: Date = LONG_AGO): void {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) ageTree(path, when);
    else utimesSync(path, when, when);
  }
}

export function sizeOf(path: string): number {
  return statSync(path).size;
}
