// What to do when an instance ends on its own (or is killed for failing its checks): start it
// again after a backoff, leave it stopped, or give up. The backoff grows by `backoffMultiplier`
// per consecutive restart up to `backoffMaxMs`, so a crash loop costs little; a run of at least
// `resetAfterMs` proves the instance can run and starts the count over.
import type { RestartPolicy } from "./types.js";

/** How an instance's process ended, as the restart decision sees it. */
export interface EndFacts {
  /** Exit code 0 and no signal, and not killed for failing its health checks. */
  readonly clean: boolean;
  /** How long the process ran, ms; 0 when it never started. */
  readonly uptimeMs: number;
  /** Restarts in a row so far, before this end. */
  readonly consecutiveRestarts: number;
}

export type RestartDecision =
  | { readonly kind: "restart"; readonly delayMs: number; readonly consecutiveRestarts: number }
  | { readonly kind: "stay_stopped"; readonly reason: string }
  | { readonly kind: "give_up"; readonly reason: string };

/** The delay before restart number `n` in a row (0-based): initial × multiplier^n, capped. */
export function backoffDelayMs(policy: RestartPolicy, n: number): number {
  const raw = policy.backoffInitialMs * Math.pow(policy.backoffMultiplier, n);
  return Math.min(policy.backoffMaxMs, Math.round(raw));
}

/** Decides what follows the end of a run. */
export function decideRestart(policy: RestartPolicy, end: EndFacts): RestartDecision {
  if (policy.policy === "never") {
    return end.clean
      ? { kind: "stay_stopped", reason: "exited cleanly; restart policy is never" }
      : { kind: "give_up", reason: "ended with a failure; restart policy is never" };
  }
  if (policy.policy === "on-failure" && end.clean) {
    return { kind: "stay_stopped", reason: "exited cleanly; restart policy is on-failure" };
  }
  const inARow = end.uptimeMs >= policy.resetAfterMs ? 0 : end.consecutiveRestarts;
  if (inARow >= policy.maxRestarts) {
    return { kind: "give_up", reason: `restarted ${inARow} times in a row, each run shorter than ${policy.resetAfterMs} ms (maxRestarts ${policy.maxRestarts})` };
  }
  return { kind: "restart", delayMs: backoffDelayMs(policy, inARow), consecutiveRestarts: inARow + 1 };
}
