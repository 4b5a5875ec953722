// A service whose instances keep failing (past their restart policy, so each failure is already a
// run of restarts on its node) is replaced with a growing pause: the first replacement at once, the
// n-th REPLACE_BACKOFF_INITIAL_MS × 2^(n-2) after the previous one, capped; failures older than
// REPLACE_HISTORY_MS are forgotten. With the agent's own backoff, this bounds the placements a
// flapping or crashing service causes (no replacement storm). In memory: a new leader starts over.
import type { Plan } from "../../scheduler/types.js";

export const REPLACE_BACKOFF_INITIAL_MS = 2000;
export const REPLACE_BACKOFF_MAX_MS = 60_000;
export const REPLACE_HISTORY_MS = 10 * 60_000;
/** Most replacement times remembered per service. */
const MAX_HISTORY = 16;

export class ReplacementBackoff {
  private readonly history = new Map<string, number[]>();

  /** The plan without replacements of failed instances that must wait; `held` counts them. */
  hold(plan: Plan, nowMs: number): { plan: Plan; held: number } {
    let held = 0;
    const start = plan.start.filter((s) => {
      if (s.reason !== "replace_failed") return true;
      const past = (this.history.get(s.service) ?? []).filter((t) => nowMs - t < REPLACE_HISTORY_MS);
      const last = past[past.length - 1];
      const waitMs = past.length === 0 ? 0 : Math.min(REPLACE_BACKOFF_MAX_MS, REPLACE_BACKOFF_INITIAL_MS * 2 ** (past.length - 1));
      if (last !== undefined && nowMs - last < waitMs) {
        held++;
        return false;
      }
      return true;
    });
    return { plan: { ...plan, start }, held };
  }

  /** Records the replacements a written plan made. */
  record(plan: Plan, nowMs: number): void {
    for (const s of plan.start) {
      if (s.reason !== "replace_failed") continue;
      const past = (this.history.get(s.service) ?? []).filter((t) => nowMs - t < REPLACE_HISTORY_MS);
      past.push(nowMs);
      this.history.set(s.service, past.slice(-MAX_HISTORY));
    }
  }
}
