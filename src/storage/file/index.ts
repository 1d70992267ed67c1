import { join } from 'node:path';
import type { Config } from '../../config.ts';
import { errors, fileErrors } from '../../errors.ts';
import { createLogger, type Logger } from '../../log.ts';
import { applyWorkspaceQuery } from '../../workspace/query.ts';
import type {
  StorageBackend,
  WorkspaceDetail,
  WorkspacePage,
  WorkspaceQuery,
  WorkspaceReader,
  WorkspaceWriter,
} from '../types.ts';
import { hasPendingCommit, reapTempFiles, recoverCommit } from './atomic.ts';
import { commitView, StaleView } from './commit.ts';
import {
  discoverWorkspaces,
  LOCK_DIRECTORY,
  workspaceDirectory,
  workspaceExists,
} from './layout.ts';
import {
  AsyncMutex,
  DEFAULT_LOCK_OPTIONS,
  FileLock,
  type LockHandle,
  type LockOptions,
} from './lock.ts';
import { FileReader, ViewStores } from './view.ts';
import { WorkspaceCache } from './workspace-cache.ts';
import { WorkspaceState } from './workspace-state.ts';
import { describeWorkspace, FileStatsCache, summariseWorkspace } from './workspaces.ts';
import { FileWriter } from './writer.ts';

/**
 * LightRAG's file storage (JsonKVStorage, NanoVectorDBStorage, NetworkXStorage,
 * JsonDocStatusStorage) under WORKING_DIR.
 *
 * Reads run on a consistent in-memory view of the workspace, loaded store by store on
 * first use and checked against the files (size, times, inode) at the start of every
 * operation, so changes by other processes are seen. Writes take the workspace lock
 * (lock.ts), stage their changes on copies, and commit all changed files at once
 * (commit.ts); if the operation throws, nothing is written and memory is unchanged.
 * `fn` of `write()` may run more than once when a program that ignores the lock changed
 * a file meanwhile, so it should not have side effects outside the writer.
 *
 * Limits: a read takes no lock, so a read in one process that first touches a store
 * while another process is renaming a multi-file commit into place can see that store
 * new and one it loaded earlier old (each file is always whole). The lock wait and stale
 * times are constructor options only; config.ts has no variables for them yet.
 */
export interface FileStorageOptions {
  /** Bytes of loaded workspaces kept before LRU eviction (RAGSPACE_MEMORY_BUDGET_MB). */
  memoryBudgetBytes?: number;
  lock?: Partial<LockOptions>;
  logger?: Logger;
}

const WRITE_ATTEMPTS = 3;
const DEFAULT_BUDGET = 1024 * 1024 * 1024;

interface WorkspaceLocks {
  mutex: AsyncMutex;
  file: FileLock;
}

export class FileStorage implements StorageBackend {
  readonly kind = 'file';
  readonly stats = new FileStatsCache();
  private readonly cache: WorkspaceCache;
  private readonly locks = new Map<string, WorkspaceLocks>();
  private readonly reaped = new Set<string>();
  private readonly lockOptions: LockOptions;
  private readonly logger: Logger;

  constructor(
    readonly workingDir: string,
    options: FileStorageOptions = {},
  ) {
    this.logger = options.logger ?? createLogger({ component: 'file-storage' });
    this.lockOptions = { ...DEFAULT_LOCK_OPTIONS, ...options.lock };
    this.cache = new WorkspaceCache(options.memoryBudgetBytes ?? DEFAULT_BUDGET, (name) =>
      this.newState(name),
    );
  }

  static fromConfig(config: Config, logger?: Logger): FileStorage {
    return new FileStorage(config.workingDir, {
      memoryBudgetBytes: config.memoryBudgetBytes,
      ...(logger ? { logger: logger.child({ component: 'file-storage' }) } : {}),
    });
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
    return workspaceExists(this.workingDir, name);
  }

  async read<T>(workspace: string, fn: (reader: WorkspaceReader) => Promise<T>): Promise<T> {
    if (!workspaceExists(this.workingDir, workspace)) throw errors.workspaceNotFound(workspace);
    await this.recoverInterruptedCommit(workspace);
    const state = this.cache.use(workspace);
    try {
      await state.revalidate();
      const stores = new ViewStores(state);
      try {
        return await fn(new FileReader(stores));
      } finally {
        stores.close();
      }
    } finally {
      this.cache.release(state);
    }
  }

