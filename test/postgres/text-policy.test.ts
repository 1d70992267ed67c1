import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRagspaceError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { PostgresStorage, writeNotices } from '../../src/storage/postgres/index.ts';
import type { WriteNotice } from '../../src/storage/postgres/text.ts';
import type { KvRecord } from '../../src/storage/types.ts';
import {
  createTestDatabase,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  sql,
  type TestDatabase,
} from './helpers.ts';

/**
 * B05/B06: NUL characters and lone surrogates. One declared policy (each replaced by
 * U+FFFD) for text columns and JSONB alike, every change reported; ids are refused.
 */
const NUL = '\u0000';
const LONE = '\udc9a';

describe('text PostgreSQL refuses or alters', () => {
  let db: TestDatabase;
  let storage: PostgresStorage;
  const logLines: string[] = [];

  before(async () => {
    db = await createTestDatabase();
    const log = createLogger({}, (line) => logLines.push(line));
    storage = await PostgresStorage.open(
      pgTestConfig(db.env, PG_WITHOUT_VECTORS, { LOG_LEVEL: 'warn' }),
      { log },
    );
  });
  after(async () => {
    await storage.close();
    await db.drop();
  });

  it('is replaced by U+FFFD in text and JSON, and each change is reported', async () => {
    const chunk = { content: `before${NUL}after`, file_path: `x${LONE}.pdf` };
    const status = { status: 'failed', metadata: { note: `bad${NUL}`, [`k${LONE}`]: 1 } };
    let notices: WriteNotice[] = [];
    await storage.write('texts', async (w) => {
      await w.upsertKv('text_chunks', new Map([['chunk-1', chunk]]));
      await w.upsertKv('doc_status', new Map([['doc-1', status]]));
      await w.upsertEntity({
        name: 'E',
        properties: { description: `d${NUL}${NUL}`, [`odd${LONE}`]: 'v' },
      });
      notices = writeNotices(w);
    });
    const stored = await storage.read('texts', async (r) => ({
      chunk: (await r.getKv('text_chunks', ['chunk-1'])).get('chunk-1'),
      status: (await r.getKv('doc_status', ['doc-1'])).get('doc-1'),
      entity: await r.getEntity('E'),
    }));
    assert.equal(stored.chunk?.content, 'before\uFFFDafter');
    assert.equal(stored.chunk?.file_path, 'x\uFFFD.pdf');
    assert.deepEqual(stored.status?.metadata, { note: 'bad\uFFFD', 'k\uFFFD': 1 });
    assert.equal(stored.entity?.properties.description, 'd\uFFFD\uFFFD');
    assert.equal(stored.entity?.properties['odd\uFFFD'], 'v');

    const brief = notices.map((n) => `${n.store}|${n.record}|${n.field}|${n.kind}|${n.count}`);
    assert.deepEqual(
      brief.sort(),
      [
        'doc_status|doc-1|metadata key|surrogate_replaced|1',
        'doc_status|doc-1|metadata.note|nul_replaced|1',
        'ragspace_entities|E|description|nul_replaced|2',
        'ragspace_entities|E|odd\uFFFD (name)|surrogate_replaced|1',
        'text_chunks|chunk-1|content|nul_replaced|1',
        'text_chunks|chunk-1|file_path|surrogate_replaced|1',
      ].sort(),
    );
    const logged = logLines
      .map((line) => JSON.parse(line))
      .filter((l) => l.event === 'postgres.nul_replaced');
    assert.ok(
      logged.some(
        (l) => l.workspace === 'texts' && l.record === 'chunk-1' && l.field === 'content',
      ),
    );
    assert.ok(!logLines.some((line) => line.includes('before')), 'document text is never logged');
  });

  it('in an id is refused, and nothing of that write is stored', async () => {
    for (const bad of [`doc${NUL}1`, `doc${LONE}1`]) {
      await assert.rejects(
        storage.write('ids', async (w) => {
          await w.upsertKv('full_docs', new Map([['fine', { content: 'ok' }]]));
          await w.upsertKv('full_docs', new Map([[bad, { content: 'x' }]]));
        }),
        (error) => {
          assert.ok(isRagspaceError(error));
          assert.equal(error.code, 'VALUE_REJECTED');
          assert.match(error.message, /ids are never altered/);
          return true;
        },
      );
    }
    await assert.rejects(
      storage.write('ids', (w) => w.upsertEntity({ name: `E${NUL}`, properties: {} })),
      /NUL/,
    );
    assert.equal(await storage.hasWorkspace('ids'), false);
  });

  it('a batch of 500 chunks where only #317 has a NUL is stored whole, one notice', async () => {
    const records = new Map<string, KvRecord>();
    for (let i = 0; i < 500; i++) {
      records.set(`chunk-${i}`, { content: i === 317 ? `text${NUL}317` : `text ${i}` });
    }
    let notices: WriteNotice[] = [];
    await storage.write('batch', async (w) => {
      await w.upsertKv('text_chunks', records);
      notices = writeNotices(w);
    });
    assert.deepEqual(
      notices.map((n) => n.record),
      ['chunk-317'],
    );
    const rows = await sql(
      db.env,
      `SELECT count(*)::int AS n FROM lightrag_doc_chunks WHERE workspace = 'batch'`,
    );
    assert.deepEqual(rows, [{ n: 500 }]);
    const stored = await storage.read('batch', (r) => r.getKv('text_chunks', ['chunk-317']));
    assert.equal(stored.get('chunk-317')?.content, 'text\uFFFD317');
  });

  it('a value longer than a LightRAG VARCHAR is refused, never cut, field named', async () => {
    const summary = 'x'.repeat(256);
    await assert.rejects(
      storage.write('long', (w) =>
        w.upsertKv('doc_status', new Map([['d', { content_summary: summary }]])),
      ),
      (error) => {
        assert.ok(isRagspaceError(error));
        assert.equal(error.code, 'VALUE_REJECTED');
        assert.match(error.message, /content_summary.*256 characters/);
        assert.match(error.message, /lightrag_doc_status/);
        return true;
      },
    );
  });

  it('graph text of any length is stored whole (B19)', async () => {
    const sourceId = Array.from({ length: 5000 }, (_, i) => `chunk-${'0'.repeat(24)}${i}`).join(
      '<SEP>',
    );
    const description = 'd'.repeat(1024 * 1024);
    await storage.write('big', async (w) => {
      await w.upsertEntity({
        name: 'Hub',
        properties: { source_id: sourceId, description, file_path: 'f'.repeat(40_000) },
      });
      await w.upsertRelation({
        source: 'Hub',
        target: 'Other',
        properties: { keywords: 'k'.repeat(10_000) },
      });
    });
    const hub = await storage.read('big', (r) => r.getEntity('Hub'));
    assert.equal(hub?.properties.source_id, sourceId);
    assert.equal((hub?.properties.description as string).length, description.length);
    assert.equal((hub?.properties.file_path as string).length, 40_000);
    const relation = await storage.read('big', (r) => r.getRelation('Other', 'Hub'));
    assert.equal((relation?.properties.keywords as string).length, 10_000);
  });
});
