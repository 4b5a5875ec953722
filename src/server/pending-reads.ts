// Linearizable reads by ReadIndex (Raft thesis §6.4), batched: every read that arrives while a
// ReadIndex round is in flight joins the next round, so one heartbeat quorum serves many reads.
// A round's reads are released once the local state machine has applied the read index.
import type { LogIndex } from "../raft/types.js";
import { ServerError } from "./errors.js";

/** Bound on reads waiting on one node. */
export const MAX_PENDING_READS = 65_536;

interface ReadWaiter {
  resolve(): void;
  reject(err: ServerError): void;
}

interface Round {
  readonly context: string;
  readonly startedMs: number;
  readonly waiters: ReadWaiter[];
  index: LogIndex | null;
}

/** The ReadIndex rounds of one node. */
export class PendingReads {
  private queued: ReadWaiter[] = [];
  private inFlight: Round | null = null;
  /** Rounds whose index is known, waiting for apply to reach it (in index order). */
  private waitingApply: Round[] = [];
  private nextContext = 1;
  private waiting = 0;

  constructor(private readonly nodeTag: string) {}

  /** A read wants to be linearizable; the promise resolves when it may run against the local store. */
  enqueue(): Promise<void> {
    if (this.waiting >= MAX_PENDING_READS) return Promise.reject(new ServerError("overloaded", `Too many reads waiting (${MAX_PENDING_READS}): retry later`));
    this.waiting++;
    return new Promise((resolve, reject) => this.queued.push({ resolve, reject }));
  }

  /** When no round is in flight and reads are queued, opens a round: returns its context for raft.readIndex(). */
  startRound(nowMs: number): string | null {
    if (this.inFlight !== null || this.queued.length === 0) return null;
    this.inFlight = { context: `${this.nodeTag}:${this.nextContext++}`, startedMs: nowMs, waiters: this.queued, index: null };
    this.queued = [];
    return this.inFlight.context;
  }

  /** Raft refused the round (no leader): its reads fail, retryable. */
  refuseRound(err: ServerError): void {
    if (this.inFlight === null) return;
    this.settle(this.inFlight.waiters, err);
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
      this.refuseRound(new ServerError("read_timeout", "Linearizable read could not confirm leadership in time: retry"));
    }
  }

  /** Fails everything (leadership lost with reads in flight, or node stopping). */
  failAll(err: ServerError): void {
    if (this.inFlight !== null) this.settle(this.inFlight.waiters, err);
    this.inFlight = null;
    for (const r of this.waitingApply) this.settle(r.waiters, err);
    this.waitingApply = [];
    this.settle(this.queued, err);
    this.queued = [];
  }

  private settle(waiters: readonly ReadWaiter[], err: ServerError | null): void {
    this.waiting -= waiters.length;
    for (const w of waiters) {
      if (err === null) w.resolve();
      else w.reject(err);
    }
  }
}
