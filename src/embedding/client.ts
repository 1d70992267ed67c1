import type { EmbeddingConfig } from '../config.ts';
import { embeddingErrors, isRagspaceError } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * Embeddings through the services LightRAG supports most: an OpenAI-compatible
 * `/embeddings` endpoint (OpenAI, Text Embeddings Inference, vLLM) or Ollama's
 * `/api/embed`. Requests are batched by EMBEDDING_BATCH_NUM, time out, and are retried
 * with exponential backoff on network errors, 408, 429 and 5xx.
 */
export interface Embedder {
  readonly model: string;
  readonly dimension: number | undefined;
  embed(texts: string[]): Promise<Float32Array[]>;
}

const DEFAULT_HOSTS: Record<string, string> = {
  openai: 'https://api.openai.com/v1',
  ollama: 'http://localhost:11434',
};

class RetryableError extends Error {}

function endpoint(config: EmbeddingConfig): string {
  const host = (config.host ?? DEFAULT_HOSTS[config.binding] ?? '').replace(/\/+$/, '');
  return config.binding === 'ollama' ? `${host}/api/embed` : `${host}/embeddings`;
}

// No `dimensions` field: several OpenAI-compatible servers reject it, and the check
// against EMBEDDING_DIM happens on the answer instead.
function requestBody(config: EmbeddingConfig, texts: string[]): string {
  return JSON.stringify({ model: config.model, input: texts });
}

function parseVectors(binding: string, payload: unknown, expected: number): number[][] {
  const data = payload as {
    data?: { embedding: number[]; index?: number }[];
    embeddings?: number[][];
  };
  const vectors =
    binding === 'ollama'
      ? data.embeddings
      : data.data
          ?.slice()
          .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
          .map((d) => d.embedding);
  if (!Array.isArray(vectors) || vectors.length !== expected) {
    throw new Error(`expected ${expected} embeddings in the response`);
  }
  return vectors;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class HttpEmbedder implements Embedder {
  readonly model: string;
  readonly dimension: number | undefined;
  private readonly url: string;

  constructor(
    private readonly config: EmbeddingConfig,
    private readonly logger: Logger,
  ) {
    this.model = config.model ?? '';
    this.dimension = config.dim;
    this.url = endpoint(config);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.config.batchSize) {
      const batch = texts.slice(i, i + this.config.batchSize);
      out.push(...(await this.embedBatch(batch)));
    }
    return out;
  }

  private async embedBatch(texts: string[]): Promise<Float32Array[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.checkDimensions(await this.request(texts));
      } catch (error) {
        if (isRagspaceError(error)) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        if (!(error instanceof RetryableError) || attempt >= this.config.retries) {
          throw embeddingErrors.failed(this.url, reason);
        }
        const delay = Math.min(8000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.logger.warn('embedding.retry', { attempt: attempt + 1, reason, delay_ms: delay });
        await sleep(delay);
      }
    }
  }

  private async request(texts: string[]): Promise<number[][]> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.config.apiKey) headers.authorization = `Bearer ${this.config.apiKey}`;
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers,
        body: requestBody(this.config, texts),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (error) {
      throw new RetryableError(error instanceof Error ? error.message : String(error));
    }
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      throw new RetryableError(`HTTP ${response.status}`);
    }
    if (!response.ok)
      throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    return parseVectors(this.config.binding, await response.json(), texts.length);
  }

  private checkDimensions(vectors: number[][]): Float32Array[] {
    const expected = this.dimension ?? vectors[0]?.length ?? 0;
    for (const vector of vectors) {
      if (vector.length !== expected) {
        throw embeddingErrors.dimension(
          this.dimension ? 'EMBEDDING_DIM' : 'the other vectors of the batch',
          vector.length,
          expected,
        );
      }
    }
    return vectors.map((v) => Float32Array.from(v));
  }
}

/** The configured embedder, or undefined when no embedding service is configured. */
export function createEmbedder(config: EmbeddingConfig, logger: Logger): Embedder | undefined {
  if (config.binding === '' || !config.model) return undefined;
  return new HttpEmbedder(config, logger);
}
