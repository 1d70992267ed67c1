import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readConfig } from '../../src/config.ts';
import { HttpEmbedder } from '../../src/embedding/client.ts';
import { entityVectorId } from '../../src/graph/ids.ts';
import { reembedWorkspace } from '../../src/graph/reembed.ts';
import { createApp } from '../../src/http/app.ts';
import { silentLogger } from '../../src/log.ts';
import type { StorageBackend } from '../../src/storage/types.ts';
import { httpBackends, type OpenedBackend } from '../support/backends.ts';
import {
  deterministicVector,
  startEmbeddingServer,
  type EmbeddingServer,
} from '../support/embedding-server.ts';
import { call, entity } from './graph-helpers.ts';

function embedderFor(server: EmbeddingServer, dim: number) {
  const config = readConfig({
    EMBEDDING_BINDING: 'openai',
    EMBEDDING_BINDING_HOST: `${server.url}/v1`,
    EMBEDDING_MODEL: 'test-model',
    EMBEDDING_DIM: String(dim),
  });
  return new HttpEmbedder(config.embedding, silentLogger);
}

function appWith(storage: StorageBackend, embedder?: HttpEmbedder) {
  const config = readConfig({ LOG_LEVEL: 'error' });
  return createApp({ config, storage, logger: silentLogger, embedder });
}

const vectorOf = (storage: StorageBackend, ws: string, name: string) =>
  storage.read(ws, async (r) => (await r.getVectors('entities', [entityVectorId(name)]))[0]);

for (const backend of httpBackends()) {
  describe(`embeddings on ${backend.label} storage`, () => {
    let server: EmbeddingServer;
    let opened: OpenedBackend;

    before(async () => {
      server = await startEmbeddingServer(4);
      opened = await backend.open();
    });

    after(async () => {
      await server.close();
      await opened.cleanup();
    });

    it('entity writes store the embedding of LightRAG content string', async () => {
      const app = appWith(opened.storage, embedderFor(server, 4));
      const created = await call(app, 'POST', '/graph/entity/create', {
        workspace: 'emb',
        body: entity('Acme', 'A company.'),
      });
      assert.equal(created.status, 200, created.text);
      const row = await vectorOf(opened.storage, 'emb', 'Acme');
      assert.equal(row?.fields.content, 'Acme\nA company.');
      // The raw embedding, not the L2-normalised copy; files keep it as float16. Four
      // dimensions match the PostgreSQL test tables (EMBEDDING_DIM=4).
      const expected = deterministicVector('Acme\nA company.', 4);
      const actual = Array.from(row?.vector ?? []);
      assert.equal(actual.length, 4);
      actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) < 2e-3, `${i}`));
    });

    it('a vector of another dimension than the workspace holds is refused', async () => {
      const big = await startEmbeddingServer(16);
      const app = appWith(opened.storage, embedderFor(big, 16));
      const refused = await call(app, 'POST', '/graph/entity/create', {
        workspace: 'emb',
        body: entity('Other', 'Another company.'),
      });
      await big.close();
      assert.equal(refused.status, 422, refused.text);
      assert.equal((refused.json as { error: string }).error, 'EMBEDDING_DIMENSION');
      const exists = await call(app, 'GET', '/graph/entity/exists?name=Other', {
        workspace: 'emb',
      });
      assert.deepEqual(exists.json, { exists: false });
    });

    it('without an embedding service vectors are pending until reembed', async () => {
      const app = appWith(opened.storage);
      await call(app, 'POST', '/graph/entity/create', {
        workspace: 'later',
        body: entity('Zed', 'Zed corp.'),
      });
      const pending = await opened.storage.read('later', (r) => r.pendingVectors('entities'));
      assert.deepEqual(
        pending.map((p) => p.id),
        [entityVectorId('Zed')],
      );
      const report = await reembedWorkspace(
        opened.storage,
        'later',
        embedderFor(server, 4),
        silentLogger,
      );
      assert.equal(report.embedded.entities, 1);
      const after = await opened.storage.read('later', (r) => r.pendingVectors('entities'));
      assert.equal(after.length, 0);
      const row = await vectorOf(opened.storage, 'later', 'Zed');
      assert.equal(row?.vector?.length, 4);
    });
  });
}
