import { filePieces } from './json-stream.ts';
import {
  XmlFormatError,
  XmlScanner,
  type PooledAttributes,
  type XmlHandler,
} from './xml-scanner.ts';

/**
 * Reads LightRAG's `graph_chunk_entity_relation.graphml` as networkx writes it (both the
 * lxml and the ElementTree writer). Data is mapped through the `<key>` declarations by id
 * to (attr.name, attr.type), never by position, because ids differ between files and one
 * name can have two keys of different types. A key's `<default>` fills in elements of its
 * scope (`for`) that lack the value, as the GraphML specification says.
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
  /**
   * A node whose `entity_id` differs from its id (B04: `ent-<md5>` ids) is delivered under
   * its `entity_id`, and edges naming its id are delivered with that name; this hears of
   * each such node (only when attributes are decoded).
   */
  onRenamedNode?(fileId: string, name: string): void;
}

/**
 * The name shown for an entity: its `entity_id` attribute, else the node id. LightRAG
 * keeps both equal, but other producers use hashes (`ent-<md5>`) as node ids.
 */
export function entityLabel(node: GraphmlNode): string {
  const entityId = node.attributes.entity_id;
  return typeof entityId === 'string' && entityId !== '' ? entityId : node.id;
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

const KEY_TYPES = new Set(['string', 'boolean', 'int', 'long', 'integer', 'float', 'double']);
const INTEGER_TEXT = /^\s*[+-]?\d+(_\d+)*\s*$/;
const DECIMAL_TEXT =
  /^\s*[+-]?(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)?\s*$/;
const NON_FINITE_TEXT = /^\s*([+-]?)(nan|inf|infinity)\s*$/i;

/** Converts `<data>` text by the key's attr.type, accepting what Python's int/float do. */
export function convertGraphmlValue(text: string, type: string): GraphValue {
  switch (type) {
    case 'long':
    case 'int':
    case 'integer':
      return convertInteger(text, type);
    case 'double':
    case 'float':
      return convertFloat(text, type);
    case 'boolean':
      return convertBoolean(text);
    default:
      return text;
  }
}

/** Whether `text` is 1-15 ASCII digits: the common case, safe to hand to Number(). */
function plainDigits(text: string): boolean {
  if (text.length === 0 || text.length > 15) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

function convertInteger(text: string, type: string): number {
  if (plainDigits(text)) return Number(text);
  if (!INTEGER_TEXT.test(text))
    throw new GraphmlError(`"${text}" is not a valid ${type}`, undefined);
  return Number(text.replace(/_/g, ''));
}

function convertFloat(text: string, type: string): number {
  const dot = text.indexOf('.');
  if (dot > 0 && plainDigits(text.slice(0, dot)) && plainDigits(text.slice(dot + 1))) {
    return Number(text);
  }
  const special = NON_FINITE_TEXT.exec(text);
  if (special) {
    if ((special[2] as string).toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!DECIMAL_TEXT.test(text))
    throw new GraphmlError(`"${text}" is not a valid ${type}`, undefined);
  return Number(text.replace(/_/g, ''));
}

function convertBoolean(text: string): boolean {
  const lowered = text.trim().toLowerCase();
  if (lowered === 'true' || lowered === '1') return true;
  if (lowered === 'false' || lowered === '0') return false;
  throw new GraphmlError(`"${text}" is not a valid boolean`, undefined);
}

function required(attributes: PooledAttributes, name: string, tag: string, at: number): string {
  const value = attributes.get(name);
  if (value === undefined) throw new GraphmlError(`<${tag}> without a "${name}" attribute`, at);
  return value;
}

/** Where a value came from, for error messages: `node "Alice"`, `edge "A" - "B"`. */
function describe(element: GraphmlNode | GraphmlEdge): string {
  if ('id' in element) return `node ${JSON.stringify(element.id)}`;
  return `edge ${JSON.stringify(element.source)} - ${JSON.stringify(element.target)}`;
}

class GraphmlBuilder implements XmlHandler {
  private readonly keys = new Map<string, KeyDeclaration>();
  private key: KeyDeclaration | undefined;
  private node: GraphmlNode | undefined;
  private edge: GraphmlEdge | undefined;
  private dataKey: KeyDeclaration | undefined;
  private dataOffset = 0;
  private text = '';
  private inDefault = false;
  private defaults: { node: KeyDeclaration[]; edge: KeyDeclaration[] } | undefined;
  /** File node ids delivered under another name (their entity_id), and those names. */
  private readonly renamed = new Map<string, string>();
  private readonly names = new Set<string>();
  private edgeSeen = false;

  constructor(private readonly sink: GraphmlSink) {}

  onOpen(name: string, attributes: PooledAttributes, _selfClosing: boolean, at: number): void {
    if (name === 'data') this.openData(attributes, at);
    else if (name === 'node') this.openNode(attributes, at);
    else if (name === 'edge') this.openEdge(attributes, at);
    else if (name === 'key') this.openKey(attributes, at);
    else if (name === 'default') this.openDefault(at);
    else if (name === 'graph') this.openGraph(attributes);
  }

  onClose(name: string): void {
    if (name === 'data') this.closeData();
    else if (name === 'node') this.closeNode();
    else if (name === 'edge') this.closeEdge();
    else if (name === 'default') this.closeDefault();
    else if (name === 'key') this.key = undefined;
  }

  wantsText(): boolean {
    return this.inDefault || (this.dataKey !== undefined && this.sink.wantsAttributes);
  }

  onText(text: string): void {
    this.text = this.text === '' ? text : this.text + text;
  }

  private openKey(attributes: PooledAttributes, at: number): void {
    const id = required(attributes, 'id', 'key', at);
    const type = attributes.get('attr.type') ?? 'string';
    if (!KEY_TYPES.has(type)) {
      throw new GraphmlError(`<key id="${id}"> has an unknown attr.type "${type}"`, at);
    }
    const name = attributes.get('attr.name') ?? id;
    this.key = { name, type, scope: attributes.get('for') ?? 'all', fallback: undefined };
    this.keys.set(id, this.key);
    this.defaults = undefined;
  }

  private openDefault(at: number): void {
    this.inDefault = this.key !== undefined;
    this.dataOffset = at;
    this.text = '';
  }

  private closeDefault(): void {
    const key = this.key;
    if (key && this.inDefault) key.fallback = this.convert(key, undefined);
    this.inDefault = false;
  }

  private openGraph(attributes: PooledAttributes): void {
    if (attributes.get('edgedefault') === 'directed') this.sink.onDirected?.();
  }

  private openNode(attributes: PooledAttributes, at: number): void {
    this.node = { id: required(attributes, 'id', 'node', at), attributes: {} };
  }

  private openEdge(attributes: PooledAttributes, at: number): void {
    const source = required(attributes, 'source', 'edge', at);
    const target = required(attributes, 'target', 'edge', at);
    this.edge = { source, target, attributes: {} };
  }

  private openData(attributes: PooledAttributes, at: number): void {
    const id = attributes.getShared('key');
    if (id === undefined) throw new GraphmlError('<data> without a "key" attribute', at);
    const key = this.keys.get(id);
    if (!key) throw new GraphmlError(`<data key="${id}"> refers to no declared <key>`, at);
    this.dataKey = key;
    this.dataOffset = at;
    this.text = '';
  }

  private closeData(): void {
    const key = this.dataKey;
    this.dataKey = undefined;
    const target = this.edge ?? this.node;
    if (!key || !target || !this.sink.wantsAttributes) return;
    target.attributes[key.name] = this.convert(key, target);
  }

  /** Converts the collected text; `target` undefined means the key's own `<default>`. */
  private convert(key: KeyDeclaration, target: GraphmlNode | GraphmlEdge | undefined) {
    if (key.type === 'string') return this.text;
    try {
      return convertGraphmlValue(this.text, key.type);
    } catch (error) {
      if (!(error instanceof GraphmlError)) throw error;
      const what = target ? `"${key.name}" of ${describe(target)}` : `the default of "${key.name}"`;
      throw new GraphmlError(`${error.reason} (${what})`, this.dataOffset);
    }
  }

  private closeNode(): void {
    const node = this.node;
    this.node = undefined;
    if (!node) return;
    this.applyDefaults(node.attributes, 'node');
    if (this.sink.wantsAttributes) this.nameByEntityId(node);
    this.sink.onNode(node);
  }

  /**
   * The entity is its name everywhere in ragspace, as in LightRAG's own files, so a node
   * keyed by something else (a hash) is renamed to its entity_id. Not renamed, so that no
   * edge is cut off or merged away: a node after the first edge (an edge already read may
   * name its id; networkx-made files list every node first), and a second node with a
   * name already given. A node declared again under a renamed id is the same node (as in
   * networkx) and keeps that name.
   */
  private nameByEntityId(node: GraphmlNode): void {
    const earlier = this.renamed.get(node.id);
    if (earlier !== undefined) {
      node.id = earlier;
      return;
    }
    const name = entityLabel(node);
    if (name === node.id || this.edgeSeen || this.names.has(name)) return;
    this.renamed.set(node.id, name);
    this.names.add(name);
    this.sink.onRenamedNode?.(node.id, name);
    node.id = name;
  }

  private closeEdge(): void {
    const edge = this.edge;
    this.edge = undefined;
    if (!edge) return;
    this.applyDefaults(edge.attributes, 'edge');
    this.edgeSeen = true;
    if (this.renamed.size > 0) {
      edge.source = this.renamed.get(edge.source) ?? edge.source;
      edge.target = this.renamed.get(edge.target) ?? edge.target;
    }
    this.sink.onEdge(edge);
  }

  private applyDefaults(target: GraphAttributes, scope: 'node' | 'edge'): void {
    if (!this.sink.wantsAttributes) return;
    this.defaults ??= {
      node: this.keysWithDefault('node'),
      edge: this.keysWithDefault('edge'),
    };
    for (const key of this.defaults[scope]) {
      if (!(key.name in target)) target[key.name] = key.fallback as GraphValue;
    }
  }

  private keysWithDefault(scope: string): KeyDeclaration[] {
    return [...this.keys.values()].filter(
      (key) => key.fallback !== undefined && (key.scope === scope || key.scope === 'all'),
    );
  }
}

/** Streams a GraphML file into `sink`; errors carry the byte offset where known. */
export async function readGraphml(path: string, sink: GraphmlSink): Promise<void> {
  const scanner = new XmlScanner(new GraphmlBuilder(sink));
  try {
    // The scanner copies what it keeps, so one buffer can serve every piece.
    for await (const piece of filePieces(path, true)) scanner.push(piece);
    scanner.end();
  } catch (error) {
    if (error instanceof XmlFormatError) throw new GraphmlError(error.reason, error.offset);
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
