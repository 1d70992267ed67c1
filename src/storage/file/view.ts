import { knowledgeGraph } from '../../graph/subgraph.ts';
import type {
  Entity,
  KnowledgeGraph,
  KvNamespace,
  KvRecord,
  Page,
  Relation,
  VectorNamespace,
  VectorRecord,
  WorkspaceReader,
} from '../types.ts';
import type { GraphModel } from './graph.ts';
import {
  entityPage,
  findLabels,
  popularLabels,
  relationPage,
  relationsOf,
  subgraphSource,
  toEntity,
  toRelation,
} from './graph.ts';
import type { KvStore } from './kv.ts';
import {
  graphStore,
  kvStore,
  pendingStore,
  vectorStore,
  type StoreId,
  type StoreKind,
} from './stores.ts';
import { pendingRecord, toVectorRecord, type PendingStore, type VectorStore } from './vectors.ts';
import { copyAside, discardCopy, type Fingerprint } from './atomic.ts';
import type { Slot, WorkspaceState } from './workspace-state.ts';

/**
 * One operation's view of a workspace. It starts from the slots loaded when the operation
 * began, so everything it reads belongs to one committed state, even if a writer commits
 * meanwhile (stores first used later in the operation load from the current files). A
 * writer's changes are staged on copies of the stores it changes and reach the
 * workspace only when `write()` commits them; its own reads see them at once.
 */
export interface StagedStore {
  kind: StoreKind<unknown>;
  value: unknown;
  /** The slot the value was copied from; none for a store replaced outright. */
  base?: Slot<unknown>;
  /** A copy of a large base file being made for an append; the commit takes it over. */
  early?: Promise<string | undefined>;
}

/**
 * Files at least this large are copied for an append as soon as a writer first changes
 * their store, so the copy overlaps the rest of the operation. The copy is wasted (and
 * removed) when the write turns out to need a rewrite, which for such a file costs far
 * more than the copy anyway.
 */
const EARLY_COPY_BYTES = 16n * 1024n * 1024n;

/** What a file looked like when this view read it; checked again before committing. */
export interface FileExpectation {
  file: string;
  fingerprint: Fingerprint | null;
}

export class ViewStores {
  private readonly slots: Map<StoreId, Slot<unknown>>;
  private readonly staged = new Map<StoreId, StagedStore>();
  private readonly expected = new Map<StoreId, FileExpectation>();
  private closed = false;

  constructor(readonly state: WorkspaceState) {
    this.slots = state.snapshot();
  }

  /** Ends the view; an operation that kept its reader or writer cannot use it later. */
  close(): void {
    this.closed = true;
  }

  async current<T>(kind: StoreKind<T>): Promise<T> {
    this.checkOpen();
    const staged = this.staged.get(kind.id);
    if (staged) return staged.value as T;
    return (await this.base(kind)).value;
  }

  private async base<T>(kind: StoreKind<T>): Promise<Slot<T>> {
    let slot = this.slots.get(kind.id) as Slot<T> | undefined;
    if (!slot) {
      slot = await this.state.slot(kind);
      this.slots.set(kind.id, slot);
    }
    if (!this.expected.has(kind.id)) this.expected.set(kind.id, slot);
    return slot;
  }

  /** Whether the store is in memory for this view (read, changed, or loaded before). */
  has(id: StoreId): boolean {
    return this.staged.has(id) || this.slots.has(id);
  }

  /** The store to change: a private copy, made on first change. */
  async mutable<T>(kind: StoreKind<T>): Promise<T> {
    this.checkOpen();
    const staged = this.staged.get(kind.id);
    if (staged) return staged.value as T;
    const base = await this.base(kind);
    const copy = kind.clone(base.value);
    this.staged.set(kind.id, {
      kind: kind as StoreKind<unknown>,
      value: copy,
      base: base as Slot<unknown>,
      early: this.copyEarly(kind, base),
    });
    return copy;
  }

  private copyEarly<T>(kind: StoreKind<T>, base: Slot<T>) {
    const fingerprint = base.fingerprint;
    if (!kind.appendPlan || !fingerprint || fingerprint.size < EARLY_COPY_BYTES) return undefined;
    return copyAside(this.state.path(kind as StoreKind<unknown>), fingerprint);
  }

