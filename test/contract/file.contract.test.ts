import { silentLogger } from '../../src/log.ts';
import { FileStorage } from '../../src/storage/file/index.ts';
import { tempDir } from '../helpers.ts';
import { storageContract } from './storage-contract.ts';

storageContract('file', async () => {
  const dir = tempDir();
  const storage = new FileStorage(dir.path, { logger: silentLogger });
  return { storage, cleanup: async () => dir.cleanup() };
});
