import type { Config } from '../config.ts';
import type { Embedder } from '../embedding/client.ts';
import type { Logger } from '../log.ts';
import type { StorageBackend } from '../storage/types.ts';

/** What every route handler may use; built once per server. */
export interface ServerDeps {
  config: Config;
  storage: StorageBackend;
  logger: Logger;
  /** Absent when no embedding service is configured: vectors are then left pending. */
  embedder?: Embedder;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    logger: Logger;
  };
};
