// Smooth weighted round robin, as nginx does it: every pick adds each candidate's weight to its
// current weight, takes the largest, and subtracts the total from the winner. Over a cycle of
// sum(weights) picks each backend is chosen exactly `weight` times, interleaved rather than in runs.
import type { Balancer, Candidate } from "./types.js";

/** Bound on remembered backends beyond the live candidate count before stale ones are pruned. */
const STALE_STATE_SLACK = 64;

/** Smooth weighted round robin (nginx's algorithm). */
export class WeightedRoundRobin implements Balancer {
  private readonly current = new Map<string, number>();

  pick<C extends Candidate>(candidates: readonly C[]): C | null {
    if (candidates.length === 0) return null;
    let total = 0;
    let best: C | null = null;
    let bestCurrent = -Infinity;
    for (const c of candidates) {
      const cur = (this.current.get(c.id) ?? 0) + c.weight;
      this.current.set(c.id, cur);
      total += c.weight;
      if (cur > bestCurrent) {
        best = c;
        bestCurrent = cur;
      }
    }
    if (best === null) return null;
    this.current.set(best.id, bestCurrent - total);
    if (this.current.size > candidates.length + STALE_STATE_SLACK) this.prune(candidates);
    return best;
  }

  private prune(candidates: readonly Candidate[]): void {
    const live = new Set(candidates.map((c) => c.id));
    for (const id of this.current.keys()) if (!live.has(id)) this.current.delete(id);
  }
}
