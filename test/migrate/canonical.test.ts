import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalText, stableJson, utcMicros } from '../../src/migrate/canonical.ts';
import { findDifferences } from '../../src/migrate/compare.ts';
import type { CanonicalRecord } from '../../src/migrate/canonical.ts';
import { recordDigest, StoreDigest } from '../../src/migrate/digest.ts';

/** The canonical form and the order-free checksums verify is built on. */
describe('canonical forms', () => {
  it('reads every ISO-8601 form LightRAG wrote as one UTC instant', () => {
    const utc = '2025-05-30T09:14:53.388320Z';
    assert.equal(utcMicros('2025-05-30T09:14:53.38832+00:00'), utc);
    assert.equal(utcMicros('2025-05-30T17:14:53.388320+08:00'), utc);
    assert.equal(utcMicros('2025-05-30T09:14:53.388320'), utc, 'naive means UTC');
    assert.equal(utcMicros('2025-05-30 09:14:53.3883204'), utc, 'rounded to microseconds');
    assert.equal(utcMicros('2025-05-30T09:14:59.9999996Z'), '2025-05-30T09:15:00.000000Z');
    assert.equal(utcMicros('yesterday'), undefined);
  });

  it('writes one text per value: sorted keys, tagged non-finite numbers and vectors', () => {
    assert.equal(stableJson({ b: 1, a: [true, null] }), '{"a":[true,null],"b":1}');
    assert.equal(stableJson(NaN), '{"$number":"NaN"}');
    assert.notEqual(stableJson(-0), stableJson(0));
    assert.equal(stableJson(new Float32Array([1])), '{"$float32":"AACAPw=="}');
  });
});

describe('the digested text of a record', () => {
  it('is one text per record, whatever the key order, and never the same for two', () => {
    assert.equal(canonicalText({ b: 'x', a: 1 }), canonicalText({ a: 1, b: 'x' }));
    const distinct = [
      { a: '1' },
      { a: 1 },
      { a: true },
      { a: 'true' },
      { a: 'b1:cs1:d' },
      { a: 'b', c: 'd' },
      { 'a1:b': '' },
      { a: '', b: '' },
      { a: -0 },
      { a: 0 },
      { a: Number.NaN },
      { a: 'NaN' },
      { a: '1', b: undefined },
      {},
    ];
    const texts = distinct.map(canonicalText);
    assert.equal(new Set(texts).size, distinct.length - 1, texts.join(' | '));
    // Only the undefined field is dropped: { a: '1', b: undefined } is { a: '1' }.
    assert.equal(canonicalText({ a: '1', b: undefined }), canonicalText({ a: '1' }));
  });
});

describe('order-free checksums', () => {
  const record = (key: string, value: number): CanonicalRecord => ({
    key,
    label: key,
    fields: { value },
  });
  const digestOf = (records: CanonicalRecord[]) => {
    const digest = new StoreDigest();
    for (const r of records) digest.add(r.key, recordDigest(r.key, stableJson(r.fields)));
    return digest;
  };
  async function* pages(records: CanonicalRecord[]) {
    yield records;
  }

  it('ignores order and names every difference by id and field', async () => {
    const files = Array.from({ length: 5000 }, (_, i) => record(`id-${i}`, i));
    const rows = [...files].reverse();
    assert.equal(digestOf(files).differingBuckets(digestOf(rows)).length, 0);
    rows.splice(rows.indexOf(rows.find((r) => r.key === 'id-7')!), 1);
    rows.push(record('id-new', 1));
    rows[0] = record(rows[0]!.key, -1);
    const found = await findDifferences(
      digestOf(files),
      digestOf(rows),
      () => pages(files),
      () => pages(rows),
      false,
    );
    assert.deepEqual(found.missing, ['id-7']);
    assert.deepEqual(found.extra, ['id-new']);
    assert.deepEqual(found.changed, [{ record: 'id-4999', fields: ['value'] }]);
  });
});
