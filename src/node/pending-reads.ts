// Linearizable reads by ReadIndex (Raft thesis §6.4), batched: every read that arrives while a
// ReadIndex round is in flight joins the next round, so one heartbeat quorum serves many reads.
// A round's reads are released once the local state machine has applied the read index. A read
// has no effect, so every failure here is safe to retry.
import type { LogIndex } from "../raft/types.js";
import type { Refusal } from "./outcome.js";
import { refusal } from "./outcome.js";

/** Default bound on reads waiting on one node. */
export const MAX_PENDING_READS = 65_536;

/** Called once: null when the read may run against the local store, else why not. */
export type ReadCallback = (err: Refusal | null) => void;

interface Round {
  readonly context: string;
  readonly startedMs: number;
  readonly waiters: ReadCallback[];
  index: LogIndex | null;
}

/** The ReadIndex rounds of one node. */
export class PendingReads {
  private queued: ReadCallback[] = [];
  private inFlight: Round | null = null;
  /** Rounds whose index is known, waiting for apply to reach it (in index order). */
  private waitingApply: Round[] = [];
  private nextContext = 1;
  private waiting = 0;

  constructor(
    private readonly nodeTag: string,
    private readonly bound: number = MAX_PENDING_READS,
  ) {}

  /** A read wants to be linearizable; `done` is called when it may run (or cannot). */
  enqueue(done: ReadCallback): void {
    if (this.waiting >= this.bound) return done(refusal("overloaded", `Too many reads waiting (${this.bound}): retry later`));
    this.waiting++;
    this.queued.push(done);
  }

  /** When no round is in flight and reads are queued, opens a round: returns its context for raft.readIndex(). */
  startRound(nowMs: number): string | null {
    if (this.inFlight !== null || this.queued.length === 0) return null;
    this.inFlight = { context: `${this.nodeTag}:${this.nextContext++}`, startedMs: nowMs, waiters: this.queued, index: null };
    this.queued = [];
    return this.inFlight.context;
  }

  /** Raft refused the round (no leader): its reads fail, retryable. */
  refuseRound(err: Refusal): void {
    if (this.inFlight === null) return;
    const waiters = this.inFlight.waiters;
    this.inFlight = null;
    this.settle(waiters, err);
  }

  /**
   * The leader the round in flight asked is no longer the leader: its answer may never come. The
   * round's reads go back to the head of the queue, to join the next round (asked of whoever leads
   * now) instead of waiting out the read timeout. A late answer to the old round is ignored.
   */
  retryRound(): void {
    if (this.inFlight === null) return;
    this.queued = [...this.inFlight.waiters, ...this.queued];
    this.inFlight = null;
  }

  /** A ReadState arrived. */
  readState(context: string, index: LogIndex, appliedIndex: LogIndex): void {
    if (this.inFlight === null || this.inFlight.context !== context) return;
    this.inFlight.index = index;
    this.waitingApply.push(this.inFlight);
    this.inFlight = null;
    this.applied(appliedIndex);
  }

  /** The state machine applied up to `appliedIndex`: release the rounds it covers. */
  applied(appliedIndex: LogIndex): void {
    while (this.waitingApply.length > 0 && (this.waitingApply[0]!.index ?? Infinity) <= appliedIndex) {
      this.settle(this.waitingApply.shift()!.waiters, null);
    }
  }

  /** Fails a round in flight longer than `timeoutMs` (its ReadIndex request or answer was lost). */
  expire(nowMs: number, timeoutMs: number): void {
    if (this.inFlight !== null && nowMs - this.inFlight.startedMs >= timeoutMs) {
      this.refuseRound(refusal("read_timeout", "Linearizable read could not confirm leadership in time: retry"));
    }
  }

  /** Fails everything (node stopping or failed). */
  failAll(err: Refusal): void {
    const all: ReadCallback[] = [...(this.inFlight?.waiters ?? [])];
    for (const r of this.waitingApply) all.push(...r.waiters);
    all.push(...this.queued);
    this.inFlight = null;
    this.waitingApply = [];
    this.queued = [];
    this.settle(all, err);
  }

  private settle(waiters: readonly ReadCallback[], err: Refusal | null): void {
    this.waiting -= waiters.length;
    for (const done of waiters) done(err);
  }
}
