// Reconnection delays: exponential, capped, with jitter so that nodes restarted together do not
// reconnect in lockstep. Randomness is injected so tests are deterministic.

/** How reconnection delays grow. */
export interface BackoffPolicy {
  readonly initialDelayMs: number;
  /** Upper bound of any delay. */
  readonly maxDelayMs: number;
  readonly multiplier: number;
  /** Fraction of the delay removed at random: 0.5 draws from [delay/2, delay]. */
  readonly jitterRatio: number;
}

/** The delay before reconnection attempt `attempt` (0 for the first retry); `random` draws from [0, 1). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exponent = Math.min(attempt, 30);
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** exponent);
  return Math.max(0, Math.round(base - base * policy.jitterRatio * random()));
}
