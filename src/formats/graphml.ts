import { createReadStream } from 'node:fs';
import { XmlFormatError, XmlScanner, type XmlHandler } from './xml-scanner.ts';

/**
 * Reads LightRAG's `graph_chunk_entity_relation.graphml` as networkx writes it (both the
 * lxml and the ElementTree writer). Data is mapped through the `<key>` declarations by id
 * to (attr.name, attr.type), never by position, because ids differ between files and one
 * name can have two keys of different types. Keys may carry a `<default>`.
 */
export type GraphValue = string | number | boolean;
export type GraphAttributes = Record<string, GraphValue>;

export interface GraphmlNode {
  id: string;
  attributes: GraphAttributes;
}

export interface GraphmlEdge {
  source: string;
  target: string;
  attributes: GraphAttributes;
}

export interface GraphmlSink {
  /** When false, `<data>` values are checked but not decoded (counting is faster). */
  wantsAttributes: boolean;
  onNode(node: GraphmlNode): void;
  onEdge(edge: GraphmlEdge): void;
  onDirected?(): void;
}

interface KeyDeclaration {
  name: string;
  type: string;
  scope: string;
  fallback: GraphValue | undefined;
}

export class GraphmlError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number | undefined,
  ) {
    super(offset === undefined ? reason : `${reason} at byte ${offset}`);
    this.name = 'GraphmlError';
  }
}

const NON_FINITE: Record<string, number> = {
  nan: NaN,
  inf: Infinity,
  '+inf': Infinity,
  '-inf': -Infinity,
  infinity: Infinity,
  '-infinity': -Infinity,
};

/** Converts `<data>` text by the key's attr.type, as networkx's reader does. */
export function convertGraphmlValue(text: string, type: string): GraphValue {
  switch (type) {
    case 'long':
    case 'int':
    case 'integer':
    case 'double':
    case 'float':
      return convertNumber(text, type);
    case 'boolean':
      return convertBoolean(text);
    default:
      return text;
  }
}

function convertNumber(text: string, type: string): number {
  const trimmed = text.trim();
  const special = NON_FINITE[trimmed.toLowerCase()];
  const value = special ?? (trimmed === '' ? NaN : Number(trimmed));
  if (Number.isNaN(value) && special === undefined) {
    throw new GraphmlError(`"${text}" is not a valid ${type}`, undefined);
  }
  return value;
}

function convertBoolean(text: string): boolean {
  const lowered = text.trim().toLowerCase();
  if (lowered === 'true' || lowered === '1') return true;
  if (lowered === 'false' || lowered === '0') return false;
  throw new GraphmlError(`"${text}" is not a valid boolean`, undefined);
}

class GraphmlBuilder implements XmlHandler {
  private readonly keys = new Map<string, KeyDeclaration>();
  private key: KeyDeclaration | undefined;
  private element: { node?: GraphmlNode; edge?: GraphmlEdge } | undefined;
  private dataKey: KeyDeclaration | undefined;
  private text: string[] = [];
  private inDefault = false;

  constructor(private readonly sink: GraphmlSink) {}

  onOpen(name: string, attributes: Map<string, string>): void {
    if (name === 'key') this.openKey(attributes);
    else if (name === 'default') this.openDefault();
    else if (name === 'graph') this.openGraph(attributes);
    else if (name === 'node') this.openNode(attributes);
    else if (name === 'edge') this.openEdge(attributes);
    else if (name === 'data') this.openData(attributes);
  }

  onClose(name: string): void {
    if (name === 'data') this.closeData();
    else if (name === 'default') this.closeDefault();
    else if (name === 'key') this.key = undefined;
    else if (name === 'node' || name === 'edge') this.closeElement();
  }

  wantsText(): boolean {
    return this.inDefault || (this.dataKey !== undefined && this.sink.wantsAttributes);
  }

  onText(text: string): void {
    this.text.push(text);
  }

  private openKey(attributes: Map<string, string>): void {
    const id = required(attributes, 'id', '<key>');
    this.key = {
      name: attributes.get('attr.name') ?? id,
      type: attributes.get('attr.type') ?? 'string',
      scope: attributes.get('for') ?? 'all',
      fallback: undefined,
    };
    this.keys.set(id, this.key);
  }

  private openDefault(): void {
    this.inDefault = this.key !== undefined;
    this.text = [];
  }

  private closeDefault(): void {
    if (this.key) this.key.fallback = convertGraphmlValue(this.text.join(''), this.key.type);
    this.inDefault = false;
  }

  private openGraph(attributes: Map<string, string>): void {
    if (attributes.get('edgedefault') === 'directed') this.sink.onDirected?.();
  }

  private openNode(attributes: Map<string, string>): void {
    this.element = { node: { id: required(attributes, 'id', '<node>'), attributes: {} } };
  }

  private openEdge(attributes: Map<string, string>): void {
    const source = required(attributes, 'source', '<edge>');
    const target = required(attributes, 'target', '<edge>');
    this.element = { edge: { source, target, attributes: {} } };
  }

  private openData(attributes: Map<string, string>): void {
    if (!this.element) return;
    const id = required(attributes, 'key', '<data>');
    const key = this.keys.get(id);
    if (!key) throw new GraphmlError(`<data key="${id}"> refers to no declared <key>`, undefined);
    this.dataKey = key;
    this.text = [];
  }

  private closeData(): void {
    const key = this.dataKey;
    this.dataKey = undefined;
    if (!key || !this.element || !this.sink.wantsAttributes) return;
    const target = this.element.node ?? this.element.edge;
    if (target) target.attributes[key.name] = convertGraphmlValue(this.text.join(''), key.type);
  }

  private closeElement(): void {
    const element = this.element;
    this.element = undefined;
    if (element?.node) {
      this.applyDefaults(element.node.attributes, 'node');
      this.sink.onNode(element.node);
    } else if (element?.edge) {
      this.applyDefaults(element.edge.attributes, 'edge');
      this.sink.onEdge(element.edge);
    }
  }

  private applyDefaults(target: GraphAttributes, scope: string): void {
    if (!this.sink.wantsAttributes) return;
    for (const key of this.keys.values()) {
      if (key.fallback === undefined || (key.scope !== scope && key.scope !== 'all')) continue;
      if (!(key.name in target)) target[key.name] = key.fallback;
    }
  }
}

function required(attributes: Map<string, string>, name: string, where: string): string {
  const value = attributes.get(name);
  if (value === undefined)
    throw new GraphmlError(`${where} without a "${name}" attribute`, undefined);
  return value;
}

/** Streams a GraphML file into `sink`; errors carry the byte offset where known. */
export async function readGraphml(path: string, sink: GraphmlSink): Promise<void> {
  const scanner = new XmlScanner(new GraphmlBuilder(sink));
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  let offset = 0;
  try {
    for await (const chunk of stream) {
      scanner.push(chunk as Buffer);
      offset += (chunk as Buffer).length;
    }
    scanner.end();
  } catch (error) {
    if (error instanceof XmlFormatError) throw new GraphmlError(error.reason, error.offset);
    if (error instanceof GraphmlError && error.offset === undefined) {
      throw new GraphmlError(error.reason, offset);
    }
    throw error;
  }
}

/** Counts nodes and edges without decoding attribute values. */
export async function countGraphml(path: string): Promise<{ nodes: number; edges: number }> {
  const counts = { nodes: 0, edges: 0 };
  await readGraphml(path, {
    wantsAttributes: false,
    onNode: () => counts.nodes++,
    onEdge: () => counts.edges++,
  });
  return counts;
}
