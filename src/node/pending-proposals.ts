// Proposals waiting for their entry to be applied. A proposal is known by the (index, term) Raft
// gave it: when the entry applied at that index has the same term, it is ours and its result is the
// answer; a different term means a newer leader replaced it, so it can never apply ("dropped", safe
// to retry). Everything else that ends a wait — deadline, stop, storage failure — answers
// "unknown_outcome": the entry may be in some log and still commit (outcome.ts).
import type { CommandResult } from "../kv/store.js";
import type { LogIndex, Term } from "../raft/types.js";
import type { Refusal } from "./outcome.js";
import { refusal } from "./outcome.js";

/** Default bound on proposals in flight on one node; beyond it, propose answers "overloaded". */
export const MAX_PENDING_PROPOSALS = 65_536;

/** How a proposal ended: applied with its result, or refused / unknown. */
export type ProposalOutcome = { readonly ok: true; readonly result: CommandResult } | Refusal;

/** Called once with the outcome of a proposal, and the (index, term) it was given. */
export type ProposalCallback = (outcome: ProposalOutcome, index: LogIndex, term: Term) => void;

interface Waiter {
  readonly term: Term;
  readonly deadlineMs: number;
  readonly done: ProposalCallback;
}

/** Index-keyed table of proposals waiting to apply. */
export class PendingProposals {
  private readonly byIndex = new Map<LogIndex, Waiter>();

  constructor(private readonly bound: number = MAX_PENDING_PROPOSALS) {}

  get size(): number {
    return this.byIndex.size;
  }

  /** True when another proposal would exceed the bound. */
  get full(): boolean {
    return this.byIndex.size >= this.bound;
  }

  /** Registers the proposal Raft placed at (index, term); `done` is called when it applies or fails. */
  add(index: LogIndex, term: Term, deadlineMs: number, done: ProposalCallback): void {
    const earlier = this.byIndex.get(index);
    this.byIndex.set(index, { term, deadlineMs, done });
    // A new leader reused this index: the earlier proposal at it can no longer commit.
    earlier?.done(refusal("proposal_dropped", `Proposal at index ${index} was replaced by a newer leader: retry`), index, earlier.term);
  }

  /** The entry at `index` of term `term` was applied with `result`. */
  applied(index: LogIndex, term: Term, result: CommandResult): void {
    const w = this.byIndex.get(index);
    if (w === undefined) return;
    this.byIndex.delete(index);
    if (w.term === term) w.done({ ok: true, result }, index, w.term);
    else w.done(refusal("proposal_dropped", `Proposal at index ${index} was lost in a change of leader: retry`), index, w.term);
  }

  /** Answers "unknown_outcome" to every proposal whose deadline passed. */
  expire(nowMs: number): void {
    for (const [index, w] of this.byIndex) {
      if (w.deadlineMs > nowMs) continue;
      this.byIndex.delete(index);
      w.done(refusal("unknown_outcome", `Proposal at index ${index} did not commit in time: it may or may not have been applied`), index, w.term);
    }
  }

  /** Answers every waiting proposal with `outcome` (node stopping or storage failed: normally unknown_outcome). */
  failAll(outcome: Refusal): void {
    const waiters = [...this.byIndex];
    this.byIndex.clear();
    for (const [index, w] of waiters) w.done(outcome, index, w.term);
  }
}
