/**
 * A small, strict, streaming XML tokenizer over bytes. GraphML files reach hundreds of MB,
 * and general SAX parsers spend most of their time building strings nobody reads; this
 * one finds markup with `indexOf`, decodes text only when asked, and still refuses what a
 * conforming parser refuses: unclosed or mismatched tags, raw "&" or "<", unknown
 * entities, unquoted attributes, and a file that ends early.
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

export interface XmlHandler {
  onOpen(name: string, attributes: Map<string, string>, selfClosing: boolean): void;
  onClose(name: string): void;
  /** Whether the text of the element now open is wanted; unwanted text is only checked. */
  wantsText(): boolean;
  onText(text: string): void;
}

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;

const NAMED_ENTITIES: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

/** Replaces entity references; throws on a raw "&" or an unknown entity. */
export function decodeEntities(text: string, offset: number): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&\s<]{0,12});?/g, (match, body: string, at: number) => {
    if (!match.endsWith(';'))
      throw new XmlFormatError('raw "&" in text (not an entity)', offset + at);
    if (body.startsWith('#x')) return codePoint(parseInt(body.slice(2), 16), offset + at);
    if (body.startsWith('#')) return codePoint(parseInt(body.slice(1), 10), offset + at);
    const named = NAMED_ENTITIES[body];
    if (named === undefined) throw new XmlFormatError(`unknown entity "&${body};"`, offset + at);
    return named;
  });
}

function codePoint(value: number, offset: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0x10ffff) {
    throw new XmlFormatError('invalid character reference', offset);
  }
  return String.fromCodePoint(value);
}

const NAME_END = /[\s/>=]/;
const ATTRIBUTE = /\s*([^\s=/>]+)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;

export class XmlScanner {
  private carry: Buffer | null = null;
  private base = 0;
  private readonly stack: string[] = [];
  private sawRoot = false;

  constructor(private readonly handler: XmlHandler) {}

