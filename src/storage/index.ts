import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { FileStorage } from './file/index.ts';
import { MixedStorage } from './mixed.ts';
import { PostgresStorage } from './postgres/index.ts';
import { storesOf } from './postgres/schema.ts';
import type { StorageBackend } from './types.ts';

/**
 * Opens the backend the configuration selects, store by store (LIGHTRAG_*_STORAGE): all
 * files, all PostgreSQL, or a mix where each store goes to its own backend. PostgreSQL is
 * a server (POSTGRES_*), or embedded PGlite when RAGSPACE_PGLITE_DIR is set.
 */
export async function openStorage(config: Config, logger?: Logger): Promise<StorageBackend> {
  const stores = storesOf(config);
  const inPostgres = Object.values(stores).filter(Boolean).length;
  if (inPostgres === 0) return FileStorage.fromConfig(config, logger);
  const log = logger?.child({ component: 'postgres' });
  const postgres = await PostgresStorage.open(config, { stores, ...(log ? { log } : {}) });
  if (inPostgres === 4) return postgres;
  return new MixedStorage(FileStorage.fromConfig(config, logger), postgres);
}
