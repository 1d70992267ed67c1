import type { WorkspaceState } from './workspace-state.ts';

/**
 * Loaded workspaces, least recently used first. When their estimated size passes the
 * budget (RAGSPACE_MEMORY_BUDGET_MB), the least recently used ones that no operation is
 * using are dropped; they load again on next use. One workspace larger than the whole
 * budget still loads (it has to, to be served) and is dropped as soon as it is idle.
 */
export class WorkspaceCache {
  private readonly states = new Map<string, WorkspaceState>();
  /** How many workspaces were dropped; tests read it. */
  evictions = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly create: (name: string) => WorkspaceState,
  ) {}

  /** The workspace's state, pinned until `release`; it becomes the most recently used. */
  use(name: string): WorkspaceState {
    const state = this.states.get(name) ?? this.create(name);
    this.states.delete(name);
    this.states.set(name, state);
    state.pins++;
    return state;
  }

  release(state: WorkspaceState): void {
    state.pins = Math.max(0, state.pins - 1);
    this.trim();
  }

  /** Forgets a workspace (after its files were changed outside the normal path). */
  forget(name: string): void {
    this.states.delete(name);
  }

  loaded(): string[] {
    return [...this.states.keys()];
  }

  get bytes(): number {
    let total = 0;
    for (const state of this.states.values()) total += state.bytes;
    return total;
  }

  /** Evicts idle workspaces, oldest first, until the loaded ones fit the budget. */
  trim(): void {
    let total = this.bytes;
    for (const [name, state] of this.states) {
      if (total <= this.budgetBytes) return;
      if (state.pins > 0) continue;
      this.states.delete(name);
      total -= state.bytes;
      this.evictions++;
    }
  }
}
