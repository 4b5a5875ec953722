// Pure decision for passive outlier detection. Consecutive failed attempts (connect errors, resets,
// timeouts, 5xx) eject a backend for base × 2^(n-1) ms, capped at maxEjectionMs, where n counts its
// ejections. No more than maxEjectionPercent of a pool is ejected at once: past the cap the failure
// is noted but the backend keeps serving. An ejected backend returns once its time is up (a "tick"
// observation carries the time); its ejection count is forgiven after it has stayed in for
// maxEjectionMs.
import type { AttemptOutcome } from "../types.js";

/** Outlier detection settings of a pool. */
export interface OutlierPolicy {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
}

/** Per-backend outlier state. */
export interface OutlierState {
  readonly consecutiveFailures: number;
  /** Ejections so far (sets the backoff); forgiven after a long enough healthy stretch. */
  readonly ejections: number;
  /** Ejected until this time, or null when in service. */
  readonly ejectedUntilMs: number | null;
  /** When the backend last returned from an ejection. */
  readonly returnedAtMs: number | null;
}

/** Something the decision reacts to: an attempt's outcome, or the passing of time. */
export type OutlierObservation =
  | { readonly kind: "attempt"; readonly outcome: AttemptOutcome }
  | { readonly kind: "tick" };

/** The pool-wide facts the ejection cap needs. */
export interface PoolEjectionContext {
  readonly poolSize: number;
  /** Backends ejected right now, not counting this one. */
  readonly ejectedCount: number;
}

/** What the shell should do. */
export type OutlierDecision =
  | { readonly kind: "none" }
  | { readonly kind: "eject"; readonly ejectionMs: number; readonly untilMs: number }
  | { readonly kind: "eject_refused"; readonly reason: "max_ejection_percent" }
  | { readonly kind: "return" };

/** The state of a backend that has never failed. */
export const INITIAL_OUTLIER_STATE: OutlierState = {
  consecutiveFailures: 0,
  ejections: 0,
  ejectedUntilMs: null,
  returnedAtMs: null,
};

/** True when an outcome counts against the backend. */
export function isFailure(outcome: AttemptOutcome): boolean {
  return outcome !== "success";
}

/** Ejection length for the n-th ejection (n ≥ 1). */
export function ejectionMsFor(n: number, policy: OutlierPolicy): number {
  // Exponent bounded so the power never overflows; the cap applies long before.
  const factor = 2 ** Math.min(Math.max(n - 1, 0), 30);
  return Math.min(policy.baseEjectionMs * factor, policy.maxEjectionMs);
}

/** True when one more ejection keeps the pool within maxEjectionPercent. */
export function ejectionAllowed(pool: PoolEjectionContext, policy: OutlierPolicy): boolean {
  return (pool.ejectedCount + 1) * 100 <= policy.maxEjectionPercent * pool.poolSize;
}

/** Folds one observation into a backend's outlier state. */
export function decideOutlier(
  state: OutlierState,
  observation: OutlierObservation,
  nowMs: number,
  policy: OutlierPolicy,
  pool: PoolEjectionContext,
): { state: OutlierState; decision: OutlierDecision } {
  if (state.ejectedUntilMs !== null) {
    if (nowMs >= state.ejectedUntilMs) {
      const returned: OutlierState = { ...state, consecutiveFailures: 0, ejectedUntilMs: null, returnedAtMs: nowMs };
      return { state: returned, decision: { kind: "return" } };
    }
    // Late outcomes of attempts begun before the ejection say nothing new.
    return { state, decision: { kind: "none" } };
  }
  if (observation.kind === "tick") return { state, decision: { kind: "none" } };
  if (!isFailure(observation.outcome)) {
    if (state.consecutiveFailures === 0) return { state, decision: { kind: "none" } };
    return { state: { ...state, consecutiveFailures: 0 }, decision: { kind: "none" } };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  if (consecutiveFailures < policy.consecutiveFailures) {
    return { state: { ...state, consecutiveFailures }, decision: { kind: "none" } };
  }
  if (!ejectionAllowed(pool, policy)) {
    return { state: { ...state, consecutiveFailures }, decision: { kind: "eject_refused", reason: "max_ejection_percent" } };
  }
  const forgiven = state.returnedAtMs !== null && nowMs - state.returnedAtMs >= policy.maxEjectionMs;
  const ejections = (forgiven ? 0 : state.ejections) + 1;
  const ejectionMs = ejectionMsFor(ejections, policy);
  const untilMs = nowMs + ejectionMs;
  return {
    state: { consecutiveFailures: 0, ejections, ejectedUntilMs: untilMs, returnedAtMs: state.returnedAtMs },
    decision: { kind: "eject", ejectionMs, untilMs },
  };
}
