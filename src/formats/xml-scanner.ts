/**
 * A small, strict, streaming XML tokenizer over bytes. GraphML files reach hundreds of MB,
 * and general SAX parsers spend most of their time building strings nobody reads; this
 * one walks bytes, hands attributes over as positions decoded only when asked for, shares
 * the strings of repeated tag names and short values, and decodes text only when the
 * handler wants it. It still refuses what a conforming parser refuses: unclosed or
 * mismatched tags, raw "&" or "<", unknown entities, unquoted or repeated attributes, and
 * a file that ends early.
 */
export class XmlFormatError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} at byte ${offset}`);
    this.name = 'XmlFormatError';
  }
}

/**
 * The attributes of the start tag being handled; valid only during `onOpen`. A
 * `Map<string, string>` satisfies it, so handlers written against maps keep working.
 */
export interface XmlAttributes {
  /** The decoded value, or undefined when the tag lacks the attribute. */
  get(name: string): string | undefined;
}

/** What the scanner actually passes: handlers may declare this type to use the extras. */
export interface PooledAttributes extends XmlAttributes {
  /** Like `get`, but short values come from a shared pool (ids repeated in every tag). */
  getShared(name: string): string | undefined;
  toMap(): Map<string, string>;
}

export interface XmlHandler {
  /** `offset` is the file byte offset of the tag's "<"; `attributes` is PooledAttributes. */
  onOpen(name: string, attributes: XmlAttributes, selfClosing: boolean, offset: number): void;
  onClose(name: string, offset: number): void;
  /** Whether the text of the element now open is wanted; unwanted text is only checked. */
  wantsText(): boolean;
  /** Text arrives in one or more pieces per element; `offset` is where the piece starts. */
  onText(text: string, offset: number): void;
}

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const SEMICOLON = 0x3b;
const HASH = 0x23;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const CR = 0x0d;
/** Beyond this, pending markup is taken for an unclosed tag or comment, not data. */
const MAX_PENDING_MARKUP = 64 * 1024 * 1024;
const HAS_AMP = 1;
const HAS_LINE_CHARS = 2;

/**
 * Buffer#toString checks its arguments on every call, which shows when decoding millions
 * of short values; Node's own `utf8Slice` (present in every release, though undocumented)
 * skips that. Fall back to toString should a future Node drop it.
 */
type SliceableBuffer = Buffer & { utf8Slice?: (start: number, end: number) => string };
const hasUtf8Slice = typeof (Buffer.prototype as SliceableBuffer).utf8Slice === 'function';

function utf8(buf: Buffer, start: number, end: number): string {
  if (hasUtf8Slice) return (buf as SliceableBuffer).utf8Slice!(start, end);
  return buf.toString('utf8', start, end);
}

/** Byte classes, looked up once per byte in the hot loops instead of chains of compares. */
const NAME = 0;
const SPACE = 1;
const NAME_END = 2;
const FORBIDDEN = 3;
const BYTE_CLASS = new Uint8Array(256);
for (const byte of [0x20, 0x0a, 0x09, 0x0d]) BYTE_CLASS[byte] = SPACE;
for (const byte of [GT, SLASH, EQUALS]) BYTE_CLASS[byte] = NAME_END;
for (const byte of [LT, DQUOTE, SQUOTE, AMP]) BYTE_CLASS[byte] = FORBIDDEN;

function isSpace(byte: number): boolean {
  return BYTE_CLASS[byte] === SPACE;
}

/** Index of the first byte after a name starting at `from` (stops at the buffer end). */
function nameEnd(buf: Buffer, from: number, offset: number): number {
  let i = from;
  while (i < buf.length) {
    const kind = BYTE_CLASS[buf[i] as number];
    if (kind === NAME) i++;
    else if (kind === FORBIDDEN) throw new XmlFormatError('malformed tag', offset + i);
    else break;
  }
  return i;
}

const NAMED_ENTITIES: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};
const RAW_AMP = 'raw "&" (not an entity reference)';

/** XML 1.0 allows these code points only (production [2] Char). */
function isXmlChar(value: number): boolean {
  if (value < 0x20) return value === 0x09 || value === 0x0a || value === 0x0d;
  if (value <= 0xd7ff) return true;
  if (value < 0xe000) return false;
  if (value <= 0xfffd) return true;
  return value >= 0x10000 && value <= 0x10ffff;
}

type Replacement = { text: string; problem?: undefined } | { text?: undefined; problem: string };

function characterReference(body: string): Replacement {
  const hex = /^#x[0-9a-fA-F]{1,6}$/.test(body);
  if (!hex && !/^#[0-9]{1,7}$/.test(body)) {
    return { problem: `malformed character reference "&${body};"` };
  }
  const value = hex ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
  if (!isXmlChar(value)) return { problem: `"&${body};" refers to a character XML forbids` };
  return { text: String.fromCodePoint(value) };
}

/** What `&body;` stands for, or the problem with it. */
function entity(body: string): Replacement {
  if (/[\s<&]/.test(body)) return { problem: RAW_AMP };
  if (body.startsWith('#')) return characterReference(body);
  const named = NAMED_ENTITIES[body];
  return named === undefined ? { problem: `unknown entity "&${body};"` } : { text: named };
}

/** The five predefined entities, checked in place (no slicing) on the common path. */
function namedEntityAt(text: string, amp: number): [string, number] | undefined {
  const next = text.charCodeAt(amp + 1);
  if (next === 0x6c && text.startsWith('lt;', amp + 1)) return ['<', 4];
  if (next === 0x67 && text.startsWith('gt;', amp + 1)) return ['>', 4];
  if (next === 0x61 && text.startsWith('amp;', amp + 1)) return ['&', 5];
  if (next === 0x71 && text.startsWith('quot;', amp + 1)) return ['"', 6];
  if (next === 0x61 && text.startsWith('apos;', amp + 1)) return ["'", 6];
  return undefined;
}

/** Any other reference: a character reference, or the problem found at `amp`. */
function otherEntityAt(text: string, amp: number, offset: number): [string, number] {
  const semicolon = text.indexOf(';', amp + 1);
  const tooFar = semicolon < 0 || semicolon - amp > 12;
  const found = tooFar ? { problem: RAW_AMP } : entity(text.slice(amp + 1, semicolon));
  if (found.problem !== undefined) {
    throw new XmlFormatError(found.problem, offset + Buffer.byteLength(text.slice(0, amp)));
  }
  return [found.text, semicolon - amp + 1];
}

/** Replaces entity references; throws on a raw "&" or an unknown entity at its byte offset. */
export function decodeEntities(text: string, offset: number): string {
  let amp = text.indexOf('&');
  if (amp < 0) return text;
  let out = '';
  let from = 0;
  while (amp >= 0) {
    const [replacement, length] = namedEntityAt(text, amp) ?? otherEntityAt(text, amp, offset);
    out += text.slice(from, amp) + replacement;
    from = amp + length;
    amp = text.indexOf('&', from);
  }
  return out + text.slice(from);
}

/** Decodes element text: UTF-8, line ends normalised to "\n" as XML requires, entities. */
function decodeText(buf: Buffer, from: number, to: number, base: number): string {
  const raw = utf8(buf, from, to);
  return decodeEntities(raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw, base + from);
}

function matchesAscii(buf: Buffer, at: number, text: string): boolean {
  if (at + text.length > buf.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (buf[at + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

/** Index after a well-formed entity reference at `amp`, or -1; checks without decoding. */
function entityEnd(buf: Buffer, amp: number, to: number): number {
  for (const name of ['lt;', 'gt;', 'amp;', 'quot;', 'apos;']) {
    if (amp + name.length < to && matchesAscii(buf, amp + 1, name)) return amp + 1 + name.length;
  }
  if (buf[amp + 1] !== HASH) return -1;
  const semicolon = buf.indexOf(SEMICOLON, amp);
  if (semicolon < 0 || semicolon >= to || semicolon - amp > 12) return -1;
  const reference = characterReference(buf.toString('latin1', amp + 1, semicolon));
  return reference.problem === undefined ? semicolon + 1 : -1;
}

/** Compares bytes with an ASCII string; non-ASCII text never matches, which is safe here. */
function sameText(buf: Buffer, start: number, end: number, text: string): boolean {
  if (text.length !== end - start) return false;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== buf[start + i]) return false;
  }
  return true;
}

/**
 * Shares the strings of short, often repeated byte runs (tag names, key ids) through a
 * small direct-mapped cache: a hit costs a few byte comparisons and no allocation.
 */
class StringPool {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(512);

  get(buf: Buffer, start: number, end: number): string {
    const length = end - start;
    if (length === 0 || length > 24) return utf8(buf, start, end);
    const last = buf[end - 1] as number;
    const slot = ((buf[start] as number) * 7 + last * 31 + length * 131) & 511;
    const known = this.slots[slot];
    if (known !== undefined && sameText(buf, start, end, known)) return known;
    const text = utf8(buf, start, end);
    this.slots[slot] = text;
    return text;
  }
}

const SPAN = 5;

/** Reads attribute values out of the current buffer by recorded positions. */
class AttributeTable implements PooledAttributes {
  buf: Buffer = Buffer.alloc(0);
  base = 0;
  count = 0;
  /** Per attribute: name start, name end, value start, value end, flags. */
  private spans = new Int32Array(16 * SPAN);

  constructor(private readonly pool: StringPool) {}

  reset(buf: Buffer, base: number): void {
    this.buf = buf;
    this.base = base;
    this.count = 0;
  }

  add(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number, flags: number) {
    if (this.spans.length < (this.count + 1) * SPAN) {
      const grown = new Int32Array(this.spans.length * 2);
      grown.set(this.spans);
      this.spans = grown;
    }
    const at = this.count * SPAN;
    this.spans[at] = nameStart;
    this.spans[at + 1] = nameEnd;
    this.spans[at + 2] = valueStart;
    this.spans[at + 3] = valueEnd;
    this.spans[at + 4] = flags;
    this.count++;
  }

  /** Whether attribute `i` has the same name as the bytes [start, end). */
  sameName(i: number, start: number, end: number): boolean {
    const s = this.spans[i * SPAN] as number;
    const e = this.spans[i * SPAN + 1] as number;
    if (e - s !== end - start) return false;
    for (let k = 0; k < e - s; k++) if (this.buf[s + k] !== this.buf[start + k]) return false;
    return true;
  }

  private find(name: string): number {
    for (let i = 0; i < this.count; i++) {
      const at = i * SPAN;
      if (sameText(this.buf, this.spans[at] as number, this.spans[at + 1] as number, name)) {
        return i;
      }
    }
    return -1;
  }

  get(name: string): string | undefined {
    const i = this.find(name);
    return i < 0 ? undefined : this.value(i, false);
  }

  getShared(name: string): string | undefined {
    const i = this.find(name);
    return i < 0 ? undefined : this.value(i, true);
  }

  toMap(): Map<string, string> {
    const map = new Map<string, string>();
    for (let i = 0; i < this.count; i++) {
      const at = i * SPAN;
      const name = utf8(this.buf, this.spans[at] as number, this.spans[at + 1] as number);
      map.set(name, this.value(i, false));
    }
    return map;
  }

  /** Decodes a value as XML does: entities replaced, literal tabs and newlines as spaces. */
  value(i: number, shared: boolean): string {
    const at = i * SPAN;
    const start = this.spans[at + 2] as number;
    const end = this.spans[at + 3] as number;
    const flags = this.spans[at + 4] as number;
    const raw = shared ? this.pool.get(this.buf, start, end) : utf8(this.buf, start, end);
    if (flags === 0) return raw;
    const spaced = flags & HAS_LINE_CHARS ? raw.replace(/\r\n|[\t\n\r]/g, ' ') : raw;
    return decodeEntities(spaced, this.base + start);
  }
}

export class XmlScanner {
  private carry: Buffer | null = null;
  private base = 0;
  private readonly stack: string[] = [];
  private sawRoot = false;
  private atStart = true;
  private readonly names = new StringPool();
  private readonly texts = new StringPool();
  private readonly attributes = new AttributeTable(new StringPool());
  /** The first "&" at or after the last search in the current buffer (its length: none). */
  private nextAmp = -1;
  private nextCr = -1;

  constructor(private readonly handler: XmlHandler) {}

  /** Scans the next piece of the file; the piece may be reused by the caller afterwards. */
  push(chunk: Buffer): void {
    let rest: Buffer | null = this.atStart ? this.skipBom(chunk) : chunk;
    if (rest && this.carry) rest = this.bridge(this.carry, rest);
    if (rest) this.scan(rest);
    if (this.carry && this.carry.length > MAX_PENDING_MARKUP) {
      throw new XmlFormatError('markup never ends (unclosed tag or comment?)', this.base);
    }
  }

  /** A UTF-8 byte order mark may open the file (possibly split across the first pieces). */
  private skipBom(chunk: Buffer): Buffer | null {
    const head = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    if (head.length < 3 && isBomPrefix(head)) {
      this.carry = Buffer.from(head);
      return null;
    }
    this.atStart = false;
    if (head.length < 3 || !isBomPrefix(head)) return head;
    this.base = 3;
    return head.subarray(3);
  }

  /**
   * Finishes the token cut by the previous piece, joining the carried bytes with just
   * enough of the new piece (not the whole piece, which would copy a megabyte each time).
   * Returns what is left of `chunk`, or null when all of it is carried again.
   */
  private bridge(carry: Buffer, chunk: Buffer): Buffer | null {
    for (let take = Math.min(chunk.length, 4096); ; take = Math.min(chunk.length, take * 8)) {
      const joined = Buffer.concat([carry, chunk.subarray(0, take)]);
      const consumed = this.consume(joined);
      if (consumed > carry.length) {
        this.base += consumed;
        this.carry = null;
        return chunk.subarray(consumed - carry.length);
      }
      if (take === chunk.length) {
        this.base += consumed;
        this.carry = Buffer.from(joined.subarray(consumed));
        return null;
      }
    }
  }

  private scan(buf: Buffer): void {
    const consumed = this.consume(buf);
    this.carry = consumed < buf.length ? Buffer.from(buf.subarray(consumed)) : null;
    this.base += consumed;
  }

  end(): void {
    if (this.carry && this.carry.some((byte) => !isSpace(byte))) {
      const what = this.carry[0] === LT ? 'markup' : 'text';
      throw new XmlFormatError(`file ends inside ${what} (truncated?)`, this.base);
    }
    if (!this.sawRoot) throw new XmlFormatError('no root element (empty file?)', this.base);
    if (this.stack.length > 0) {
      const open = this.stack[this.stack.length - 1];
      throw new XmlFormatError(`file ends before </${open}> (truncated?)`, this.base);
    }
  }

  /** Handles every complete token in `buf`; returns where the first incomplete one starts. */
  private consume(buf: Buffer): number {
    this.nextAmp = -1;
    this.nextCr = -1;
    let pos = 0;
    while (pos < buf.length) {
      const lt = buf.indexOf(LT, pos);
      if (lt < 0) return this.textTail(buf, pos);
      if (lt > pos) this.text(buf, pos, lt);
      const next = this.markup(buf, lt);
      if (next < 0) return lt;
      pos = next;
    }
    return pos;
  }

  /**
   * Text at the end of a buffer may continue in the next chunk. What can be handled now is
   * (so long text never piles up); a possibly split entity or character waits.
   */
  private textTail(buf: Buffer, from: number): number {
    if (this.stack.length === 0) return this.outsideRoot(buf, from, buf.length);
    const cut = safeTextEnd(buf, from, buf.length);
    if (cut > from) this.text(buf, from, cut);
    return cut;
  }

  private outsideRoot(buf: Buffer, from: number, to: number): number {
    for (let i = from; i < to; i++) {
      if (!isSpace(buf[i] as number)) {
        throw new XmlFormatError('text outside the root element', this.base + i);
      }
    }
    return to;
  }

  private text(buf: Buffer, from: number, to: number): void {
    if (this.stack.length === 0) {
      this.outsideRoot(buf, from, to);
    } else if (this.handler.wantsText()) {
      this.handler.onText(this.decodeText(buf, from, to), this.base + from);
    } else {
      this.checkEntities(buf, from, to);
    }
  }

  /** Checks each "&" in text nobody reads, without building strings. */
  private checkEntities(buf: Buffer, from: number, to: number): void {
    let pos = from;
    while (this.ampBefore(buf, pos, to)) {
      const end = entityEnd(buf, this.nextAmp, to);
      if (end < 0) {
        decodeText(buf, from, to, this.base);
        throw new XmlFormatError(RAW_AMP, this.base + this.nextAmp);
      }
      pos = end;
    }
  }

  /** Text as a string; the searches for "&" and "\r" are shared across the buffer. */
  private decodeText(buf: Buffer, from: number, to: number): string {
    const plain = !this.ampBefore(buf, from, to) && !this.crBefore(buf, from, to);
    if (!plain) return decodeText(buf, from, to, this.base);
    // Short values repeat (types, file names, timestamps of one batch): share them.
    return to - from <= 24 ? this.texts.get(buf, from, to) : utf8(buf, from, to);
  }

  private crBefore(buf: Buffer, from: number, to: number): boolean {
    if (this.nextCr < from) {
      const found = buf.indexOf(CR, from);
      this.nextCr = found < 0 ? buf.length : found;
    }
    return this.nextCr < to;
  }

  /** Whether an "&" lies in [from, to); positions only grow within a buffer. */
  private ampBefore(buf: Buffer, from: number, to: number): boolean {
    if (this.nextAmp < from) {
      const found = buf.indexOf(AMP, from);
      this.nextAmp = found < 0 ? buf.length : found;
    }
    return this.nextAmp < to;
  }

  /** Returns the index after the markup at `lt`, or -1 when it is not complete yet. */
  private markup(buf: Buffer, lt: number): number {
    const second = buf[lt + 1];
    if (second === undefined) return -1;
    if (second === SLASH) return this.closeTag(buf, lt);
    if (second === 0x3f) return this.skipUntil(buf, lt, '?>');
    if (second === 0x21) return this.bang(buf, lt);
    return this.openTag(buf, lt);
  }

  private bang(buf: Buffer, lt: number): number {
    const head = buf.toString('latin1', lt, Math.min(lt + 9, buf.length));
    if (head.startsWith('<!--')) return this.skipUntil(buf, lt, '-->');
    if (head.startsWith('<![CDATA[')) return this.cdata(buf, lt);
    if (head.length < 9 && ('<![CDATA['.startsWith(head) || '<!--'.startsWith(head))) return -1;
    throw new XmlFormatError('DOCTYPE and other declarations are not supported', this.base + lt);
  }

  private cdata(buf: Buffer, lt: number): number {
    const end = buf.indexOf(']]>', lt + 9);
    if (end < 0) return -1;
    if (this.stack.length === 0) throw new XmlFormatError('CDATA outside the root', this.base + lt);
    if (this.handler.wantsText()) {
      this.handler.onText(utf8(buf, lt + 9, end), this.base + lt + 9);
    }
    return end + 3;
  }

  private skipUntil(buf: Buffer, lt: number, terminator: string): number {
    const end = buf.indexOf(terminator, lt + 2);
    return end < 0 ? -1 : end + terminator.length;
  }

  private openTag(buf: Buffer, lt: number): number {
    const i = nameEnd(buf, lt + 1, this.base);
    if (i >= buf.length) return -1;
    if (i === lt + 1) throw new XmlFormatError('tag without a name', this.base + lt);
    this.attributes.reset(buf, this.base);
    const end = this.readAttributes(buf, i, lt);
    if (end < 0) return -1;
    const selfClosing = buf[end - 1] === SLASH;
    this.startElement(this.names.get(buf, lt + 1, i), selfClosing, lt);
    return end + 1;
  }

  private startElement(name: string, selfClosing: boolean, lt: number): void {
    if (this.stack.length === 0 && this.sawRoot) {
      throw new XmlFormatError('a second root element', this.base + lt);
    }
    this.sawRoot = true;
    if (!selfClosing) this.stack.push(name);
    this.handler.onOpen(name, this.attributes, selfClosing, this.base + lt);
    if (selfClosing) this.handler.onClose(name, this.base + lt);
  }

  /** Records the attributes from `from`; returns the index of the closing ">", or -1. */
  private readAttributes(buf: Buffer, from: number, lt: number): number {
    let i = from;
    for (;;) {
      const spaced = i < buf.length && isSpace(buf[i] as number);
      while (i < buf.length && isSpace(buf[i] as number)) i++;
      if (i >= buf.length) return -1;
      const byte = buf[i] as number;
      if (byte === GT) return i;
      if (byte === SLASH) return this.selfClose(buf, i, lt);
      if (!spaced) this.malformed(i);
      i = this.readAttribute(buf, i, lt);
      if (i < 0) return -1;
    }
  }

  private selfClose(buf: Buffer, slash: number, lt: number): number {
    if (slash + 1 >= buf.length) return -1;
    if (buf[slash + 1] !== GT) this.malformed(slash);
    if (slash === lt + 1) throw new XmlFormatError('tag without a name', this.base + lt);
    return slash + 1;
  }

  private malformed(at: number): never {
    throw new XmlFormatError('malformed attribute (unquoted value or stray text)', this.base + at);
  }

  /** Reads `name="value"` at `start`; returns the index after the closing quote, or -1. */
  private readAttribute(buf: Buffer, start: number, lt: number): number {
    const end = nameEnd(buf, start, this.base);
    let i = end;
    while (i < buf.length && isSpace(buf[i] as number)) i++;
    if (i + 1 >= buf.length) return -1;
    if (buf[i] !== EQUALS || end === start) this.malformed(start);
    i++;
    while (i < buf.length && isSpace(buf[i] as number)) i++;
    if (i >= buf.length) return -1;
    const quote = buf[i] as number;
    if (quote !== DQUOTE && quote !== SQUOTE) this.malformed(i);
    const close = this.valueEnd(buf, i + 1, quote);
    if (close < 0) return -1;
    this.checkDuplicate(start, end, lt);
    this.attributes.add(start, end, i + 1, close, this.valueFlags);
    if (this.valueFlags & HAS_AMP) this.attributes.value(this.attributes.count - 1, false);
    return close + 1;
  }

  private valueFlags = 0;

  /** Finds the closing quote (-1: not in this buffer) and notes "&" and line characters. */
  private valueEnd(buf: Buffer, from: number, quote: number): number {
    let flags = 0;
    for (let k = from; k < buf.length; k++) {
      const byte = buf[k] as number;
      if (byte === quote) {
        this.valueFlags = flags;
        return k;
      }
      if (byte === LT) throw new XmlFormatError('"<" inside an attribute value', this.base + k);
      if (byte === AMP) flags |= HAS_AMP;
      else if (byte === 0x0a || byte === 0x09 || byte === CR) flags |= HAS_LINE_CHARS;
    }
    return -1;
  }

  private checkDuplicate(start: number, end: number, lt: number): void {
    for (let k = 0; k < this.attributes.count; k++) {
      if (this.attributes.sameName(k, start, end)) {
        const name = utf8(this.attributes.buf, start, end);
        throw new XmlFormatError(`attribute "${name}" given twice`, this.base + lt);
      }
    }
  }

  /** The usual case: the end tag names the open element in ASCII, then ">". */
  private closeTag(buf: Buffer, lt: number): number {
    const open = this.stack[this.stack.length - 1];
    if (open === undefined) return this.closeTagSlowly(buf, lt);
    let i = lt + 2;
    for (let k = 0; k < open.length; k++, i++) {
      if (i >= buf.length) return -1;
      if (buf[i] !== open.charCodeAt(k)) return this.closeTagSlowly(buf, lt);
    }
    while (i < buf.length && isSpace(buf[i] as number)) i++;
    if (i >= buf.length) return -1;
    if (buf[i] !== GT) return this.closeTagSlowly(buf, lt);
    this.stack.pop();
    this.handler.onClose(open, this.base + lt);
    return i + 1;
  }

  /** Any end tag: non-ASCII names, and every kind of mismatch with its message. */
  private closeTagSlowly(buf: Buffer, lt: number): number {
    const gt = buf.indexOf(GT, lt + 2);
    const nextLt = buf.indexOf(LT, lt + 2);
    if (nextLt >= 0 && (gt < 0 || nextLt < gt)) {
      throw new XmlFormatError('"<" inside an end tag', this.base + nextLt);
    }
    if (gt < 0) return -1;
    const name = utf8(buf, lt + 2, gt).trimEnd();
    if (/[\s]/.test(name)) throw new XmlFormatError('malformed end tag', this.base + lt);
    const open = this.stack.pop();
    if (open !== name) {
      const expected = open === undefined ? 'no open element' : `</${open}>`;
      throw new XmlFormatError(`mismatched </${name}>, expected ${expected}`, this.base + lt);
    }
    this.handler.onClose(open, this.base + lt);
    return gt + 1;
  }
}

const BOM = [0xef, 0xbb, 0xbf];

/** Whether `buf` (at most 3 bytes looked at) is the UTF-8 byte order mark or its start. */
function isBomPrefix(buf: Buffer): boolean {
  for (let i = 0; i < Math.min(buf.length, 3); i++) if (buf[i] !== BOM[i]) return false;
  return buf.length > 0;
}

/**
 * Where text at the end of a buffer can safely be cut: before a trailing "&" whose ";" has
 * not arrived, before a trailing "\r", and never inside a UTF-8 sequence.
 */
function safeTextEnd(buf: Buffer, from: number, to: number): number {
  let cut = to;
  const amp = buf.lastIndexOf(AMP, to - 1);
  if (amp >= from && buf.indexOf(SEMICOLON, amp) < 0) cut = amp;
  if (cut > from && buf[cut - 1] === CR) cut--;
  let lead = cut - 1;
  while (lead >= from && ((buf[lead] as number) & 0xc0) === 0x80) lead--;
  const length = lead >= from ? utf8Length(buf[lead] as number) : 1;
  if (cut - lead < length) cut = lead;
  return Math.max(cut, from);
}

/** Bytes in the UTF-8 sequence a lead byte starts (1 for ASCII or a stray byte). */
function utf8Length(lead: number): number {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}
