import { join } from 'node:path';
import { fileErrors, type RagspaceError } from '../../errors.ts';
import { GraphmlError } from '../../formats/graphml.ts';
import { JsonFormatError } from '../../formats/json-stream.ts';
import { NanoVdbError } from '../../formats/nano-vdb-loader.ts';
import type { Logger } from '../../log.ts';
import { fingerprintOf, sameFingerprint, type Fingerprint } from './atomic.ts';
import type { StoreId, StoreKind } from './stores.ts';

/**
 * What is loaded of one workspace: each store that has been used, with the fingerprint
 * (size, times, inode) of the file it came from. Stores load on first use, so a label
 * list never parses the LLM cache. A slot is never changed: a commit puts a new one in
 * place, and readers keep the slots they started with.
 */
export interface Slot<T> {
  value: T;
  /** The file name inside the workspace directory. */
  file: string;
  /** The file as it was when read (or written); null when there was no file. */
  fingerprint: Fingerprint | null;
  bytes: number;
}

const LOAD_ATTEMPTS = 3;
const EMPTY_SLOT_BYTES = 1024;

function corruptError(workspace: string, file: string, error: unknown): RagspaceError | undefined {
  const known =
    error instanceof JsonFormatError ||
    error instanceof GraphmlError ||
    error instanceof NanoVdbError;
  if (!known) return undefined;
  return fileErrors.corrupt(workspace, file, error.reason, error.offset);
}

export class WorkspaceState {
  private readonly slots = new Map<StoreId, Slot<unknown>>();
  private readonly loading = new Map<StoreId, Promise<Slot<unknown>>>();
  /** Operations using this workspace now; a pinned workspace is never evicted. */
  pins = 0;

  constructor(
    readonly name: string,
    readonly directory: string,
    private readonly logger: Logger,
    private readonly onLoaded: () => void,
  ) {}

  path(kind: StoreKind<unknown>): string {
    return join(this.directory, kind.file);
  }

  get bytes(): number {
    let total = 0;
    for (const slot of this.slots.values()) total += slot.bytes;
    return total;
  }

  /** The current slots, for a reader's consistent view. */
  snapshot(): Map<StoreId, Slot<unknown>> {
    return new Map(this.slots);
  }

  async slot<T>(kind: StoreKind<T>): Promise<Slot<T>> {
    const loaded = this.slots.get(kind.id);
    if (loaded) return loaded as Slot<T>;
    let pending = this.loading.get(kind.id);
    if (!pending) {
      pending = this.load(kind).finally(() => this.loading.delete(kind.id));
      this.loading.set(kind.id, pending);
    }
    return (await pending) as Slot<T>;
  }

  /** Puts a newly written store in place. */
  replace<T>(kind: StoreKind<T>, slot: Slot<T>): void {
    this.slots.set(kind.id, slot);
  }

  /** Forgets stores whose file changed since they were read; returns how many. */
  async revalidate(): Promise<number> {
    let dropped = 0;
    for (const [id, slot] of [...this.slots]) {
      const file = join(this.directory, slot.file);
      if (!sameFingerprint(slot.fingerprint, await fingerprintOf(file))) {
        if (this.slots.get(id) === slot) this.slots.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  private async load<T>(kind: StoreKind<T>): Promise<Slot<T>> {
    const path = this.path(kind);
    for (let attempt = 1; attempt <= LOAD_ATTEMPTS; attempt++) {
      const before = await fingerprintOf(path);
      const value = before === null ? kind.empty() : await this.parse(kind, path);
      // A file replaced while it was read (issue B02) is read again.
      if (!sameFingerprint(before, await fingerprintOf(path))) continue;
      const bytes =
        before === null ? EMPTY_SLOT_BYTES : kind.estimateBytes(value, Number(before.size));
      const slot: Slot<T> = { value, file: kind.file, fingerprint: before, bytes };
      this.slots.set(kind.id, slot);
      this.onLoaded();
      return slot;
    }
    throw fileErrors.changed(this.name, kind.file);
  }

  private async parse<T>(kind: StoreKind<T>, path: string): Promise<T> {
    try {
      return await kind.load(path, this.logger);
    } catch (error) {
      const corrupt = corruptError(this.name, kind.file, error);
      // The reason can quote file text, so only where the damage is goes to the log.
      if (corrupt) this.logger.warn('file.corrupt', { file: kind.file, ...corrupt.details });
      throw corrupt ?? error;
    }
  }
}
