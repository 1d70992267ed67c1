import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Config } from './config.ts';
import { createEmbedder } from './embedding/client.ts';
import { createApp } from './http/app.ts';
import type { Logger } from './log.ts';
import { openStorage } from './storage/index.ts';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the HTTP server; resolves once it listens. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  mkdirSync(config.workingDir, { recursive: true });
  const storage = await openStorage(config);
  const embedder = createEmbedder(config.embedding, logger);
  if (!embedder) logger.warn('embedding.disabled', { reason: 'EMBEDDING_BINDING/MODEL unset' });
  const app = createApp({ config, storage, logger, embedder });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () =>
      resolve(s),
    );
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  logger.info('server.started', { url: `http://${host}:${port}`, backend: storage.kind });
  return {
    url: `http://${host}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await storage.close();
    },
  };
}
