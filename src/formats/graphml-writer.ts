import type { GraphAttributes, GraphValue, GraphmlEdge } from './graphml.ts';
import type { TextSink } from './sink.ts';

/**
 * Writes GraphML as networkx's `write_graphml` does for LightRAG's undirected `nx.Graph`
 * (the ElementTree layout: two-space indent, `<key>` elements newest first): key ids
 * `d0..dN` in order of first appearance, node attributes first; `long`, `double`,
 * `string` or `boolean` per value; text as Python's `str()` prints it. Characters XML 1.0
 * cannot carry are removed, as LightRAG does before writing.
 */
export type GraphmlType = 'string' | 'long' | 'double' | 'boolean';
export type GraphmlScope = 'node' | 'edge';

export interface GraphmlSource {
  /** Nodes in the order they were added (networkx keeps insertion order). */
  nodes(): Iterable<[string, GraphAttributes]>;
  /** Each undirected edge once. */
  edges(): Iterable<GraphmlEdge>;
  /** The attr.type a number should keep (what the file declared); undefined to infer. */
  numberType(scope: GraphmlScope, name: string, value: number): 'long' | 'double' | undefined;
}

const HEADER =
  "<?xml version='1.0' encoding='utf-8'?>\n" +
  '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
  'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns ' +
  'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n';
const FLUSH_CHARS = 256 * 1024;

// XML 1.0 has no way to carry these: C0 controls other than tab, LF and CR; U+FFFE and
// U+FFFF; UTF-16 surrogates that are not part of a pair.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const XML_ILLEGAL = new RegExp(`${CONTROL.source}|${LONE_SURROGATE.source}`, 'g');

/** Removes characters XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE/F). */
export function cleanXmlText(text: string): string {
  XML_ILLEGAL.lastIndex = 0;
  return XML_ILLEGAL.test(text) ? text.replace(XML_ILLEGAL, '') : text;
}

function escapeText(text: string): string {
  // A raw CR would come back as LF from any XML parser; the reference keeps it.
  return cleanXmlText(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

function escapeAttribute(text: string): string {
  // Parsers normalise tabs and newlines in attribute values to spaces unless escaped.
  return escapeText(text).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#09;');
}

/** Python's `repr(float)`: shortest round-trip digits, exponent outside [1e-4, 1e16). */
export function pythonFloat(value: number): string {
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

interface TypedValue {
  type: GraphmlType;
  text: string;
}

function typedValue(
  source: GraphmlSource,
  scope: GraphmlScope,
  name: string,
  value: GraphValue,
): TypedValue {
  if (typeof value === 'string') return { type: 'string', text: value };
  if (typeof value === 'boolean') return { type: 'boolean', text: value ? 'True' : 'False' };
  const declared = source.numberType(scope, name, value);
  const integral = Number.isInteger(value);
  const type = declared ?? (integral ? 'long' : 'double');
  if (type === 'long' && integral) return { type, text: integerText(value) };
  return { type: 'double', text: pythonFloat(value) };
}

/** Key ids in order of first appearance of each (scope, name, type). */
class KeyTable {
  readonly ids = new Map<string, string>();
  readonly declarations: string[] = [];

  idFor(scope: GraphmlScope, name: string, type: GraphmlType): string {
    const identity = `${scope}\u0000${name}\u0000${type}`;
    let id = this.ids.get(identity);
    if (id === undefined) {
      id = `d${this.ids.size}`;
      this.ids.set(identity, id);
      this.declarations.push(
        `  <key id="${id}" for="${scope}" attr.name="${escapeAttribute(name)}" ` +
          `attr.type="${type}" />\n`,
      );
    }
    return id;
  }
}

function collectKeys(source: GraphmlSource): KeyTable {
  const keys = new KeyTable();
  for (const [, attributes] of source.nodes()) {
    for (const [name, value] of Object.entries(attributes)) {
      keys.idFor('node', name, typedValue(source, 'node', name, value).type);
    }
  }
  for (const edge of source.edges()) {
    for (const [name, value] of Object.entries(edge.attributes)) {
      keys.idFor('edge', name, typedValue(source, 'edge', name, value).type);
    }
  }
  return keys;
}

function element(open: string, close: string, data: string[]): string {
  if (data.length === 0) return `    ${open} />\n`;
  return `    ${open}>\n${data.join('')}    ${close}\n`;
}

function dataLines(
  source: GraphmlSource,
  keys: KeyTable,
  scope: GraphmlScope,
  attributes: GraphAttributes,
): string[] {
  return Object.entries(attributes).map(([name, value]) => {
    const typed = typedValue(source, scope, name, value);
    const id = keys.idFor(scope, name, typed.type);
    const text = escapeText(typed.text);
    return text === ''
      ? `      <data key="${id}" />\n`
      : `      <data key="${id}">${text}</data>\n`;
  });
}

function* bodyPieces(source: GraphmlSource, keys: KeyTable): Generator<string> {
  for (const [id, attributes] of source.nodes()) {
    const open = `<node id="${escapeAttribute(id)}"`;
    yield element(open, '</node>', dataLines(source, keys, 'node', attributes));
  }
  for (const edge of source.edges()) {
    const open =
      `<edge source="${escapeAttribute(edge.source)}" ` +
      `target="${escapeAttribute(edge.target)}"`;
    yield element(open, '</edge>', dataLines(source, keys, 'edge', edge.attributes));
  }
}

/** Streams the whole document; walks the graph twice (keys first, as GraphML requires). */
export async function writeGraphml(source: GraphmlSource, sink: TextSink): Promise<void> {
  const keys = collectKeys(source);
  const keyLines = [...keys.declarations].reverse().join('');
  let pending = HEADER + keyLines;
  let empty = true;
  for (const piece of bodyPieces(source, keys)) {
    pending += (empty ? '  <graph edgedefault="undirected">\n' : '') + piece;
    empty = false;
    if (pending.length >= FLUSH_CHARS) {
      await sink.write(pending);
      pending = '';
    }
  }
  pending += empty ? '  <graph edgedefault="undirected" />\n' : '  </graph>\n';
  await sink.write(pending + '</graphml>\n');
}