  /** Removes the early copies no commit took over (the operation failed or was retried). */
  async discardCopies(): Promise<void> {
    for (const staged of this.staged.values()) {
      const early = staged.early;
      staged.early = undefined;
      await discardCopy(early);
    }
  }

  /** Replaces a store outright (clear); `seen` is its file when it was not loaded. */
  replace<T>(kind: StoreKind<T>, value: T, seen?: FileExpectation): void {
    this.checkOpen();
    if (seen && !this.expected.has(kind.id)) this.expected.set(kind.id, seen);
    const early = this.staged.get(kind.id)?.early;
    this.staged.set(kind.id, { kind: kind as StoreKind<unknown>, value, early });
  }

  stagedStores(): StagedStore[] {
    return [...this.staged.values()];
  }

  /** Every file this view read or replaced, as it was then. */
  expectations(): FileExpectation[] {
    return [...this.expected.values()];
  }

  expectationOf(id: StoreId): FileExpectation | undefined {
    return this.expected.get(id);
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new Error('a workspace reader or writer was used after its operation finished');
    }
  }
}

export class FileReader implements WorkspaceReader {
  constructor(protected readonly stores: ViewStores) {}

  protected graph(): Promise<GraphModel> {
    return this.stores.current(graphStore);
  }

  protected kv(namespace: KvNamespace): Promise<KvStore> {
    return this.stores.current(kvStore(namespace));
  }

  protected vectors(namespace: VectorNamespace): Promise<VectorStore> {
    return this.stores.current(vectorStore(namespace));
  }

  protected pending(): Promise<PendingStore> {
    return this.stores.current(pendingStore);
  }

  async entityNames(): Promise<string[]> {
    return [...(await this.graph()).sortedNames()];
  }

  async popularLabels(limit: number): Promise<string[]> {
    return popularLabels(await this.graph(), limit);
  }

  async searchLabels(query: string, limit: number): Promise<string[]> {
    return findLabels(await this.graph(), query, limit);
  }

  async knowledgeGraph(label: string, maxDepth: number, maxNodes: number): Promise<KnowledgeGraph> {
    return knowledgeGraph(subgraphSource(await this.graph()), label, maxDepth, maxNodes);
  }

  async getEntity(name: string): Promise<Entity | undefined> {
    const attributes = (await this.graph()).attributes(name);
    return attributes && toEntity(name, attributes);
  }

  async getRelation(source: string, target: string): Promise<Relation | undefined> {
    const edge = (await this.graph()).edge(source, target);
    return edge && toRelation(edge);
  }

  async relationsOf(name: string): Promise<Relation[]> {
    return relationsOf(await this.graph(), name);
  }

  async entities(offset: number, limit: number): Promise<Page<Entity>> {
    return entityPage(await this.graph(), offset, limit);
  }

  async relations(offset: number, limit: number): Promise<Page<Relation>> {
    return relationPage(await this.graph(), offset, limit);
  }

  async getKv(namespace: KvNamespace, ids: string[]): Promise<Map<string, KvRecord>> {
    const store = await this.kv(namespace);
    const found = new Map<string, KvRecord>();
    for (const id of ids) {
      const record = store.records.get(id);
      // A copy: callers may change what they get without changing the stored record.
      if (record !== undefined) found.set(id, structuredClone(record));
    }
    return found;
  }

  async getVectors(namespace: VectorNamespace, ids: string[]): Promise<VectorRecord[]> {
    const store = await this.vectors(namespace);
    const waiting = (await this.pending()).of(namespace);
    const found: VectorRecord[] = [];
    for (const id of ids) {
      const row = store.rows.get(id);
      const pending = waiting.get(id);
      if (row) found.push(toVectorRecord(row));
      else if (pending) found.push(pendingRecord(id, pending));
    }
    return found;
  }

  async pendingVectors(namespace: VectorNamespace): Promise<VectorRecord[]> {
    const rows = (await this.pending()).of(namespace);
    return [...rows].map(([id, row]) => pendingRecord(id, row));
  }

  async vectorDimension(namespace: VectorNamespace): Promise<number | undefined> {
    return (await this.vectors(namespace)).dimension();
  }
}
