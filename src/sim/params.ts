// Everything that varies between schedules is drawn here from the schedule's seed: cluster
// shape, Raft settings, client load, network and disk behaviour, and how hard the nemesis hits.
import type { RaftMutant } from "../raft/types.js";
import { drawLinkParams, nemesisGapsUs } from "./link-params.js";
import type { LinkParams } from "./link-params.js";
import type { Rng } from "./rng.js";
import type { RaftKnobs } from "./sim-raft.js";
import type { WorkloadParams } from "./workload.js";

/** Mutants the simulator knows: the Raft core's plus the shell's own. */
export type SimMutant = RaftMutant | "send-before-persist";
/** Every mutant name accepted by `--mutant`. */
export const SIM_MUTANTS: readonly SimMutant[] = ["vote-ignores-log", "commit-old-term", "stale-read", "conf-change-while-pending",
  "conf-change-before-term-commit", "send-before-persist"];

/** What the caller chooses for a run. */
export interface SimOptions {
  /** Voters at start: 3 or 5. */
  readonly voters: 3 | 5;
  readonly mutant: SimMutant | null;
}

/** One schedule's drawn settings. */
export interface ScheduleParams extends RaftKnobs, LinkParams {
  readonly voters: number;
  /** Learners at start (ids after the voters). */
  readonly learners: number;
  /** Highest node id that may ever exist (spare ids can be added as new members). */
  readonly maxNodeId: number;
  readonly tickUs: number;
  /** Per-node clock rate: tick interval multiplier (clock drift). */
  readonly tickDrift: readonly number[];
  readonly snapshotEveryEntries: number;
  /** Faults happen in [0, faultPhaseUs); then everything heals. */
  readonly faultPhaseUs: number;
  /** After the heal, the cluster must settle within this bound. */
  readonly livenessBoundUs: number;
  readonly nemesisGapMinUs: number;
  readonly nemesisGapMaxUs: number;
  readonly diskMinUs: number;
  readonly diskMaxUs: number;
  readonly clientLatencyMaxUs: number;
  readonly replyDropProbability: number;
  readonly workload: WorkloadParams;
}

/** Draws a schedule's settings from its generator. */
export function drawParams(rng: Rng, options: SimOptions): ScheduleParams {
  const voters = options.voters;
  const learners = 1;
  const maxNodeId = voters + learners + 1;
  const tickUs = 10_000;
  const intensity = rng.float();
  return {
    voters,
    learners,
    maxNodeId,
    tickUs,
    tickDrift: Array.from({ length: maxNodeId + 1 }, () => 0.97 + rng.float() * 0.06),
    electionTicks: 10,
    heartbeatTicks: rng.range(1, 3),
    maxEntriesPerAppend: rng.pick([1, 1, 2, 4, 64]),
    maxBytesPerAppend: rng.pick([200, 4096, 1 << 20]),
    maxInflightAppends: rng.pick([1, 2, 8, 64]),
    maxUncommittedEntries: rng.pick([16, 1024]),
    preVote: rng.chance(0.7),
    checkQuorum: rng.chance(0.7),
    snapshotEveryEntries: rng.range(8, 64),
    faultPhaseUs: rng.range(1_200_000, 2_400_000),
    livenessBoundUs: 4_000_000,
    ...nemesisGapsUs(intensity),
    diskMinUs: 100,
    diskMaxUs: rng.range(500, 3_000),
    ...drawLinkParams(rng),
    clientLatencyMaxUs: 1_000,
    replyDropProbability: rng.chance(0.5) ? 0 : 0.02,
    workload: {
      clients: rng.range(2, 4),
      keys: rng.chance(0.5) ? ["a", "b"] : ["a", "b", "c"],
      timeoutUs: rng.range(150_000, 400_000),
      thinkMaxUs: rng.pick([1_000, 10_000, 30_000]),
      readFraction: 0.4,
      casFraction: 0.25,
    },
  };
}
