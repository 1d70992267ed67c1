import type { GraphAttributes, GraphmlEdge } from '../../formats/graphml.ts';
import type { GraphmlKeys, GraphmlScope, GraphmlSource } from '../../formats/graphml-writer.ts';
import { compareCodePoints, orderedPair } from '../../graph/ids.ts';
import { rankByDegree, searchLabels } from '../../graph/labels.ts';
import type { SubgraphEdge, SubgraphSource } from '../../graph/subgraph.ts';
import type { Entity, Page, Relation } from '../types.ts';
import { LayeredMap } from './layered-map.ts';

/**
 * One workspace's graph in memory, shaped like networkx's undirected `nx.Graph`: nodes
 * and each node's neighbours keep insertion order (so a rewrite lists them as networkx
 * would), one edge record per unordered pair shared by both ends, self-loops allowed as
 * read. Each edge keeps the orientation it was first written with.
 *
 * Copy-on-write: `clone()` copies the node map and the outer adjacency map as layered
 * maps (layered-map.ts: the copy costs what changed since the last flatten, not the
 * graph's size); a clone copies a node's neighbour map the first time it changes it.
 * Attribute objects are never changed in place, so a snapshot handed to readers stays as
 * it was.
 *
 * Limits: an entity's name is its node id, as in LightRAG's NetworkXStorage; a file from
 * another producer whose node ids are hashes and whose names sit in `entity_id` (issue
 * B04) is served by those hashes. Repeated nodes or edges in a file (A-B and B-A) are
 * merged, later attributes winning, and logged. Attribute names that look like array
 * indexes ("1") come first in a JavaScript object, so a rewrite lists them first.
 *
 * A clone (a writer's copy) also logs what it adds, so the file store can append the new
 * elements to the file instead of rewriting it (append.ts); any other change (an
 * attribute of an existing node or edge, a deletion) marks the log "rewrite".
 */
export interface EdgeRecord extends GraphmlEdge {
  attributes: GraphAttributes;
}

/** What a writer's copy added, in order; `rewrite` once it changed anything else. */
interface Additions {
  nodes: Set<string>;
  edges: Map<string, [string, string]>;
  rewrite: boolean;
}

// U+0000 cannot occur in GraphML text, so it cannot occur in a node name.
const pairKey = (a: string, b: string): string => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

type NumberType = 'long' | 'double' | 'mixed';

/** The attr.type each numeric attribute was declared with, so a rewrite keeps `2.0`. */
export class NumberTypes {
  constructor(private readonly declared = new Map<string, NumberType>()) {}

  declare(scope: GraphmlScope, name: string, type: 'long' | 'double'): void {
    const key = `${scope}:${name}`;
    const known = this.declared.get(key);
    this.declared.set(key, known === undefined || known === type ? type : 'mixed');
  }

  /** The declared type; LightRAG's edge weight is a float unless a file says otherwise. */
  typeOf(scope: GraphmlScope, name: string): 'long' | 'double' | undefined {
    const known = this.declared.get(`${scope}:${name}`);
    if (known === 'mixed') return undefined;
    return known ?? (scope === 'edge' && name === 'weight' ? 'double' : undefined);
  }

  clone(): NumberTypes {
    return new NumberTypes(new Map(this.declared));
  }
}

export class GraphModel {
  private sortedNameCache: string[] | undefined;
  private sortedEdgeCache: EdgeRecord[] | undefined;
  private degreeRankCache: string[] | undefined;

  /**
   * The `<key>` declarations of the file this graph was read from or last written to;
   * undefined when unknown or unusable (keys with defaults), which rules out appending.
   */
  fileKeys: GraphmlKeys | undefined;
  private additions: Additions | undefined;

  private constructor(
    private readonly nodes: LayeredMap<string, GraphAttributes>,
    private readonly adjacency: LayeredMap<string, Map<string, EdgeRecord>>,
    private readonly owned: Set<string>,
    private edges: number,
    readonly types: NumberTypes,
  ) {}

  static empty(types = new NumberTypes()): GraphModel {
    return new GraphModel(LayeredMap.adopt(), LayeredMap.adopt(), new Set(), 0, types);
  }

