// Pure decision for active health checks: consecutive check results move a backend between up
// and down. `rise` consecutive successes bring a down backend up; `fall` consecutive failures take
// an up backend down. Anything in between changes nothing (hysteresis against flapping).

/** Whether active checks currently consider a backend able to serve. */
export type HealthStatus = "up" | "down";

/** Thresholds of an active check (the `rise`/`fall` of HAProxy). */
export interface RiseFall {
  readonly rise: number;
  readonly fall: number;
}

/** Per-backend state of active checking. */
export interface ActiveHealthState {
  readonly status: HealthStatus;
  /** Consecutive successes since the last failure. */
  readonly successes: number;
  /** Consecutive failures since the last success. */
  readonly failures: number;
  /** When the status last changed (or the state was created). */
  readonly sinceMs: number;
  /** No check has completed yet. A pending backend that starts down comes up on its first success. */
  readonly pending: boolean;
}

/** One completed check. */
export interface CheckObservation {
  readonly ok: boolean;
}

/** What the shell should do after a check result. */
export type ActiveDecision = "none" | "became_up" | "became_down";

/**
 * The state of a newly added backend: "up" trusts it until `fall` checks fail (a proxy starting
 * up); "down" keeps it out until its first check passes (a backend joining a running pool).
 */
export function initialActiveState(nowMs: number, status: HealthStatus = "up"): ActiveHealthState {
  return { status, successes: 0, failures: 0, sinceMs: nowMs, pending: true };
}

/** Folds one check result into the state. */
export function decideActive(
  state: ActiveHealthState,
  observation: CheckObservation,
  nowMs: number,
  thresholds: RiseFall,
): { state: ActiveHealthState; decision: ActiveDecision } {
  if (observation.ok) {
    const successes = Math.min(state.successes + 1, thresholds.rise);
    if (state.status === "down" && (successes >= thresholds.rise || state.pending)) {
      return { state: { status: "up", successes, failures: 0, sinceMs: nowMs, pending: false }, decision: "became_up" };
    }
    return { state: { ...state, successes, failures: 0, pending: false }, decision: "none" };
  }
  const failures = Math.min(state.failures + 1, thresholds.fall);
  if (state.status === "up" && failures >= thresholds.fall) {
    return { state: { status: "down", successes: 0, failures, sinceMs: nowMs, pending: false }, decision: "became_down" };
  }
  return { state: { ...state, successes: 0, failures, pending: false }, decision: "none" };
}
