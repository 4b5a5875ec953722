// Proposals waiting for their entry to be applied. A proposal is known by the (index, term) Raft
// gave it: when the entry applied at that index has the same term, it is ours and its result is the
// answer; a different term means a new leader overwrote it, so it was never applied ("dropped",
// safe to retry). A proposal that outlives its deadline gets "unknown_outcome": it may still commit.
import type { CommandResult } from "../kv/store.js";
import type { LogIndex, Term } from "../raft/types.js";
import { ServerError } from "./errors.js";

/** Bound on proposals in flight on one node; beyond it, propose answers "overloaded". */
export const MAX_PENDING_PROPOSALS = 65_536;

interface Waiter {
  readonly term: Term;
  readonly deadlineMs: number;
  resolve(result: CommandResult): void;
  reject(err: ServerError): void;
}

/** Index-keyed table of proposals waiting to apply. */
export class PendingProposals {
  private readonly byIndex = new Map<LogIndex, Waiter>();

  get size(): number {
    return this.byIndex.size;
  }

  /** True when another proposal would exceed the bound. */
  get full(): boolean {
    return this.byIndex.size >= MAX_PENDING_PROPOSALS;
  }

  /** Registers the proposal Raft placed at (index, term); the promise settles when it applies. */
  add(index: LogIndex, term: Term, deadlineMs: number): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const earlier = this.byIndex.get(index);
      // A new leader reused this index: the earlier proposal at it can no longer commit.
      earlier?.reject(new ServerError("proposal_dropped", `Proposal at index ${index} was replaced by a newer leader: retry`));
      this.byIndex.set(index, { term, deadlineMs, resolve, reject });
    });
  }

  /** The entry at `index` of term `term` was applied with `result`. */
  applied(index: LogIndex, term: Term, result: CommandResult): void {
    const w = this.byIndex.get(index);
    if (w === undefined) return;
    this.byIndex.delete(index);
    if (w.term === term) w.resolve(result);
    else w.reject(new ServerError("proposal_dropped", `Proposal at index ${index} was lost in a change of leader: retry`));
  }

  /** Rejects every proposal whose deadline passed. */
  expire(nowMs: number): void {
    for (const [index, w] of this.byIndex) {
      if (w.deadlineMs > nowMs) continue;
      this.byIndex.delete(index);
      w.reject(new ServerError("unknown_outcome", `Proposal at index ${index} did not commit in time: it may or may not have been applied`));
    }
  }

  /** Rejects everything (node stopping or storage failed). */
  failAll(err: ServerError): void {
    for (const w of this.byIndex.values()) w.reject(err);
    this.byIndex.clear();
  }
}
