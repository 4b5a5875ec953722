// The contract every balancing algorithm implements. Algorithms are pure: they see the candidates
// the pool considers eligible right now (healthy, not draining, not excluded) and return one.

/** One eligible backend as the balancer sees it. `active` is the number of attempts in flight. */
export interface Candidate {
  readonly id: string;
  /** Relative share, a positive integer. */
  readonly weight: number;
  readonly active: number;
}

/** A balancing algorithm. May keep state between picks (rotation, current weights). */
export interface Balancer {
  /**
   * Chooses one of `candidates`, or null when the list is empty. `hashKey` is the value consistent
   * hashing balances on; other algorithms ignore it.
   */
  pick<C extends Candidate>(candidates: readonly C[], hashKey: string): C | null;
}

/** Returns an integer in [0, bound). Injected so that the cores stay deterministic under a seed. */
export type RandomInt = (bound: number) => number;

/** Names of the algorithms, as written in config files. */
export type BalancingAlgorithm =
  | "round-robin"
  | "weighted-round-robin"
  | "least-connections"
  | "p2c"
  | "consistent-hash";
