import { orderedPair } from '../../storage/postgres/graph-codec.ts';
import { isStorableText } from '../../storage/postgres/text.ts';
import { unescapeField, type RowLayout } from '../copy-out.ts';
import { relationKey } from '../records/graph.ts';

/**
 * Verify reads millions of graph rows back as COPY text. Decoding each into a row object,
 * then into an entity or relation, then into its canonical form cost twice the hashing
 * that follows. A plain row (nothing in `extra`, every number one JSON can hold, no text
 * the policy would replace: nearly every row) is written here straight from its line as
 * `canonicalText` would write `canonicalGraphRow`'s fields: sorted keys, each text
 * prefixed by its length. Any other row reads as not plain, and the caller takes the
 * general way. test/migrate/graph-plain-rows.test.ts holds the two ways equal.
 */
export class PlainRowReader {
  /** After a successful `read`: the record's key and its canonical text. */
  key = '';
  text = '';
  /** Columns the key is made of: the name, or the two endpoints. */
  private readonly keyColumns: number;
  /** The attribute columns' positions in the line, in their names' sorted order. */
  private readonly sorted: number[];
  /** `canonicalText`'s prefix of each column: its name's length and name. */
  private readonly heads: string[];
  private readonly parsers: (((text: string) => unknown) | undefined)[];
  private readonly extraAt: number;
  private readonly fields: string[];

  constructor(layout: RowLayout, keyColumns: 1 | 2) {
    const { columns, parsers } = layout;
    this.keyColumns = keyColumns;
    this.extraAt = columns.indexOf('extra');
    this.heads = columns.map((name) => name.length + ':' + name);
    this.parsers = columns.map((name) => parsers[name]);
    const attributes = columns.slice(keyColumns, this.extraAt);
    this.sorted = [...attributes].sort().map((name) => columns.indexOf(name));
    this.fields = new Array<string>(columns.length);
  }

  /** Whether `line` is a plain row; if so, `key` and `text` hold its canonical form. */
  read(line: string): boolean {
    if (!this.split(line) || this.fields[this.extraAt] !== '{}') return false;
    let text = '\u0001';
    for (const at of this.sorted) {
      const part = this.canonicalPart(at);
      if (part === undefined) return false;
      text += part;
    }
    this.text = text;
    this.key = this.keyOf();
    return true;
  }

  /** The fields of a line with the layout's count of columns. */
  private split(line: string): boolean {
    let from = 0;
    for (let i = 0; i < this.fields.length - 1; i++) {
      const tab = line.indexOf('\t', from);
      if (tab < 0) return false;
      this.fields[i] = line.slice(from, tab);
      from = tab + 1;
    }
    this.fields[this.fields.length - 1] = line.slice(from);
    return true;
  }

  /** One column's share of the canonical text: '' for NULL, undefined when not plain. */
  private canonicalPart(at: number): string | undefined {
    const field = this.fields[at]!;
    if (field === '\\N') return '';
    const value = unescaped(field);
    const parse = this.parsers[at];
    if (parse === undefined) {
      return isStorableText(value) ? this.heads[at] + 's' + value.length + ':' + value : undefined;
    }
    const number = parse(value);
    if (typeof number !== 'number' || !Number.isFinite(number) || Object.is(number, -0)) {
      return undefined;
    }
    return this.heads[at] + 'n' + number + ';';
  }

  private keyOf(): string {
    const first = unescaped(this.fields[0]!);
    if (this.keyColumns === 1) return first;
    const [low, high] = orderedPair(first, unescaped(this.fields[1]!));
    return relationKey(low, high);
  }
}

function unescaped(field: string): string {
  return field.includes('\\') ? unescapeField(field) : field;
}
