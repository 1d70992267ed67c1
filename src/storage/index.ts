import type { Config } from '../config.ts';
import { FileStorage } from './file/index.ts';
import type { StorageBackend } from './types.ts';

/** Opens the backend the configuration selects. */
export async function openStorage(config: Config): Promise<StorageBackend> {
  return FileStorage.fromConfig(config);
}