  async write<T>(workspace: string, fn: (writer: WorkspaceWriter) => Promise<T>): Promise<T> {
    return this.withLock(workspace, async (lock) => {
      const state = this.cache.use(workspace);
      try {
        const finished = await recoverCommit(state.directory);
        if (finished !== undefined) this.logger.warn('write.recovered', { workspace, finished });
        return await this.writeAttempts(state, lock, fn);
      } finally {
        this.cache.release(state);
      }
    });
  }

  /** Names of the workspaces now in memory, least recently used first. */
  loadedWorkspaces(): string[] {
    return this.cache.loaded();
  }

  get evictions(): number {
    return this.cache.evictions;
  }

  /** Estimated bytes of the workspaces in memory. */
  loadedBytes(): number {
    return this.cache.bytes;
  }

  async close(): Promise<void> {
    for (const name of this.cache.loaded()) this.cache.forget(name);
  }

  private newState(name: string): WorkspaceState {
    const directory = workspaceDirectory(this.workingDir, name);
    const logger = this.logger.child({ workspace: name });
    return new WorkspaceState(name, directory, logger, () => this.cache.trim());
  }

  private async writeAttempts<T>(
    state: WorkspaceState,
    lock: LockHandle,
    fn: (writer: WorkspaceWriter) => Promise<T>,
  ): Promise<T> {
    let stale: StaleView | undefined;
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      const outcome = await this.attempt(state, lock, fn);
      if (!(outcome instanceof StaleView)) {
        await this.reapOnce(state);
        return outcome.result;
      }
      stale = outcome;
      this.logger.warn('write.retry_changed_file', { workspace: state.name, file: stale.file });
    }
    throw fileErrors.changed(state.name, stale?.file ?? 'a workspace file');
  }

  /** Runs `fn` on fresh data and commits; a StaleView means "run it again". */
  private async attempt<T>(
    state: WorkspaceState,
    lock: LockHandle,
    fn: (writer: WorkspaceWriter) => Promise<T>,
  ): Promise<{ result: T } | StaleView> {
    await state.revalidate();
    const stores = new ViewStores(state);
    const writer = new FileWriter(stores, state.name);
    let result: T;
    try {
      result = await fn(writer);
    } catch (error) {
      await stores.discardCopies();
      throw error;
    } finally {
      stores.close();
    }
    const logger = this.logger.child({ workspace: state.name });
    try {
      await commitView(stores, lock, writer.repairs, logger);
    } catch (error) {
      if (error instanceof StaleView) return error;
      throw error;
    } finally {
      await stores.discardCopies();
    }
    return { result };
  }

  private async reapOnce(state: WorkspaceState): Promise<void> {
    if (this.reaped.has(state.directory)) return;
    this.reaped.add(state.directory);
    const reaped = await reapTempFiles(state.directory);
    if (reaped > 0) this.logger.info('write.temp_files_reaped', { workspace: state.name, reaped });
  }

  private async recoverInterruptedCommit(workspace: string): Promise<void> {
    const directory = workspaceDirectory(this.workingDir, workspace);
    if (!hasPendingCommit(directory)) return;
    await this.withLock(workspace, async () => {
      const finished = await recoverCommit(directory);
      if (finished !== undefined) this.logger.warn('write.recovered', { workspace, finished });
    });
  }

  private locksOf(workspace: string): WorkspaceLocks {
    let locks = this.locks.get(workspace);
    if (!locks) {
      const path = join(this.workingDir, LOCK_DIRECTORY, `${workspace}.lock`);
      locks = { mutex: new AsyncMutex(), file: new FileLock(path, this.lockOptions) };
      this.locks.set(workspace, locks);
    }
    return locks;
  }

  private async withLock<T>(workspace: string, body: (lock: LockHandle) => Promise<T>): Promise<T> {
    const locks = this.locksOf(workspace);
    const waitMs = this.lockOptions.waitMs;
    const busy = () => fileErrors.busy(workspace, waitMs, 'another write of this process');
    const releaseMutex = await locks.mutex.acquire(waitMs, busy);
    try {
      const handle = await locks.file.acquire(workspace);
      try {
        return await body(handle);
      } finally {
        await handle.release();
      }
    } finally {
      releaseMutex();
    }
  }
}