  push(chunk: Buffer): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const consumed = this.consume(buf);
    this.carry = consumed < buf.length ? buf.subarray(consumed) : null;
    this.base += consumed;
  }

  end(): void {
    if (this.carry && this.carry.toString('utf8').trim() !== '') {
      throw new XmlFormatError('file ends inside markup (truncated?)', this.base);
    }
    if (!this.sawRoot) throw new XmlFormatError('no root element (empty file?)', this.base);
    if (this.stack.length > 0) {
      const open = this.stack[this.stack.length - 1];
      throw new XmlFormatError(`file ends before </${open}> (truncated?)`, this.base);
    }
  }

  /** Handles every complete token in `buf`; returns where the first incomplete one starts. */
  private consume(buf: Buffer): number {
    let pos = 0;
    while (pos < buf.length) {
      const lt = buf.indexOf(LT, pos);
      if (lt < 0) return this.textUntil(buf, pos, buf.length, true);
      if (lt > pos) this.text(buf, pos, lt);
      const next = this.markup(buf, lt);
      if (next < 0) return lt;
      pos = next;
    }
    return pos;
  }

  /** Text at the end of a buffer may continue in the next chunk, so it is kept back. */
  private textUntil(buf: Buffer, from: number, to: number, partial: boolean): number {
    if (partial && this.stack.length > 0) return from;
    this.text(buf, from, to);
    return to;
  }

  private text(buf: Buffer, from: number, to: number): void {
    if (this.stack.length === 0) {
      if (buf.toString('latin1', from, to).trim() !== '') {
        throw new XmlFormatError('text outside the root element', this.base + from);
      }
      return;
    }
    if (this.handler.wantsText()) {
      this.handler.onText(decodeEntities(buf.toString('utf8', from, to), this.base + from));
    } else if (buf.indexOf(AMP, from) >= 0 && buf.indexOf(AMP, from) < to) {
      decodeEntities(buf.toString('utf8', from, to), this.base + from);
    }
  }

  /** Returns the index after the markup at `lt`, or -1 when it is not complete yet. */
  private markup(buf: Buffer, lt: number): number {
    const second = buf[lt + 1];
    if (second === undefined) return -1;
    if (second === 0x3f) return this.skipUntil(buf, lt, '?>');
    if (second === 0x21) return this.bang(buf, lt);
    const gt = this.tagEnd(buf, lt);
    if (gt < 0) return -1;
    if (second === 0x2f) this.closeTag(buf.toString('utf8', lt + 2, gt).trim(), lt);
    else this.openTag(buf.toString('utf8', lt + 1, gt), lt);
    return gt + 1;
  }

  private bang(buf: Buffer, lt: number): number {
    const head = buf.toString('latin1', lt, Math.min(lt + 9, buf.length));
    if (head.startsWith('<!--')) return this.skipUntil(buf, lt, '-->');
    if (head.startsWith('<![CDATA[')) {
      const end = buf.indexOf(']]>', lt + 9);
      if (end < 0) return -1;
      if (this.stack.length === 0)
        throw new XmlFormatError('CDATA outside the root', this.base + lt);
      if (this.handler.wantsText()) this.handler.onText(buf.toString('utf8', lt + 9, end));
      return end + 3;
    }
    if (head.length < 9) return -1;
    throw new XmlFormatError('DOCTYPE and other declarations are not supported', this.base + lt);
  }

  private skipUntil(buf: Buffer, lt: number, terminator: string): number {
    const end = buf.indexOf(terminator, lt + 2);
    return end < 0 ? -1 : end + terminator.length;
  }

  /** Finds the ">" closing a tag, skipping quoted attribute values. */
  private tagEnd(buf: Buffer, lt: number): number {
    let quote = 0;
    for (let i = lt + 1; i < buf.length; i++) {
      const byte = buf[i] as number;
      if (quote !== 0) {
        if (byte === quote) quote = 0;
      } else if (byte === 0x22 || byte === 0x27) {
        quote = byte;
      } else if (byte === GT) {
        return i;
      } else if (byte === LT) {
        throw new XmlFormatError('"<" inside a tag', this.base + i);
      }
    }
    return -1;
  }

  private openTag(inner: string, lt: number): void {
    const selfClosing = inner.endsWith('/');
    const body = selfClosing ? inner.slice(0, -1) : inner;
    const nameEnd = body.search(NAME_END);
    const name = nameEnd < 0 ? body : body.slice(0, nameEnd);
    if (name === '') throw new XmlFormatError('tag without a name', this.base + lt);
    if (this.stack.length === 0 && this.sawRoot) {
      throw new XmlFormatError('a second root element', this.base + lt);
    }
    const attributes = this.attributes(nameEnd < 0 ? '' : body.slice(nameEnd), lt);
    this.sawRoot = true;
    if (!selfClosing) this.stack.push(name);
    this.handler.onOpen(name, attributes, selfClosing);
    if (selfClosing) this.handler.onClose(name);
  }

  private attributes(text: string, lt: number): Map<string, string> {
    const attributes = new Map<string, string>();
    let pos = 0;
    for (;;) {
      ATTRIBUTE.lastIndex = pos;
      const match = ATTRIBUTE.exec(text);
      if (match === null) break;
      const value = match[2] ?? match[3] ?? '';
      attributes.set(match[1] as string, decodeEntities(value, this.base + lt));
      pos = ATTRIBUTE.lastIndex;
    }
    if (text.slice(pos).trim() !== '') {
      throw new XmlFormatError(
        'malformed attribute (unquoted value or stray text)',
        this.base + lt,
      );
    }
    return attributes;
  }

  private closeTag(name: string, lt: number): void {
    const open = this.stack.pop();
    if (open !== name) {
      const expected = open === undefined ? 'no open element' : `</${open}>`;
      throw new XmlFormatError(`mismatched </${name}>, expected ${expected}`, this.base + lt);
    }
    this.handler.onClose(name);
  }
}
