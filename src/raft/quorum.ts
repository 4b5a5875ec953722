// Majority arithmetic (Raft §5.2, §5.3): the commit index of a majority and the outcome of a vote.
import type { LogIndex, NodeId } from "./types.js";

/** Outcome of an election so far. */
export type VoteResult = "won" | "lost" | "pending";

/** Smallest number of voters that forms a majority of `voterCount`. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The highest index that a majority of voters has matched (0 with no voters: nothing commits). */
export function majorityCommittedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => LogIndex): LogIndex {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1] ?? 0;
}

/** Tallies granted and rejected votes among `voters`; votes of non-voters do not count. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return "won";
  if (voters.length - rejected < q) return "lost";
  return "pending";
}

/** True when the voters in `acks` form a majority. */
export function hasQuorum(voters: readonly NodeId[], acks: ReadonlySet<NodeId>): boolean {
  let n = 0;
  for (const id of voters) if (acks.has(id)) n++;
  return voters.length > 0 && n >= quorumSize(voters.length);
}
