// The leader changes this node has seen since it started (term, new leader, when), newest first,
// for the dashboard's "recent leader changes". Each node keeps its own: a node that was cut off
// shows the changes it missed as one jump in term.
import type { Replica } from "../replica.js";

/** Leader changes kept. */
export const MAX_LEADER_CHANGES = 20;

/** One observed change: `leader` 0 means this node lost the leader. */
export interface LeaderChange {
  readonly atMs: number;
  readonly term: number;
  readonly leader: number;
}

/** Records leader changes as the replica reports them. start() once, stop() before exit. */
export class LeaderHistory {
  private readonly changes: LeaderChange[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly replica: Replica, private readonly wallMs: () => number = Date.now) {}

  start(): void {
    // A node that starts knows no leader yet: that is not a loss worth a line.
    if (this.replica.leaderId !== 0) this.record(this.replica.leaderId);
    this.unsubscribe = this.replica.onLeaderChange((leader) => this.record(leader));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Newest first. */
  list(): readonly LeaderChange[] {
    return this.changes;
  }

  private record(leader: number): void {
    if (leader === 0 && this.changes.length === 0) return;
    // Raft's own term: Replica.term is the durable one, which may trail at the moment of the change.
    const term = this.replica.status().term;
    if (this.changes[0]?.leader === leader && this.changes[0]?.term === term) return;
    this.changes.unshift({ atMs: this.wallMs(), term, leader });
    if (this.changes.length > MAX_LEADER_CHANGES) this.changes.length = MAX_LEADER_CHANGES;
  }
}
