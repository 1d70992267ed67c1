import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for an embedding service (it cannot run here), speaking the real protocols
 * over HTTP: OpenAI-compatible POST /v1/embeddings and Ollama's POST /api/embed. Vectors
 * are derived from the text's hash, so the same text always gets the same vector.
 */
export interface EmbeddingServer {
  url: string;
  requests: { path: string; inputs: string[] }[];
  /** Answers the next N requests with this HTTP status before serving normally. */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

export function deterministicVector(text: string, dimension: number): number[] {
  const out: number[] = [];
  let seed = createHash('sha256').update(text).digest();
  while (out.length < dimension) {
    for (let i = 0; i + 1 < seed.length && out.length < dimension; i += 2) {
      out.push((seed.readUInt16LE(i) / 65535) * 2 - 1);
    }
    seed = createHash('sha256').update(seed).digest();
  }
  return out;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

export async function startEmbeddingServer(dimension: number): Promise<EmbeddingServer> {
  const requests: EmbeddingServer['requests'] = [];
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  const server: Server = createServer(async (request, response) => {
    const body = JSON.parse(await readBody(request)) as { input: string[] | string };
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    requests.push({ path: request.url ?? '', inputs });
    if (failures.count > 0) {
      failures.count--;
      response.writeHead(failures.status).end('{"error":"busy"}');
      return;
    }
    const vectors = inputs.map((text) => deterministicVector(text, dimension));
    const payload = request.url?.endsWith('/api/embed')
      ? { model: 'test', embeddings: vectors }
      : { data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })) };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (count, status) => {
      failures = { count, status };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
