// What the leader knows about one follower's log (etcd-io/raft tracker/progress.go). The three
// states decide how appends flow: probe (one message at a time until the match point is found),
// replicate (optimistic pipelining bounded by Inflights), snapshot (paused until it is installed).
import type { LogIndex } from "./types.js";
import { assert } from "./assert.js";
import { Inflights } from "./inflights.js";

/** How the leader currently sends appends to a follower. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** The leader's view of one peer's log. */
export class Progress {
  match: LogIndex = 0;
  next: LogIndex;
  state: ProgressState = "probe";
  /** In probe state: an append is outstanding, send no more until a response or heartbeat response. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being installed. */
  pendingSnapshot: LogIndex = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Leader ticks spent in snapshot state; a lost snapshot is retried after an election timeout. */
  snapshotWaitTicks = 0;
  readonly inflights: Inflights;

  constructor(next: LogIndex, maxInflight: number) {
    assert(next >= 1, `Cannot create progress: next ${next} must be at least 1`);
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotWaitTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Falls back to probing from the match point (or past a snapshot just sent). */
  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
  }

  /** Starts pipelining after the match point is known. */
  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  /** Pauses appends while the follower installs the snapshot at `snapshotIndex`. */
  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records a successful append up to `index`; false when it tells nothing new (a stale response). */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Records that an append ending at `lastIndex` was sent (replicate: optimistic next; probe: pause). */
  sentEntries(entryCount: number, lastIndex: LogIndex): void {
    if (this.state === "replicate") {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    } else {
      assert(false, "Cannot send entries to a follower in snapshot state");
    }
  }

  /**
   * Handles a rejection of the append whose prevIndex was `rejected`, with the follower's hint of
   * where the logs may match. False when the rejection is stale (etcd-io/raft MaybeDecrTo).
   */
  maybeDecrTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** True when no append may be sent now. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe": return this.probeSent;
      case "replicate": return this.inflights.full();
      case "snapshot": return true;
    }
  }
}
