import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  XmlFormatError,
  XmlScanner,
  type PooledAttributes,
  type XmlAttributes,
} from '../../src/formats/xml-scanner.ts';

/** Every event, as text, so two runs can be compared; adjacent text pieces are joined. */
function events(document: Buffer | string, chunkSize = 1 << 20): string[] {
  const out: string[] = [];
  const scanner = new XmlScanner({
    onOpen: (name: string, attributes: XmlAttributes, selfClosing: boolean) => {
      const map = (attributes as PooledAttributes).toMap();
      out.push(`open ${name} ${JSON.stringify([...map])}${selfClosing ? ' /' : ''}`);
    },
    onClose: (name: string) => out.push(`close ${name}`),
    wantsText: () => true,
    onText: (text: string) => {
      const last = out[out.length - 1];
      if (last?.startsWith('text ')) out[out.length - 1] = last + text;
      else out.push(`text ${text}`);
    },
  });
  const bytes = Buffer.isBuffer(document) ? document : Buffer.from(document);
  for (let i = 0; i < bytes.length; i += chunkSize) {
    scanner.push(bytes.subarray(i, i + chunkSize));
  }
  scanner.end();
  return out.filter((e) => !/^text \s*$/.test(e));
}

function failure(document: string, wantsText = true): { reason: string; offset: number } {
  const scanner = new XmlScanner({
    onOpen: () => {},
    onClose: () => {},
    wantsText: () => wantsText,
    onText: () => {},
  });
  try {
    scanner.push(Buffer.from(document));
    scanner.end();
  } catch (error) {
    assert.ok(error instanceof XmlFormatError, String(error));
    return { reason: error.reason, offset: error.offset };
  }
  assert.fail('the document was accepted');
}

const TRICKY =
  '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<!-- a comment -->\n' +
  '<root a="x &amp; y" b=\'it&apos;s\' c="tab\there\nline" d="&#10;kept">\r\n' +
  '  <data key="d0">caf\u00e9 \ud83d\ude00 &lt;SEP&gt; &#x1F600; &#233;</data>\r\n' +
  '  <empty/><x:ns-name q="1" />\r' +
  '  <![CDATA[raw <b> & text]]>\n' +
  '  <\u00fcber k="\u00e4">\u00f6</\u00fcber>\n</root>\n';

describe('XML scanner: what it decodes', () => {
  it('decodes entities, character references, line ends and attribute whitespace', () => {
    assert.deepEqual(events(TRICKY), [
      'open root [["a","x & y"],["b","it\'s"],["c","tab here line"],["d","\\nkept"]]',
      'open data [["key","d0"]]',
      'text caf\u00e9 \ud83d\ude00 <SEP> \ud83d\ude00 \u00e9',
      'close data',
      'open empty [] /',
      'close empty',
      'open x:ns-name [["q","1"]] /',
      'close x:ns-name',
      'text \n  raw <b> & text\n  ',
      'open \u00fcber [["k","\u00e4"]]',
      'text \u00f6',
      'close \u00fcber',
      'close root',
    ]);
  });

  it('gives the same events whatever the chunk boundaries', () => {
    const whole = events(TRICKY);
    for (const size of [1, 2, 3, 5, 7, 11, 64]) {
      assert.deepEqual(events(TRICKY, size), whole, `chunks of ${size} bytes`);
    }
  });
});

describe('XML scanner: what it refuses, and where', () => {
  const doc = '<r><d k="1">text</d></r>';
  const cases: [string, string, string, number][] = [
    ['truncated after a tag', doc.slice(0, 12), 'file ends before </d> (truncated?)', 12],
    ['truncated inside a tag', doc.slice(0, 7), 'file ends inside markup (truncated?)', 3],
    ['truncated in text', doc.slice(0, 14), 'file ends before </d> (truncated?)', 14],
    ['empty', '', 'no root element (empty file?)', 0],
    ['raw & in text', '<r>a & b</r>', 'raw "&" (not an entity reference)', 5],
    ['raw & in an attribute', '<r a="x&y"/>', 'raw "&" (not an entity reference)', 7],
    ['unknown entity', '<r>&nbsp;</r>', 'unknown entity "&nbsp;"', 3],
    ['bad character reference', '<r>&#xZZ;</r>', 'malformed character reference "&#xZZ;"', 3],
    ['forbidden character', '<r>&#0;</r>', '"&#0;" refers to a character XML forbids', 3],
    ['mismatched end tag', '<r><a></b></r>', 'mismatched </b>, expected </a>', 6],
    ['end tag with no start', '</r>', 'mismatched </r>, expected no open element', 0],
    ['unquoted attribute', '<r a=1/>', 'malformed attribute (unquoted value or stray text)', 5],
    [
      'attribute without space',
      '<r a="1"b="2"/>',
      'malformed attribute (unquoted value or stray text)',
      8,
    ],
    ['repeated attribute', '<r a="1" a="2"/>', 'attribute "a" given twice', 0],
    ['"<" in an attribute', '<r a="<"/>', '"<" inside an attribute value', 6],
    ['text outside the root', '<r/>x', 'text outside the root element', 4],
    ['two roots', '<r/><s/>', 'a second root element', 4],
    ['a DOCTYPE', '<!DOCTYPE r><r/>', 'DOCTYPE and other declarations are not supported', 0],
  ];
  for (const [name, input, reason, offset] of cases) {
    it(name, () => assert.deepEqual(failure(input), { reason, offset }));
  }

  it('checks text nobody reads just as strictly', () => {
    assert.deepEqual(failure('<r>a & b</r>', false), {
      reason: 'raw "&" (not an entity reference)',
      offset: 5,
    });
    assert.deepEqual(failure('<r>&bogus;</r>', false), {
      reason: 'unknown entity "&bogus;"',
      offset: 3,
    });
  });

  it('reports byte offsets, counting multi-byte characters', () => {
    assert.deepEqual(failure('<r>\u00e9\u00e9 & </r>'), {
      reason: 'raw "&" (not an entity reference)',
      offset: 8,
    });
  });
});
