// The Raft settings of a simulated node core from a schedule's drawn settings. Shared by both
// simulators so that their cores are configured alike (election jitter comes from the schedule's
// own generator through the process's randomInt effect, never Math.random).
import type { RaftConfig } from "../raft/raft.js";
import type { RaftMutant } from "../raft/types.js";
import type { RaftSettings } from "../node/node-core.js";

/** The Raft settings a schedule draws: the core's configuration less what the simulator supplies. */
export type RaftKnobs = Omit<RaftConfig, "id" | "randomInt" | "mutants">;

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
