import { createReadStream } from 'node:fs';
import {
  GraphmlError,
  readGraphml,
  type GraphmlEdge,
  type GraphmlNode,
} from '../../formats/graphml.ts';
import { GraphmlKeys } from '../../formats/graphml-writer.ts';
import { XmlScanner, type XmlAttributes, type XmlHandler } from '../../formats/xml-scanner.ts';
import { GraphModel, NumberTypes } from './graph.ts';

/**
 * Loads `graph_chunk_entity_relation.graphml` into a GraphModel through the shared
 * streaming reader. The reader turns `long` and `double` values into plain numbers, so
 * the `<key>` declarations are read first (they precede `<graph>`) to remember which
 * numeric type each attribute had: a rewrite then keeps `2.0` a double and `5` a long.
 * When one name is declared with both types, each value's type is inferred from the
 * value instead (an integral double then comes back as a long; harmless to LightRAG).
 *
 * The same pass records the file's key ids, which an append (append.ts) reuses. Keys
 * with a `<default>` rule appending out: a new element lacking that attribute would
 * read back with the default, unlike the graph in memory. So does a repeated key id.
 */
export interface LoadedGraph {
  graph: GraphModel;
  /** Repeated nodes, and edges repeated in either direction, merged as networkx would. */
  duplicates: number;
}

const NUMERIC: Record<string, 'long' | 'double'> = {
  long: 'long',
  int: 'long',
  integer: 'long',
  double: 'double',
  float: 'double',
};

class StopScan extends Error {}

class KeyCollector implements XmlHandler {
  readonly types = new NumberTypes();
  readonly keys = new GraphmlKeys();
  private readonly ids = new Set<string>();
  appendable = true;

  onOpen(name: string, attributes: XmlAttributes): void {
    if (name === 'graph') throw new StopScan();
    if (name === 'default') this.appendable = false;
    if (name !== 'key') return;
    this.recordId(attributes);
    const type = NUMERIC[attributes.get('attr.type') ?? ''];
    const attribute = attributes.get('attr.name') ?? attributes.get('id');
    if (type === undefined || attribute === undefined) return;
    const scope = attributes.get('for') ?? 'all';
    if (scope === 'node' || scope === 'all') this.types.declare('node', attribute, type);
    if (scope === 'edge' || scope === 'all') this.types.declare('edge', attribute, type);
  }

  /** Keys `for` nodes or edges only; others ("all") are left to a full rewrite. */
  private recordId(attributes: XmlAttributes): void {
    const id = attributes.get('id');
    const scope = attributes.get('for');
    const name = attributes.get('attr.name');
    const type = attributes.get('attr.type');
    if (id === undefined || this.ids.has(id)) this.appendable = false;
    if (id === undefined || name === undefined || type === undefined) return;
    this.ids.add(id);
    if (scope === 'node' || scope === 'edge') this.keys.add(scope, name, type, id);
  }

  onClose(): void {}

  wantsText(): boolean {
    return false;
  }

  onText(): void {}
}

/** Reads only the head of the file, up to `<graph>`. Damage is left to the full read. */
async function readKeys(path: string): Promise<KeyCollector> {
  const collector = new KeyCollector();
  const scanner = new XmlScanner(collector);
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream) scanner.push(chunk as Buffer);
  } catch (error) {
    // StopScan ends the scan at <graph>; any damage is reported by the full read.
    if (!(error instanceof StopScan) && !(error instanceof Error)) throw error;
    // Keys read only in part are no basis for an append.
    if (!(error instanceof StopScan)) collector.appendable = false;
  } finally {
    stream.destroy();
  }
  return collector;
}

/** Builds the model as networkx's reader does: repeats merge, missing ends are added. */
interface Seen {
  duplicates: number;
  directed: boolean;
  renamed: boolean;
}

function graphSink(graph: GraphModel, seen: Seen) {
  return {
    wantsAttributes: true,
    onRenamedNode: () => {
      seen.renamed = true;
    },
    onNode: (node: GraphmlNode) => {
      if (graph.hasNode(node.id)) seen.duplicates++;
      graph.mergeNode(node.id, node.attributes);
    },
    onEdge: (edge: GraphmlEdge) => {
      if (graph.edge(edge.source, edge.target)) seen.duplicates++;
      graph.mergeEdge(edge.source, edge.target, edge.attributes);
    },
    onDirected: () => {
      seen.directed = true;
    },
  };
}

export async function loadGraph(path: string): Promise<LoadedGraph> {
  const keys = await readKeys(path);
  const graph = GraphModel.empty(keys.types);
  graph.fileKeys = keys.appendable ? keys.keys : undefined;
  const seen = { duplicates: 0, directed: false, renamed: false };
  await readGraphml(path, graphSink(graph, seen));
  // Nodes renamed to their entity_id (B04) are not the file's ids: appending edges that
  // name them would not join them, so the first write rewrites the file under the names.
  if (seen.renamed) graph.fileKeys = undefined;
  if (seen.directed) {
    throw new GraphmlError(
      'the graph is directed (edgedefault="directed"), but LightRAG reads and writes only ' +
        'undirected graphs; ragspace will not rewrite it as undirected',
      undefined,
    );
  }
  return { graph, duplicates: seen.duplicates };
}
