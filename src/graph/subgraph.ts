import type { GraphAttributes } from '../formats/graphml.ts';
import type { KnowledgeGraph } from '../storage/types.ts';
import { compareCodePoints, orderedPair } from './ids.ts';

/**
 * LightRAG's `get_knowledge_graph`, independent of where the graph lives. A backend only
 * answers batched neighbour questions (one round trip per BFS level, not per node), so
 * the file backend answers from memory and PostgreSQL with one query per call.
 *
 * - `*`: the `maxNodes` nodes of highest degree and every edge among them.
 * - a label: breadth-first from that node up to `maxDepth` hops, visiting the nodes of
 *   each depth in order of degree (highest first), until `maxNodes` nodes are taken.
 * - `is_truncated` is true exactly when a node that would otherwise be in the answer was
 *   left out for `maxNodes`; nodes beyond `maxDepth` do not count (as in LightRAG).
 *
 * Differences from networkx, on purpose: ties in degree are broken by name (networkx
 * keeps insertion order, which other backends do not have), and nodes come in selection
 * order (networkx's order depends on Python set iteration).
 */
export interface SubgraphEdge {
  source: string;
  target: string;
  properties: GraphAttributes;
}

export interface SubgraphSource {
  /** Degree of each given node that exists; unknown names are left out. */
  degrees(names: string[]): Promise<Map<string, number>>;
  /** Neighbour names of each given node. */
  neighbours(names: string[]): Promise<Map<string, string[]>>;
  /** The `limit` nodes of highest degree (ties by name), and how many nodes there are. */
  topByDegree(limit: number): Promise<{ names: string[]; total: number }>;
  nodeProperties(names: string[]): Promise<Map<string, GraphAttributes>>;
  /** Every edge whose two ends are among `names`, each once. */
  edgesAmong(names: string[]): Promise<SubgraphEdge[]>;
}

interface Selection {
  names: string[];
  truncated: boolean;
}

const EMPTY: KnowledgeGraph = { nodes: [], edges: [], is_truncated: false };

/** Unvisited names of one level, unique, by degree (highest first) then name. */
function orderLevel(level: string[], degrees: Map<string, number>, visited: Set<string>) {
  const unique = [...new Set(level)].filter((n) => !visited.has(n) && degrees.has(n));
  return unique.sort(
    (a, b) => (degrees.get(b) ?? 0) - (degrees.get(a) ?? 0) || compareCodePoints(a, b),
  );
}

async function nextLevel(source: SubgraphSource, taken: string[], visited: Set<string>) {
  const neighbours = await source.neighbours(taken);
  const next = new Set<string>();
  for (const name of taken) {
    for (const neighbour of neighbours.get(name) ?? []) {
      if (!visited.has(neighbour)) next.add(neighbour);
    }
  }
  return [...next];
}

async function breadthFirst(
  source: SubgraphSource,
  label: string,
  maxDepth: number,
  maxNodes: number,
): Promise<Selection> {
  const visited = new Set<string>();
  let level = [label];
  let degrees = await source.degrees(level);

  for (let depth = 0; ; depth++) {
    const ordered = orderLevel(level, degrees, visited);
    const taken = ordered.slice(0, Math.max(0, maxNodes - visited.size));
    for (const name of taken) visited.add(name);

    if (taken.length < ordered.length) return { names: [...visited], truncated: true };
    if (depth >= maxDepth || taken.length === 0) return { names: [...visited], truncated: false };

    level = await nextLevel(source, taken, visited);
    if (visited.size >= maxNodes) return { names: [...visited], truncated: level.length > 0 };
    degrees = await source.degrees(level);
  }
}

async function topNodes(source: SubgraphSource, maxNodes: number): Promise<Selection> {
  const top = await source.topByDegree(Math.max(0, maxNodes));
  return { names: top.names, truncated: top.total > top.names.length };
}

async function nodesOf(source: SubgraphSource, names: string[]) {
  const properties = await source.nodeProperties(names);
  return names.map((name) => ({
    id: name,
    labels: [name],
    properties: properties.get(name) ?? {},
  }));
}

/** Edges with LightRAG's id "<min>-<max>" and ends in code point order, each pair once. */
async function edgesOf(source: SubgraphSource, names: string[]): Promise<KnowledgeGraph['edges']> {
  const seen = new Set<string>();
  const edges: KnowledgeGraph['edges'] = [];
  for (const edge of await source.edgesAmong(names)) {
    const [low, high] = orderedPair(edge.source, edge.target);
    const pair = `${low}\u0000${high}`;
    if (seen.has(pair)) continue;
    seen.add(pair);
    edges.push({
      id: `${low}-${high}`,
      type: 'DIRECTED',
      source: low,
      target: high,
      properties: edge.properties,
    });
  }
  return edges;
}

async function assemble(source: SubgraphSource, selection: Selection): Promise<KnowledgeGraph> {
  return {
    nodes: await nodesOf(source, selection.names),
    edges: await edgesOf(source, selection.names),
    is_truncated: selection.truncated,
  };
}

export async function knowledgeGraph(
  source: SubgraphSource,
  label: string,
  maxDepth: number,
  maxNodes: number,
): Promise<KnowledgeGraph> {
  const selection =
    label === '*'
      ? await topNodes(source, maxNodes)
      : await breadthFirst(source, label, maxDepth, maxNodes);

  if (selection.names.length === 0 && !selection.truncated) return { ...EMPTY };
  return assemble(source, selection);
}
