// Least connections with weights: the candidate with the smallest (active + 1) / weight wins, the
// "+ 1" making an idle heavy backend preferred over an idle light one (as HAProxy does). Ties are
// broken by rotation so that equal backends share the load instead of the first one taking it all.
import type { Balancer, Candidate } from "./types.js";

/** True when `a` is strictly less loaded than `b`, compared as (active + 1) / weight. */
export function lessLoaded(a: Candidate, b: Candidate): boolean {
  // Cross-multiplied to stay in integers.
  return (a.active + 1) * b.weight < (b.active + 1) * a.weight;
}

/** Weighted least connections, ties rotated. */
export class LeastConnections implements Balancer {
  private offset = 0;

  pick<C extends Candidate>(candidates: readonly C[]): C | null {
    const n = candidates.length;
    if (n === 0) return null;
    const start = this.offset % n;
    this.offset = (start + 1) % n;
    let best = candidates[start] as C;
    for (let i = 1; i < n; i++) {
      const c = candidates[(start + i) % n] as C;
      if (lessLoaded(c, best)) best = c;
    }
    return best;
  }
}