  /** A writer's copy: shares what it does not change, and logs what it adds. */
  clone(): GraphModel {
    const graph = new GraphModel(
      this.nodes.copy(),
      this.adjacency.copy(),
      new Set(),
      this.edges,
      this.types.clone(),
    );
    graph.fileKeys = this.fileKeys;
    graph.additions = { nodes: new Set(), edges: new Map(), rewrite: false };
    return graph;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  get edgeCount(): number {
    return this.edges;
  }

  hasNode(name: string): boolean {
    return this.nodes.has(name);
  }

  attributes(name: string): GraphAttributes | undefined {
    return this.nodes.get(name);
  }

  edge(a: string, b: string): EdgeRecord | undefined {
    return this.adjacency.get(a)?.get(b);
  }

  neighbours(name: string): string[] {
    return [...(this.adjacency.get(name)?.keys() ?? [])];
  }

  incidentEdges(name: string): EdgeRecord[] {
    return [...(this.adjacency.get(name)?.values() ?? [])];
  }

  /** As networkx counts it: a self-loop adds two. */
  degree(name: string): number {
    const neighbours = this.adjacency.get(name);
    if (!neighbours) return 0;
    return neighbours.size + (neighbours.has(name) ? 1 : 0);
  }

  nodeEntries(): Iterable<[string, GraphAttributes]> {
    return this.nodes.entries();
  }

  /** Each edge once, in networkx's order (by first end's node order, then adjacency). */
  edgeRecords(): EdgeRecord[] {
    const records: EdgeRecord[] = [];
    this.walkEdges((_source, _target, edge) => records.push(edge));
    return records;
  }

  /**
   * Each edge once as networkx's `G.edges()` yields it: the end reached first is the
   * source. A rewrite in this orientation is what networkx itself would write.
   */
  orientedEdges(): GraphmlEdge[] {
    const edges: GraphmlEdge[] = [];
    this.walkEdges((source, target, edge) =>
      edges.push({ source, target, attributes: edge.attributes }),
    );
    return edges;
  }

  /** forEach rather than for-of: no entry arrays, which matters at 100,000s of edges. */
  private walkEdges(visit: (source: string, target: string, edge: EdgeRecord) => void): void {
    const done = new Set<string>();
    this.adjacency.forEach((neighbours, name) => {
      neighbours.forEach((edge, neighbour) => {
        if (!done.has(neighbour)) visit(name, neighbour, edge);
      });
      done.add(name);
    });
  }

  sortedNames(): string[] {
    this.sortedNameCache ??= [...this.nodes.keys()].sort(compareCodePoints);
    return this.sortedNameCache;
  }

  /** Edges by their (smaller, larger) end names. */
  sortedEdges(): EdgeRecord[] {
    this.sortedEdgeCache ??= sortEdges(this.edgeRecords());
    return this.sortedEdgeCache;
  }

  /** All names by degree, highest first, ties by name. */
  byDegree(): string[] {
    this.degreeRankCache ??= rankByDegree(this.degreeEntries(), this.nodes.size);
    return this.degreeRankCache;
  }

  private *degreeEntries(): Generator<[string, number]> {
    for (const name of this.nodes.keys()) yield [name, this.degree(name)];
  }

  /** Adds the node or merges `attributes` into it (networkx's add_node). */
  mergeNode(name: string, attributes: GraphAttributes): void {
    const known = this.nodes.get(name);
    this.noteNode(name, known !== undefined);
    this.nodes.set(name, known ? { ...known, ...attributes } : { ...attributes });
    if (!this.adjacency.has(name)) this.adoptAdjacency(name, new Map());
    this.invalidate();
  }

  deleteNode(name: string): boolean {
    if (!this.nodes.has(name)) return false;
    if (this.additions) this.additions.rewrite = true;
    for (const neighbour of this.neighbours(name)) this.deleteEdge(name, neighbour);
    this.nodes.delete(name);
    this.adjacency.delete(name);
    this.owned.delete(name);
    this.invalidate();
    return true;
  }

  /** Adds the edge (and bare missing ends) or merges into it (networkx's add_edge). */
  mergeEdge(source: string, target: string, attributes: GraphAttributes): EdgeRecord {
    for (const end of [source, target]) if (!this.nodes.has(end)) this.mergeNode(end, {});
    const known = this.edge(source, target);
    this.noteEdge(source, target, known !== undefined);
    const edge: EdgeRecord = known
      ? {
          source: known.source,
          target: known.target,
          attributes: { ...known.attributes, ...attributes },
        }
      : { source, target, attributes: { ...attributes } };
    if (!known) this.edges++;
    this.mutableNeighbours(source).set(target, edge);
    this.mutableNeighbours(target).set(source, edge);
    this.invalidate();
    return edge;
  }

  deleteEdge(a: string, b: string): boolean {
    if (!this.edge(a, b)) return false;
    if (this.additions) this.additions.rewrite = true;
    this.mutableNeighbours(a).delete(b);
    this.mutableNeighbours(b).delete(a);
    this.edges--;
    this.invalidate();
    return true;
  }

  /**
   * The nodes and edges this copy added, as a GraphML source, when adding is all it did;
   * undefined otherwise (and for graphs that are not a writer's copy).
   */
  appendedSource(): GraphmlSource | undefined {
    const additions = this.additions;
    if (!additions || additions.rewrite) return undefined;
    const nodes = [...additions.nodes].map((name): [string, GraphAttributes] => [
      name,
      this.nodes.get(name) ?? {},
    ]);
    const edges: GraphmlEdge[] = [];
    for (const [a, b] of additions.edges.values()) {
      // In the orientation it was added with; networkx's Graph does not keep one.
      const edge = this.edge(a, b);
      if (edge) edges.push(edge);
    }
    return sourceOf(this, nodes, edges);
  }

  /** A change to a node this copy did not add means the file must be rewritten. */
  private noteNode(name: string, known: boolean): void {
    if (!this.additions) return;
    if (!known) this.additions.nodes.add(name);
    else if (!this.additions.nodes.has(name)) this.additions.rewrite = true;
  }

  private noteEdge(source: string, target: string, known: boolean): void {
    if (!this.additions) return;
    const key = pairKey(source, target);
    if (!known) this.additions.edges.set(key, [source, target]);
    else if (!this.additions.edges.has(key)) this.additions.rewrite = true;
  }

  private adoptAdjacency(name: string, neighbours: Map<string, EdgeRecord>): void {
    this.adjacency.set(name, neighbours);
    this.owned.add(name);
  }

  private mutableNeighbours(name: string): Map<string, EdgeRecord> {
    const current = this.adjacency.get(name) ?? new Map<string, EdgeRecord>();
    if (this.owned.has(name)) return current;
    const copy = new Map(current);
    this.adoptAdjacency(name, copy);
    return copy;
  }

  private invalidate(): void {
    this.sortedNameCache = undefined;
    this.sortedEdgeCache = undefined;
    this.degreeRankCache = undefined;
  }
}

function sortEdges(edges: EdgeRecord[]): EdgeRecord[] {
  const keyed = edges.map((edge) => ({ edge, pair: orderedPair(edge.source, edge.target) }));
  keyed.sort(
    (x, y) => compareCodePoints(x.pair[0], y.pair[0]) || compareCodePoints(x.pair[1], y.pair[1]),
  );
  return keyed.map((k) => k.edge);
}

// ---- read queries (the WorkspaceReader graph methods) ----

export function toEntity(name: string, attributes: GraphAttributes): Entity {
  return { name, properties: { ...attributes } };
}

export function toRelation(edge: EdgeRecord): Relation {
  return { source: edge.source, target: edge.target, properties: { ...edge.attributes } };
}

export function popularLabels(graph: GraphModel, limit: number): string[] {
  return graph.byDegree().slice(0, Math.max(0, limit));
}

export function findLabels(graph: GraphModel, query: string, limit: number): string[] {
  return searchLabels(graph.sortedNames(), query, limit);
}

function page<T, U>(items: T[], offset: number, limit: number, map: (item: T) => U): Page<U> {
  const start = Math.max(0, offset);
  const slice = items.slice(start, start + Math.max(0, limit));
  return { items: slice.map(map), total: items.length };
}

export function entityPage(graph: GraphModel, offset: number, limit: number): Page<Entity> {
  return page(graph.sortedNames(), offset, limit, (name) =>
    toEntity(name, graph.attributes(name) ?? {}),
  );
}

export function relationPage(graph: GraphModel, offset: number, limit: number): Page<Relation> {
  return page(graph.sortedEdges(), offset, limit, toRelation);
}

/** Relations touching `name`, by the other end's name. */
export function relationsOf(graph: GraphModel, name: string): Relation[] {
  return sortEdges(graph.incidentEdges(name)).map(toRelation);
}

/** The graph as the backend-neutral subgraph algorithm sees it. */
export function subgraphSource(graph: GraphModel): SubgraphSource {
  const pick = <T>(names: string[], value: (name: string) => T | undefined) => {
    const found = new Map<string, T>();
    for (const name of names) {
      const item = value(name);
      if (item !== undefined) found.set(name, item);
    }
    return found;
  };
  return {
    degrees: async (names) => pick(names, (n) => (graph.hasNode(n) ? graph.degree(n) : undefined)),
    neighbours: async (names) => pick(names, (n) => graph.neighbours(n)),
    topByDegree: async (limit) => ({
      names: graph.byDegree().slice(0, limit),
      total: graph.nodeCount,
    }),
    nodeProperties: async (names) =>
      pick(names, (n) => graph.attributes(n) && { ...graph.attributes(n) }),
    edgesAmong: async (names) => edgesAmong(graph, names),
  };
}

function edgesAmong(graph: GraphModel, names: string[]) {
  const wanted = new Set(names);
  const done = new Set<string>();
  const found: SubgraphEdge[] = [];
  for (const name of names) {
    for (const edge of graph.incidentEdges(name)) {
      const other = edge.source === name ? edge.target : edge.source;
      if (wanted.has(other) && !done.has(other)) {
        found.push({
          source: edge.source,
          target: edge.target,
          properties: { ...edge.attributes },
        });
      }
    }
    done.add(name);
  }
  return found;
}

/** Nodes and edges of `graph` as the GraphML writer reads them (number types from it). */
function sourceOf(
  graph: GraphModel,
  nodes: Iterable<[string, GraphAttributes]>,
  edges: GraphmlEdge[],
): GraphmlSource {
  return {
    nodes: () => nodes,
    edges: () => edges,
    numberType: (scope, name) => graph.types.typeOf(scope, name),
  };
}

/** The graph as the GraphML writer reads it; the edges are walked once per write. */
export function graphmlSource(graph: GraphModel): GraphmlSource {
  let edges: GraphmlEdge[] | undefined;
  return {
    nodes: () => graph.nodeEntries(),
    edges: () => (edges ??= graph.orientedEdges()),
    numberType: (scope, name) => graph.types.typeOf(scope, name),
  };
}
