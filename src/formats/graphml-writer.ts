import type { GraphAttributes, GraphValue, GraphmlEdge } from './graphml.ts';
import type { TextSink } from './sink.ts';

/**
 * Writes GraphML as networkx's `write_graphml` does for LightRAG's undirected `nx.Graph`
 * (the ElementTree layout: two-space indent, `<key>` elements newest first): key ids
 * `d0..dN` in order of first appearance, node attributes first; `long`, `double`,
 * `string` or `boolean` per value; text as Python's `str()` prints it. Characters XML 1.0
 * cannot carry are removed, as LightRAG does before writing.
 *
 * Speed matters here (a 100,000-node graph is ~150 MB of text): each attribute name is
 * resolved once per write (its declared number type and key ids), text with nothing to
 * escape is used as it is, and output is built in large strings.
 *
 * `writeGraphmlElements` writes only `<node>`/`<edge>` elements with the keys a file
 * already declares, for the file store's append path (storage/file/append.ts).
 */
export type GraphmlType = 'string' | 'long' | 'double' | 'boolean';
export type GraphmlScope = 'node' | 'edge';

export interface GraphmlSource {
  /** Nodes in the order they were added (networkx keeps insertion order). */
  nodes(): Iterable<[string, GraphAttributes]>;
  /** Each undirected edge once. */
  edges(): Iterable<GraphmlEdge>;
  /**
   * The attr.type numbers of this attribute keep (what the file declared); undefined to
   * infer from each value. Asked once per attribute name and scope per write.
   */
  numberType(scope: GraphmlScope, name: string): 'long' | 'double' | undefined;
}

/** Key ids by (scope, attribute name, type): what a file declares or a write assigned. */
export class GraphmlKeys {
  private readonly ids = new Map<string, string>();

  get size(): number {
    return this.ids.size;
  }

  get(scope: GraphmlScope, name: string, type: string): string | undefined {
    return this.ids.get(`${scope}\u0000${name}\u0000${type}`);
  }

  /** Keeps the first id declared for a (scope, name, type), as any of them would do. */
  add(scope: GraphmlScope, name: string, type: string, id: string): void {
    const identity = `${scope}\u0000${name}\u0000${type}`;
    if (!this.ids.has(identity)) this.ids.set(identity, id);
  }
}

const HEADER =
  "<?xml version='1.0' encoding='utf-8'?>\n" +
  '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
  'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns ' +
  'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n';
const FLUSH_CHARS = 1024 * 1024;

// XML 1.0 has no way to carry these: C0 controls other than tab, LF and CR; U+FFFE and
// U+FFFF; UTF-16 surrogates that are not part of a pair.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const XML_ILLEGAL = new RegExp(`${CONTROL.source}|${LONE_SURROGATE.source}`, 'g');
// Text holding none of these is written as it is (the common case, one scan). Any
// surrogate, paired or not, takes the careful path, which keeps pairs.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const TEXT_SPECIAL = /[&<>\r\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const MAYBE_ILLEGAL = /[\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const ATTRIBUTE_SPECIAL = /[&<>"\t\n\r\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;

/** Removes characters XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE/F). */
export function cleanXmlText(text: string): string {
  XML_ILLEGAL.lastIndex = 0;
  return XML_ILLEGAL.test(text) ? text.replace(XML_ILLEGAL, '') : text;
}

