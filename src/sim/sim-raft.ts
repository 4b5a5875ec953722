// Builds the real Raft core of a simulated node from a schedule's drawn settings. Shared by both
// simulators so that their cores are configured alike and draw election jitter from the
// schedule's own generator (never Math.random), which keeps a seed reproducible.
import { createRaft } from "../raft/raft.js";
import type { NodeId, Raft, RaftConfig, RestoredState } from "../raft/raft.js";
import type { RaftMutant } from "../raft/types.js";
import type { Rng } from "./rng.js";
import type { RaftSettings } from "../node/node-core.js";

/** The Raft settings a schedule draws: the core's configuration less what the simulator supplies. */
export type RaftKnobs = Omit<RaftConfig, "id" | "randomInt" | "mutants">;

/** A Raft core for node `id`, restored from `restored`, with the core's mutants `mutants` if given. */
export function createSimRaft(id: NodeId, knobs: RaftKnobs, rng: Rng, restored: RestoredState, mutants?: ReadonlySet<RaftMutant>): Raft {
  return createRaft({
    id,
    electionTicks: knobs.electionTicks,
    heartbeatTicks: knobs.heartbeatTicks,
    maxEntriesPerAppend: knobs.maxEntriesPerAppend,
    maxBytesPerAppend: knobs.maxBytesPerAppend,
    maxInflightAppends: knobs.maxInflightAppends,
    maxUncommittedEntries: knobs.maxUncommittedEntries,
    preVote: knobs.preVote,
    checkQuorum: knobs.checkQuorum,
    randomInt: (n) => rng.int(n),
    ...(mutants === undefined ? {} : { mutants }),
  }, restored);
}

/** The Raft settings a node core passes on, from a schedule's knobs (mutants of the Raft core if given). */
export function raftSettings(knobs: RaftKnobs, mutants?: ReadonlySet<RaftMutant>): RaftSettings {
  return {
    electionTicks: knobs.electionTicks,
    heartbeatTicks: knobs.heartbeatTicks,
    maxEntriesPerAppend: knobs.maxEntriesPerAppend,
    maxBytesPerAppend: knobs.maxBytesPerAppend,
    maxInflightAppends: knobs.maxInflightAppends,
    maxUncommittedEntries: knobs.maxUncommittedEntries,
    preVote: knobs.preVote,
    checkQuorum: knobs.checkQuorum,
    ...(mutants === undefined ? {} : { mutants }),
  };
}
