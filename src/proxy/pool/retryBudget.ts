// Retry budget: retries may add at most `budgetPercent` of the recent requests, plus a floor of
// `minRetriesPerSecond` so that a quiet pool can still retry. "Recent" is a sliding window of
// one-second buckets; time is injected. This is what keeps retries from multiplying load when a
// whole pool is failing (every request failing would otherwise be sent maxAttempts times).

/** Seconds of history the budget looks at. */
export const RETRY_WINDOW_SECONDS = 10;

/** Settings of a retry budget. */
export interface RetryBudgetPolicy {
  readonly budgetPercent: number;
  readonly minRetriesPerSecond: number;
}

/** A token-bucket-like retry budget over a sliding window. */
export class RetryBudget {
  private readonly requests = new Float64Array(RETRY_WINDOW_SECONDS);
  private readonly retries = new Float64Array(RETRY_WINDOW_SECONDS);
  private currentSecond = -1;

  constructor(private policy: RetryBudgetPolicy) {}

  /** Replaces the settings, keeping the history. */
  setPolicy(policy: RetryBudgetPolicy): void {
    this.policy = policy;
  }

  /** Counts one attempt (a first attempt or a retry: granted retries are subtracted back out). */
  recordRequest(nowMs: number): void {
    const slot = this.slot(nowMs);
    this.requests[slot] = (this.requests[slot] as number) + 1;
  }

  /** Takes one retry from the budget if it allows one; true when the retry may go ahead. */
  tryAcquire(nowMs: number): boolean {
    const slot = this.slot(nowMs);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < RETRY_WINDOW_SECONDS; i++) {
      requests += this.requests[i] as number;
      retries += this.retries[i] as number;
    }
    // Every granted retry is itself recorded as an attempt when it begins: take those back out so
    // that the percentage is of first attempts, not of first attempts plus retries.
    const firstAttempts = Math.max(0, requests - retries);
    const withinPercent = retries + 1 <= (firstAttempts * this.policy.budgetPercent) / 100;
    const withinFloor = (this.retries[slot] as number) < this.policy.minRetriesPerSecond;
    if (!withinPercent && !withinFloor) return false;
    this.retries[slot] = (this.retries[slot] as number) + 1;
    return true;
  }

  /** Advances the window to `nowMs`, clearing buckets that fell out of it; returns the current slot. */
  private slot(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.currentSecond) {
      const gap = this.currentSecond < 0 ? RETRY_WINDOW_SECONDS : Math.min(second - this.currentSecond, RETRY_WINDOW_SECONDS);
      // A clock that goes backwards (it should not: it is monotonic) just reuses the slot.
      for (let s = 1; s <= gap; s++) {
        const i = (((this.currentSecond + s) % RETRY_WINDOW_SECONDS) + RETRY_WINDOW_SECONDS) % RETRY_WINDOW_SECONDS;
        this.requests[i] = 0;
        this.retries[i] = 0;
      }
      this.currentSecond = Math.max(second, this.currentSecond);
    }
    return ((this.currentSecond % RETRY_WINDOW_SECONDS) + RETRY_WINDOW_SECONDS) % RETRY_WINDOW_SECONDS;
  }
}
