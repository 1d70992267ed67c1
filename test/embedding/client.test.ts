import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpEmbedder } from '../../src/embedding/client.ts';
import type { EmbeddingConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import {
  deterministicVector,
  startEmbeddingServer,
  type EmbeddingServer,
} from '../support/embedding-server.ts';

function config(
  server: EmbeddingServer,
  overrides: Partial<EmbeddingConfig> = {},
): EmbeddingConfig {
  return {
    binding: 'openai',
    host: `${server.url}/v1`,
    model: 'test-model',
    dim: 8,
    apiKey: 'secret',
    batchSize: 2,
    timeoutMs: 2000,
    retries: 2,
    ...overrides,
  };
}

describe('embedding client', () => {
  let server: EmbeddingServer;

  before(async () => {
    server = await startEmbeddingServer(8);
  });

  after(async () => server.close());

  it('batches by EMBEDDING_BATCH_NUM and keeps input order (OpenAI protocol)', async () => {
    server.requests.length = 0;
    const embedder = new HttpEmbedder(config(server), silentLogger);
    const vectors = await embedder.embed(['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(
      server.requests.map((r) => [r.path, r.inputs.length]),
      [
        ['/v1/embeddings', 2],
        ['/v1/embeddings', 2],
        ['/v1/embeddings', 1],
      ],
    );
    assert.deepEqual(
      Array.from(vectors[2]!),
      Array.from(Float32Array.from(deterministicVector('c', 8))),
    );
  });

  it('speaks the Ollama protocol', async () => {
    server.requests.length = 0;
    const embedder = new HttpEmbedder(
      config(server, { binding: 'ollama', host: server.url }),
      silentLogger,
    );
    const [vector] = await embedder.embed(['hello']);
    assert.equal(server.requests[0]?.path, '/api/embed');
    assert.equal(vector?.length, 8);
  });

  it('retries 503 with backoff, then succeeds', async () => {
    server.failNext(2, 503);
    const embedder = new HttpEmbedder(config(server), silentLogger);
    const vectors = await embedder.embed(['x']);
    assert.equal(vectors.length, 1);
  });

  it('gives up after the configured retries with EMBEDDING_FAILED', async () => {
    server.failNext(5, 500);
    const embedder = new HttpEmbedder(config(server, { retries: 1 }), silentLogger);
    await assert.rejects(embedder.embed(['x']), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EMBEDDING_FAILED');
      assert.match(error.message, /HTTP 500/);
      assert.ok(!error.message.includes('secret'));
      return true;
    });
    server.failNext(0, 500);
  });

  it('refuses vectors whose dimension differs from EMBEDDING_DIM', async () => {
    const embedder = new HttpEmbedder(config(server, { dim: 16 }), silentLogger);
    await assert.rejects(embedder.embed(['x']), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EMBEDDING_DIMENSION');
      assert.match(error.message, /^Embedding dimension 8 does not match EMBEDDING_DIM \(16\)/);
      return true;
    });
  });

  it('does not retry a 400 from the service', async () => {
    const embedder = new HttpEmbedder(config(server, { host: `${server.url}/nope` }), silentLogger);
    server.failNext(1, 400);
    server.requests.length = 0;
    await assert.rejects(embedder.embed(['x']), /HTTP 400/);
    assert.equal(server.requests.length, 1);
  });
});
