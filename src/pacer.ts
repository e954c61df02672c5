/**
 * Spreads a burst of work over turns of the event loop. Accepting a message over HTTP is a few
 * milliseconds of work (parsing, the store's statements, the bus, the response's first bytes); 200
 * requests that arrive in one turn of the loop would otherwise all be handled in that turn, holding
 * timers (lease renewals, pings, delivery) for a second or more. Work starts at once while this turn
 * has run paced work for less than `budgetMs` (measured from the first start in the turn, so it
 * counts what the earlier starts did in between); past that, starts wait, in arrival order, one
 * per later turn of the loop, so timers and I/O run between any two of them.
 */
export class Pacer {
  private readonly waiting: (() => void)[] = [];
  /** When the current slice of paced work began; a slice ends at the loop's next check phase. */
  private sliceStart = 0;
  private sliceOpen = false;
  private releasing = false;

  constructor(private readonly budgetMs = 10) {}

  /** Runs `work` now when this turn of the loop has budget left (and nothing waits), else in a later turn. */
  run<T>(work: () => T): Promise<Awaited<T>> {
    if (this.waiting.length === 0 && this.withinBudget()) return settle(work);
    return new Promise<Awaited<T>>((resolve, reject) => {
      this.waiting.push(() => settle(work).then(resolve, reject));
      this.scheduleRelease();
    });
  }

  private withinBudget(): boolean {
    const now = performance.now();
    if (!this.sliceOpen) {
      this.sliceOpen = true;
      this.sliceStart = now;
      setImmediate(() => (this.sliceOpen = false));
    }
    return now - this.sliceStart < this.budgetMs;
  }

  private scheduleRelease(): void {
    if (this.releasing) return;
    this.releasing = true;
    setImmediate(() => this.release());
  }

  /**
   * In a check phase: starts the next waiting work, whose own promise callbacks run before the next
   * immediate, then gives the loop a turn (an immediate set in a check phase runs in the next turn).
   */
  private release(): void {
    this.releasing = false;
    this.waiting.shift()?.();
    if (this.waiting.length) this.scheduleRelease();
  }
}

function settle<T>(work: () => T): Promise<Awaited<T>> {
  try {
    return Promise.resolve(work()) as Promise<Awaited<T>>;
  } catch (err) {
    return Promise.reject(err);
  }
}
