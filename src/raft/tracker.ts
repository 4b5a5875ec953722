// The leader's table of peers (etcd-io/raft tracker/tracker.go): one Progress per member, the
// membership in force, and the votes of the current election.
import type { ConfState, LogIndex, NodeId } from "./types.js";
import { Progress } from "./progress.js";
import { hasQuorum, majorityCommittedIndex, voteResult, type VoteResult } from "./quorum.js";

/** Progress of every member, the membership and election votes. */
export class ProgressTracker {
  voters: readonly NodeId[] = [];
  learners: readonly NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(private readonly maxInflight: number) {}

  /** Installs a membership: keeps the progress of remaining members, creates it for new ones at `next`. */
  setConf(conf: ConfState, next: LogIndex): void {
    this.voters = [...conf.voters];
    this.learners = [...conf.learners];
    const members = new Set<NodeId>([...conf.voters, ...conf.learners]);
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) if (!this.progress.has(id)) this.progress.set(id, new Progress(next, this.maxInflight));
  }

  /** Replaces every progress with a fresh one probing from `next` (a new term). */
  resetProgress(next: LogIndex): void {
    for (const id of [...this.progress.keys()]) this.progress.set(id, new Progress(next, this.maxInflight));
  }

  /** True when `id` is a voter of the membership in force. */
  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  /** The highest index matched by a majority of voters. */
  committedIndex(): LogIndex {
    return majorityCommittedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** Forgets the votes of the previous election. */
  resetVotes(): void {
    this.votes.clear();
  }

  /** Records `id`'s vote (the first one counts) and returns the election's outcome so far. */
  recordVote(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  /** True when a majority of voters (self always included) was heard from since the last check. */
  quorumActive(self: NodeId): boolean {
    const active = new Set<NodeId>();
    for (const [id, pr] of this.progress) if (id === self || pr.recentActive) active.add(id);
    return hasQuorum(this.voters, active);
  }
}
