// SIGTERM's grace period (docs/write-path.md, "Failure, SIGTERM, end of input"): once the signal
// arrived, whatever `write` still does (reading, finishing held states, the end of its input) races
// one timer, so that the process exits 143 before the orchestrator's SIGKILL.

export const GRACE_OVER = Symbol('grace over');

/** SIGTERM: once it arrived, the rest of the sync races a grace timer. */
export class Sigterm {
  received = false;
  private timer: NodeJS.Timeout | undefined;
  private expire!: () => void;
  /** Resolves graceMs after SIGTERM (never, without one). */
  private readonly over = new Promise<typeof GRACE_OVER>((resolve) => (this.expire = () => resolve(GRACE_OVER)));

  constructor(private readonly graceMs: number) {}

  arrive(): void {
    if (this.received) return;
    this.received = true;
    // Not unref'd: while the sync finishes, this timer is what ends a wait that nothing else would.
    this.timer = setTimeout(this.expire, this.graceMs);
  }

  /** The work's outcome, or GRACE_OVER when SIGTERM's grace period runs out first. */
  within<T>(work: Promise<T>): Promise<T | typeof GRACE_OVER> {
    return Promise.race([work, this.over]);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** Resolves when `work` settles or after `ms`, whichever comes first; never rejects. */
export function boundedWait(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    timeout,
  ]).finally(() => clearTimeout(timer));
}
