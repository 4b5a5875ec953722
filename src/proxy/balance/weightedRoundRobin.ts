// Smooth weighted round robin, as nginx does it: every pick adds each candidate's weight to its
// current weight, takes the largest, and subtracts the total from the winner. Over a cycle of
// sum(weights) picks each backend is chosen exactly `weight` times, interleaved rather than in runs.
import type { Balancer, Candidate } from "./types.js";

/** Smooth weighted round robin (nginx's algorithm). */
export class WeightedRoundRobin implements Balancer {
  /** Current weights aligned with `lastCandidates`; carried over by id when the list changes. */
  private current = new Float64Array(0);
  private lastCandidates: readonly Candidate[] | null = null;

  pick<C extends Candidate>(candidates: readonly C[]): C | null {
    const n = candidates.length;
    if (n === 0) return null;
    if (candidates !== this.lastCandidates) this.realign(candidates);
    const current = this.current;
    let total = 0;
    let bestIndex = 0;
    let bestCurrent = -Infinity;
    for (let i = 0; i < n; i++) {
      const weight = (candidates[i] as C).weight;
      const cur = (current[i] as number) + weight;
      current[i] = cur;
      total += weight;
      if (cur > bestCurrent) {
        bestIndex = i;
        bestCurrent = cur;
      }
    }
    current[bestIndex] = bestCurrent - total;
    return candidates[bestIndex] as C;
  }

  /** Keeps each backend's current weight across list changes (a retry's exclusion, a reload). */
  private realign(candidates: readonly Candidate[]): void {
    const previous = new Map<string, number>();
    this.lastCandidates?.forEach((c, i) => previous.set(c.id, this.current[i] as number));
    this.current = Float64Array.from(candidates, (c) => previous.get(c.id) ?? 0);
    this.lastCandidates = candidates;
  }
}
