import { FileStorage } from '../../src/storage/file/index.ts';
import type { StorageBackend } from '../../src/storage/types.ts';
import { tempDir } from '../helpers.ts';
import { postgresBackends } from '../postgres/helpers.ts';

/**
 * The backends every HTTP test runs against. Each fixture opens an empty storage and
 * cleans it up; PostgreSQL fixtures join this list so the same tests cover them.
 */
export interface OpenedBackend {
  storage: StorageBackend;
  cleanup(): Promise<void>;
}

export interface BackendFixture {
  label: string;
  open(): Promise<OpenedBackend>;
}

export const fileBackend: BackendFixture = {
  label: 'file',
  async open() {
    const dir = tempDir();
    return { storage: new FileStorage(dir.path), cleanup: async () => dir.cleanup() };
  },
};

/** File storage, then PostgreSQL: PGlite with pgvector, and the PostgreSQL 15 server. */
export function httpBackends(): BackendFixture[] {
  return [fileBackend, ...postgresBackends()];
}
