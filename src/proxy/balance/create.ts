// Builds the balancer an algorithm name stands for.
import { ConsistentHash } from "./consistentHash.js";
import { LeastConnections } from "./leastConnections.js";
import { PowerOfTwoChoices } from "./powerOfTwo.js";
import { RoundRobin } from "./roundRobin.js";
import type { Balancer, BalancingAlgorithm, RandomInt } from "./types.js";
import { WeightedRoundRobin } from "./weightedRoundRobin.js";

/** Returns a fresh balancer for `algorithm`; `randomInt` feeds power-of-two-choices. */
export function createBalancer(algorithm: BalancingAlgorithm, randomInt: RandomInt): Balancer {
  switch (algorithm) {
    case "round-robin":
      return new RoundRobin();
    case "weighted-round-robin":
      return new WeightedRoundRobin();
    case "least-connections":
      return new LeastConnections();
    case "p2c":
      return new PowerOfTwoChoices(randomInt);
    case "consistent-hash":
      return new ConsistentHash();
  }
}

/** A small seeded generator (mulberry32) for tests and simulations. */
export function seededRandomInt(seed: number): RandomInt {
  let state = seed >>> 0;
  return (bound: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(unit * bound);
  };
}
