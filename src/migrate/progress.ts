import cliProgress from 'cli-progress';

/**
 * Progress of long passes, per workspace and store. On a terminal: one cli-progress bar
 * per store. Otherwise (CI, pipes, a terminal reporting 0 columns, where bars misbehave):
 * plain lines on stderr, at most one per store every few seconds, plus one at the end.
 */
export interface Progress {
  start(workspace: string, phase: string, store: string, total: number): void;
  advance(workspace: string, store: string, done: number): void;
  end(workspace: string, store: string): void;
  /** A phase line ("checking", "verifying"), always as plain text. */
  note(workspace: string, message: string): void;
  close(): void;
}

export const silentProgress: Progress = {
  start: () => undefined,
  advance: () => undefined,
  end: () => undefined,
  note: () => undefined,
  close: () => undefined,
};

export function isTerminal(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && (stream.columns ?? 0) > 0;
}

interface LineState {
  phase: string;
  total: number;
  done: number;
  printedAt: number;
}

const LINE_INTERVAL_MS = 5000;

class LineProgress implements Progress {
  private readonly stores = new Map<string, LineState>();

  constructor(private readonly write: (line: string) => void) {}

  start(workspace: string, phase: string, store: string, total: number): void {
    this.stores.set(`${workspace}/${store}`, { phase, total, done: 0, printedAt: Date.now() });
  }

  advance(workspace: string, store: string, done: number): void {
    const state = this.stores.get(`${workspace}/${store}`);
    if (!state) return;
    state.done += done;
    if (Date.now() - state.printedAt < LINE_INTERVAL_MS) return;
    state.printedAt = Date.now();
    this.print(workspace, store, state);
  }

  end(workspace: string, store: string): void {
    const state = this.stores.get(`${workspace}/${store}`);
    if (state) this.print(workspace, store, state);
    this.stores.delete(`${workspace}/${store}`);
  }

  note(workspace: string, message: string): void {
    this.write(`${workspace}: ${message}`);
  }

  close(): void {}

  private print(workspace: string, store: string, state: LineState): void {
    const of = state.total > 0 ? ` of ${state.total}` : '';
    this.write(`${workspace} ${state.phase} ${store}: ${state.done}${of} records`);
  }
}

class BarProgress implements Progress {
  private readonly multibar = new cliProgress.MultiBar(
    {
      format: ' {workspace} {phase} {store} [{bar}] {value}/{total} {duration_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly bars = new Map<string, cliProgress.SingleBar>();

  start(workspace: string, phase: string, store: string, total: number): void {
    const bar = this.multibar.create(Math.max(total, 1), 0, { workspace, phase, store });
    this.bars.set(`${workspace}/${store}`, bar);
  }

  advance(workspace: string, store: string, done: number): void {
    this.bars.get(`${workspace}/${store}`)?.increment(done);
  }

  end(workspace: string, store: string): void {
    const bar = this.bars.get(`${workspace}/${store}`);
    if (!bar) return;
    bar.update(bar.getTotal());
    this.bars.delete(`${workspace}/${store}`);
  }

  note(workspace: string, message: string): void {
    this.multibar.log(`${workspace}: ${message}\n`);
  }

  close(): void {
    this.multibar.stop();
  }
}

/** Bars on a terminal, lines elsewhere. */
export function consoleProgress(): Progress {
  if (isTerminal()) return new BarProgress();
  return new LineProgress((line) => process.stderr.write(line + '\n'));
}
