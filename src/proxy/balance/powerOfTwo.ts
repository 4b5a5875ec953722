// Power of two choices: draw two distinct candidates at random and keep the less loaded one. Nearly
// as good as least connections, without a scan, and robust to stale load information.
import { lessLoaded } from "./leastConnections.js";
import type { Balancer, Candidate, RandomInt } from "./types.js";

/** Power-of-two-choices over (active + 1) / weight; `randomInt` is injected and seeded in tests. */
export class PowerOfTwoChoices implements Balancer {
  constructor(private readonly randomInt: RandomInt) {}

  pick<C extends Candidate>(candidates: readonly C[]): C | null {
    const n = candidates.length;
    if (n === 0) return null;
    if (n === 1) return candidates[0] ?? null;
    const i = this.randomInt(n);
    // Draw the second from the n - 1 others so that the two are always distinct.
    let j = this.randomInt(n - 1);
    if (j >= i) j += 1;
    const a = candidates[i] as C;
    const b = candidates[j] as C;
    return lessLoaded(b, a) ? b : a;
  }
}