function escapeText(text: string): string {
  if (!TEXT_SPECIAL.test(text)) return text;
  // Most text that gets here only holds LightRAG's "<SEP>": nothing to clean.
  const clean = MAYBE_ILLEGAL.test(text) ? cleanXmlText(text) : text;
  // A raw CR would come back as LF from any XML parser; the reference keeps it.
  return clean
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

function escapeAttribute(text: string): string {
  if (!ATTRIBUTE_SPECIAL.test(text)) return text;
  // Parsers normalise tabs and newlines in attribute values to spaces unless escaped.
  return escapeText(text).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#09;');
}

/** Python's `repr(float)`: shortest round-trip digits, exponent outside [1e-4, 1e16). */
export function pythonFloat(value: number): string {
  // Whole numbers below 1e16 (weights such as 1.0) print as their digits and ".0".
  if (Number.isInteger(value) && Math.abs(value) < 1e16 && !Object.is(value, -0)) {
    return `${value}.0`;
  }
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
  const digits = (mantissa as string).replace('.', '');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expSign = exponent < 0 ? '-' : '+';
    return `${sign}${body}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return sign + fixedDigits(digits, exponent);
}

function fixedDigits(digits: string, exponent: number): string {
  if (exponent < 0) return '0.' + '0'.repeat(-exponent - 1) + digits;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${whole}.${fraction === '' ? '0' : fraction}`;
}

function integerText(value: number): string {
  return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
}

/** One attribute name of one scope, resolved once per write. */
interface Attribute {
  scope: GraphmlScope;
  name: string;
  declared: 'long' | 'double' | undefined;
  /** `<data>` line openings per type, `      <data key="dN"`; undefined: no such key. */
  openings: Partial<Record<GraphmlType, string | undefined>>;
}

function typeOf(attribute: Attribute, value: GraphValue): GraphmlType {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  const integral = Number.isInteger(value);
  const type = attribute.declared ?? (integral ? 'long' : 'double');
  return type === 'long' && integral ? 'long' : 'double';
}

function textOf(type: GraphmlType, value: GraphValue): string {
  if (type === 'string') return escapeText(value as string);
  if (type === 'boolean') return value ? 'True' : 'False';
  return type === 'long' ? integerText(value as number) : pythonFloat(value as number);
}

/**
 * Attribute names seen in this write and the key id of each (scope, name, type); `keyId`
 * names a key (a full write assigns new ids; an append looks up the file's, or fails).
 */
class AttributeTable {
  private readonly byScope = {
    node: new Map<string, Attribute>(),
    edge: new Map<string, Attribute>(),
  };

  constructor(
    private readonly source: GraphmlSource,
    private readonly keyId: (
      scope: GraphmlScope,
      name: string,
      type: GraphmlType,
    ) => string | undefined,
  ) {}

  attribute(scope: GraphmlScope, name: string): Attribute {
    let attribute = this.byScope[scope].get(name);
    if (attribute === undefined) {
      const declared = this.source.numberType(scope, name);
      attribute = { scope, name, declared, openings: {} };
      this.byScope[scope].set(name, attribute);
    }
    return attribute;
  }

  /** `      <data key="dN"` for the value's type, or undefined when there is no key. */
  opening(attribute: Attribute, type: GraphmlType): string | undefined {
    if (type in attribute.openings) return attribute.openings[type];
    const id = this.keyId(attribute.scope, attribute.name, type);
    const opening = id === undefined ? undefined : `      <data key="${id}"`;
    attribute.openings[type] = opening;
    return opening;
  }

  /** Whether every value has a key. */
  covers(scope: GraphmlScope, attributes: GraphAttributes): boolean {
    for (const name of Object.keys(attributes)) {
      const attribute = this.attribute(scope, name);
      const value = attributes[name] as GraphValue;
      if (this.opening(attribute, typeOf(attribute, value)) === undefined) return false;
    }
    return true;
  }
}

/** Key ids in order of first appearance of each (scope, name, type), as networkx numbers them. */
class KeyAssigner {
  readonly keys = new GraphmlKeys();
  private readonly declarations: string[] = [];

  readonly assign = (scope: GraphmlScope, name: string, type: GraphmlType): string => {
    const id = `d${this.keys.size}`;
    this.keys.add(scope, name, type, id);
    this.declarations.push(
      `  <key id="${id}" for="${scope}" attr.name="${escapeAttribute(name)}" ` +
        `attr.type="${type}" />\n`,
    );
    return id;
  };

  /** Newest first, as both networkx writers put them. */
  text(): string {
    return [...this.declarations].reverse().join('');
  }
}

function dataText(table: AttributeTable, scope: GraphmlScope, attributes: GraphAttributes) {
  let text = '';
  for (const name of Object.keys(attributes)) {
    const value = attributes[name] as GraphValue;
    const attribute = table.attribute(scope, name);
    const type = typeOf(attribute, value);
    const opening = table.opening(attribute, type);
    if (opening === undefined) throw new Error(`no GraphML key for ${scope} "${name}" (${type})`);
    const body = textOf(type, value);
    text += body === '' ? `${opening} />\n` : `${opening}>${body}</data>\n`;
  }
  return text;
}

function nodeText(table: AttributeTable, id: string, attributes: GraphAttributes): string {
  const data = dataText(table, 'node', attributes);
  const open = `    <node id="${escapeAttribute(id)}"`;
  return data === '' ? `${open} />\n` : `${open}>\n${data}    </node>\n`;
}

function edgeText(table: AttributeTable, edge: GraphmlEdge): string {
  const data = dataText(table, 'edge', edge.attributes);
  const open =
    `    <edge source="${escapeAttribute(edge.source)}" ` +
    `target="${escapeAttribute(edge.target)}"`;
  return data === '' ? `${open} />\n` : `${open}>\n${data}    </edge>\n`;
}

/** Every (scope, name, type) in document order, so ids number as networkx numbers them. */
function collectKeys(source: GraphmlSource, table: AttributeTable): void {
  for (const [, attributes] of source.nodes()) table.covers('node', attributes);
  for (const edge of source.edges()) table.covers('edge', edge.attributes);
}

/** Gathers output into large pieces, so the sink gets few big writes. */
class Pieces {
  private pending = '';

  /** Adds text; returns a piece to write once enough has built up. */
  add(text: string): string | undefined {
    this.pending += text;
    if (this.pending.length < FLUSH_CHARS) return undefined;
    const piece = this.pending;
    this.pending = '';
    return piece;
  }

  rest(): string {
    return this.pending;
  }
}

/** Streams the elements, `first` before the first one; returns how many there were. */
async function writeElements(
  source: GraphmlSource,
  table: AttributeTable,
  sink: TextSink,
  first: string,
): Promise<number> {
  const pieces = new Pieces();
  let count = 0;
  const add = (text: string) => pieces.add(count++ === 0 ? first + text : text);
  for (const [id, attributes] of source.nodes()) {
    const piece = add(nodeText(table, id, attributes));
    if (piece !== undefined) await sink.write(piece);
  }
  for (const edge of source.edges()) {
    const piece = add(edgeText(table, edge));
    if (piece !== undefined) await sink.write(piece);
  }
  if (pieces.rest() !== '') await sink.write(pieces.rest());
  return count;
}

/**
 * Streams the whole document; walks the graph twice (keys first, as GraphML requires).
 * Returns the keys it declared, which an append to the written file may use.
 */
export async function writeGraphmlDocument(
  source: GraphmlSource,
  sink: TextSink,
): Promise<GraphmlKeys> {
  const keys = new KeyAssigner();
  const table = new AttributeTable(source, keys.assign);
  collectKeys(source, table);
  await sink.write(HEADER + keys.text());
  const count = await writeElements(source, table, sink, '  <graph edgedefault="undirected">\n');
  const close = count > 0 ? '  </graph>\n' : '  <graph edgedefault="undirected" />\n';
  await sink.write(close + '</graphml>\n');
  return keys.keys;
}

export async function writeGraphml(source: GraphmlSource, sink: TextSink): Promise<void> {
  await writeGraphmlDocument(source, sink);
}

/** The text that closes a document after its last element. */
export const GRAPHML_CLOSE = '  </graph>\n</graphml>\n';

/** Whether `keys` declares a key for every value of `source` (typed as a write would). */
export function graphmlKeysCover(source: GraphmlSource, keys: GraphmlKeys): boolean {
  const table = new AttributeTable(source, (scope, name, type) => keys.get(scope, name, type));
  for (const [, attributes] of source.nodes()) if (!table.covers('node', attributes)) return false;
  for (const edge of source.edges()) if (!table.covers('edge', edge.attributes)) return false;
  return true;
}

/**
 * Writes only the `<node>` and `<edge>` elements of `source`, with the key ids `keys`
 * declares (check `graphmlKeysCover` first: a value without a key throws).
 */
export async function writeGraphmlElements(
  source: GraphmlSource,
  keys: GraphmlKeys,
  sink: TextSink,
): Promise<void> {
  const table = new AttributeTable(source, (scope, name, type) => keys.get(scope, name, type));
  await writeElements(source, table, sink, '');
}
