import { existsSync, mkdirSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Config } from './config.ts';
import { errors } from './errors.ts';
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
  prepareWorkingDir(config.workingDir);
  const storage = await openStorage(config);
  const embedder = createEmbedder(config.embedding, logger);
  if (!embedder) logger.warn('embedding.disabled', { reason: 'EMBEDDING_BINDING/MODEL unset' });
  const app = createApp({ config, storage, logger, embedder });
  const server = await listen(app.fetch, config).catch(async (error: unknown) => {
    await storage.close();
    throw error;
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

/** A WORKING_DIR that cannot be a directory is a configuration problem, not a crash. */
function prepareWorkingDir(directory: string): void {
  if (existsSync(directory) && !statSync(directory).isDirectory()) {
    throw errors.configInvalid([`WORKING_DIR=${directory} is a file, not a directory`]);
  }
  try {
    mkdirSync(directory, { recursive: true });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw errors.configInvalid([`WORKING_DIR=${directory} cannot be created (${reason})`]);
  }
}

const LISTEN_PROBLEMS: Record<string, (config: Config) => string> = {
  EADDRINUSE: (c) => `PORT=${c.port} on HOST=${c.host} is already in use; stop it or set PORT`,
  EACCES: (c) => `PORT=${c.port} needs privileges this process lacks; choose a port above 1023`,
  ENOTFOUND: (c) => `HOST=${c.host} is not a name this machine can resolve`,
  EADDRNOTAVAIL: (c) => `HOST=${c.host} is not an address of this machine`,
};

function listen(fetch: Parameters<typeof serve>[0]['fetch'], config: Config) {
  return new Promise<ServerType>((resolve, reject) => {
    const server = serve({ fetch, hostname: config.host, port: config.port }, () =>
      resolve(server),
    );
    server.once('error', (error: NodeJS.ErrnoException) => {
      const problem = LISTEN_PROBLEMS[error.code ?? ''];
      reject(problem ? errors.configInvalid([problem(config)]) : error);
    });
  });
}
