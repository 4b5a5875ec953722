// Health of one running instance from its check results. Unlike a proxy backend (up/down, see
// proxy/health/decideActive.ts), an instance has a third phase: `starting`, not yet proven. `rise`
// passes in a row make it healthy; `fall` failures in a row make it unhealthy, whether it was
// healthy or never got there. Failures inside the start grace period do not count while it is
// still starting, so a slow starter is not killed while it warms up.
import type { HealthView } from "./types.js";

export type HealthPhase = "starting" | "healthy" | "unhealthy";

export interface HealthState {
  readonly phase: HealthPhase;
  readonly view: HealthView;
  /** Monotonic ms of the process start this state belongs to. */
  readonly startedAtMs: number;
}

export interface HealthThresholds {
  readonly rise: number;
  readonly fall: number;
  readonly startGraceMs: number;
}

export type HealthChange = "none" | "became_healthy" | "became_unhealthy";

/** The health of a process that has just started. */
export function initialHealth(startedAtMs: number): HealthState {
  return {
    phase: "starting",
    startedAtMs,
    view: { lastOk: null, lastDetail: "", consecutiveSuccesses: 0, consecutiveFailures: 0 },
  };
}

/** Folds one check result into the health state. */
export function decideHealth(
  state: HealthState,
  result: { readonly ok: boolean; readonly detail: string },
  nowMs: number,
  t: HealthThresholds,
): { state: HealthState; change: HealthChange } {
  const v = state.view;
  if (result.ok) {
    const successes = Math.min(v.consecutiveSuccesses + 1, t.rise);
    const view = { lastOk: true, lastDetail: result.detail, consecutiveSuccesses: successes, consecutiveFailures: 0 };
    const rises = state.phase !== "healthy" && successes >= t.rise;
    return { state: { ...state, phase: rises ? "healthy" : state.phase, view }, change: rises ? "became_healthy" : "none" };
  }
  const inGrace = state.phase === "starting" && nowMs - state.startedAtMs < t.startGraceMs;
  const failures = inGrace ? 0 : Math.min(v.consecutiveFailures + 1, t.fall);
  const view = { lastOk: false, lastDetail: result.detail, consecutiveSuccesses: 0, consecutiveFailures: failures };
  const falls = state.phase !== "unhealthy" && failures >= t.fall;
  return { state: { ...state, phase: falls ? "unhealthy" : state.phase, view }, change: falls ? "became_unhealthy" : "none" };
}
