import type { Config } from '../../config.ts';
import { applyWorkspaceQuery } from '../../workspace/query.ts';
import type {
  StorageBackend,
  WorkspaceDetail,
  WorkspacePage,
  WorkspaceQuery,
  WorkspaceReader,
  WorkspaceWriter,
} from '../types.ts';
import { discoverWorkspaces } from './layout.ts';
import { describeWorkspace, FileStatsCache, summariseWorkspace } from './workspaces.ts';

/**
 * LightRAG's file storage (JsonKVStorage, NanoVectorDBStorage, NetworkXStorage,
 * JsonDocStatusStorage) under WORKING_DIR. Reading never writes into WORKING_DIR.
 */
export class FileStorage implements StorageBackend {
  readonly kind = 'file';
  readonly stats = new FileStatsCache();

  constructor(readonly workingDir: string) {}

  static fromConfig(config: Config): FileStorage {
    return new FileStorage(config.workingDir);
  }

  async listWorkspaces(query: WorkspaceQuery): Promise<WorkspacePage> {
    const discovery = discoverWorkspaces(this.workingDir);
    const summaries = [];
    for (const location of discovery.workspaces) {
      summaries.push(await summariseWorkspace(this.stats, location));
    }
    const page = applyWorkspaceQuery(summaries, query);
    if (discovery.invalid.length > 0) page.invalid_workspaces = discovery.invalid;
    return page;
  }

  async describeWorkspace(name: string): Promise<WorkspaceDetail> {
    const discovery = discoverWorkspaces(this.workingDir);
    const location = discovery.workspaces.find((w) => w.name === name);
    return describeWorkspace(this.stats, location, name);
  }

  async hasWorkspace(name: string): Promise<boolean> {
    return discoverWorkspaces(this.workingDir).workspaces.some((w) => w.name === name);
  }

  // Placeholder until the file writer lands (issue 3); fails loudly rather than pretending.
  async read<T>(_workspace: string, _fn: (reader: WorkspaceReader) => Promise<T>): Promise<T> {
    throw new Error('FileStorage.read is not implemented yet');
  }

  async write<T>(_workspace: string, _fn: (writer: WorkspaceWriter) => Promise<T>): Promise<T> {
    throw new Error('FileStorage.write is not implemented yet');
  }

  async close(): Promise<void> {}
}
