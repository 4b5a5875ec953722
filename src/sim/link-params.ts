// The network settings both simulators draw per schedule: the normal links and the storm the
// nemesis switches to. One function, so the two simulators' networks misbehave the same way.
import type { LinkQuality } from "./network.js";
import type { Rng } from "./rng.js";

/** A schedule's normal network and its storm. */
export interface LinkParams {
  readonly network: LinkQuality;
  readonly storm: LinkQuality;
}

/** Draws the normal links, then the storm (in that order: the draws are part of the seed's schedule). */
export function drawLinkParams(rng: Rng): LinkParams {
  return {
    network: {
      dropProbability: rng.chance(0.5) ? 0 : rng.float() * 0.05,
      duplicateProbability: rng.chance(0.5) ? 0 : rng.float() * 0.03,
      slowProbability: rng.float() * 0.05,
      minDelayUs: 100,
      maxDelayUs: rng.range(500, 3_000),
      slowMaxDelayUs: rng.range(5_000, 40_000),
    },
    storm: {
      dropProbability: 0.1 + rng.float() * 0.3,
      duplicateProbability: rng.float() * 0.2,
      slowProbability: 0.1 + rng.float() * 0.2,
      minDelayUs: 200,
      maxDelayUs: rng.range(2_000, 10_000),
      slowMaxDelayUs: rng.range(20_000, 100_000),
    },
  };
}

/** Gaps between nemesis strikes for an intensity in [0, 1): harder schedules strike more often. */
export function nemesisGapsUs(intensity: number): { readonly nemesisGapMinUs: number; readonly nemesisGapMaxUs: number } {
  const gapMax = Math.round(300_000 - 200_000 * intensity);
  return { nemesisGapMinUs: Math.round(gapMax / 6), nemesisGapMaxUs: gapMax };
}
