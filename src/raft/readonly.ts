// Bookkeeping for ReadIndex (Raft thesis §6.4): each read waits for a heartbeat round that a
// majority acknowledges, proving the leader was still leader when the read arrived.
import type { LogIndex, NodeId } from "./types.js";
import { assert } from "./assert.js";

/** Read requests a leader holds at most; beyond it new reads are refused as overloaded. */
export const MAX_PENDING_READS = 1024;

/** One read waiting for its heartbeat quorum. */
export interface PendingRead {
  readonly context: string;
  /** Who asked: the leader itself or a follower that forwarded the read. */
  readonly from: NodeId;
  /** The leader's commit index when the read arrived. */
  readonly index: LogIndex;
  readonly acks: Set<NodeId>;
}

/** Reads in arrival order, keyed by their context. */
export class ReadOnlyQueue {
  private queue: PendingRead[] = [];
  private readonly byContext = new Map<string, PendingRead>();

  /** Number of reads waiting. */
  size(): number {
    return this.queue.length;
  }

  /** Queues a read; false when a read with the same context is already waiting. */
  add(context: string, from: NodeId, index: LogIndex): boolean {
    assert(context !== "", "Cannot queue a read: context must not be empty");
    if (this.byContext.has(context)) return false;
    assert(this.queue.length < MAX_PENDING_READS, `Cannot queue read ${context}: ${MAX_PENDING_READS} reads already pending`);
    const read: PendingRead = { context, from, index, acks: new Set() };
    this.queue.push(read);
    this.byContext.set(context, read);
    return true;
  }

  /** Records `from`'s acknowledgement of the heartbeat carrying `context`; the acks so far, or undefined. */
  recvAck(from: NodeId, context: string): ReadonlySet<NodeId> | undefined {
    const read = this.byContext.get(context);
    if (read === undefined) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /** Removes and returns the read with `context` and every read queued before it (all confirmed). */
  advance(context: string): PendingRead[] {
    const at = this.queue.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    for (const r of done) this.byContext.delete(r.context);
    return done;
  }

  /** Context of the newest read waiting ("" when none): heartbeats carry it so a lost round is retried. */
  lastContext(): string {
    return this.queue[this.queue.length - 1]?.context ?? "";
  }

  /** Drops every waiting read (leadership changed; clients retry). */
  reset(): void {
    this.queue = [];
    this.byContext.clear();
  }
}
