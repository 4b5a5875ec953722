// Plain rotation over the candidates, ignoring weights and load.
import type { Balancer, Candidate } from "./types.js";

/** Round robin: each pick takes the next candidate in turn. */
export class RoundRobin implements Balancer {
  private next = 0;

  pick<C extends Candidate>(candidates: readonly C[]): C | null {
    const n = candidates.length;
    if (n === 0) return null;
    // Keep the counter small so it never loses integer precision.
    const index = this.next % n;
    this.next = (index + 1) % n;
    return candidates[index] ?? null;
  }
}
