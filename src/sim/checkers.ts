// The simulator's safety checkers. The node shells report what they persist, apply, send and how
// their role changes; each report is checked at once against the Raft safety properties (Raft
// paper Figure 3 and §5.4, thesis §3.6 and §4.1), so a violation is caught at the step that
// commits it, with the virtual time at which it happened.
import type { Entry, HardState, LogIndex, NodeId, Term } from "../raft/types.js";
import { NO_NODE } from "../raft/types.js";
import type { LogImage } from "./storage-model.js";

/** The names of the checkers, as printed in violation reports. */
export type CheckerName =
  | "election-safety"
  | "log-matching"
  | "leader-completeness"
  | "state-machine-safety"
  | "monotonic-hard-state"
  | "acknowledged-write-lost"
  | "single-pending-config-change"
  | "liveness"
  | "linearizability"
  | "core-invariant";

/** One broken property. */
export interface Violation {
  readonly checker: CheckerName;
  readonly message: string;
  readonly timeUs: number;
}

/** Thrown by a checker to stop the schedule at the first violation. */
export class ViolationFound extends Error {
  override readonly name = "ViolationFound";
  constructor(readonly violation: Violation) {
    super(`${violation.checker}: ${violation.message}`);
  }
}

function dataHash(e: Entry): number {
  let h = e.type === "config" ? 0x9747b28c : 0x811c9dc5;
  for (let i = 0; i < e.data.length; i++) h = Math.imul(h ^ (e.data[i] as number), 0x01000193);
  return h >>> 0;
}

// (index, term) packed in one number: terms stay far below 2^20 in a schedule.
const TERM_SPACE = 0x100000;
function entryKey(index: LogIndex, term: Term): number {
  return index * TERM_SPACE + term;
}

/** Index of the last config entry in `log` below `index`; 0 when none is held (a compacted one is committed). */
function previousConfigIndex(log: LogImage, index: LogIndex): LogIndex {
  for (let i = index - 1; i > log.offset; i--) if (log.entry(i)?.type === "config") return i;
  return 0;
}

interface NodeTrack {
  term: Term;
  vote: NodeId;
  commit: LogIndex;
  durableTerm: Term;
  durableCommit: LogIndex;
  /** Highest term this node put on a message other than pre-vote traffic, over all incarnations. */
  sentTerm: Term;
}

/** Checks Raft's safety properties from reports of every node. */
export class SafetyChecker {
  now = 0;
  private readonly leaderOfTerm = new Map<Term, NodeId>();
  private readonly entryIdentity = new Map<number, { hash: number; prevTerm: Term }>();
  private readonly votes = new Map<number, NodeId>(); // key: term * 16 + voter
  private readonly committedTerm: Term[] = [];
  /** The (lowest) term in which each index was first known committed. */
  private readonly committedInTerm: Term[] = [];
  private readonly appliedTerm: Term[] = [];
  private readonly appliedChain: number[] = [];
  private readonly acked = new Map<LogIndex, Term>();
  private readonly nodes = new Map<NodeId, NodeTrack>();
  /** Config entries leaders appended in their own term that were checked, as entryKey(index, term). */
  private readonly checkedConfigEntries = new Set<number>();
  /** Highest index any node reported committed. */
  maxCommitted: LogIndex = 0;
  /** Highest index of an acknowledged write. */
  maxAcked: LogIndex = 0;

  private fail(checker: CheckerName, message: string): never {
    throw new ViolationFound({ checker, message, timeUs: this.now });
  }

  private track(node: NodeId): NodeTrack {
    let t = this.nodes.get(node);
    if (t === undefined) {
      t = { term: 0, vote: NO_NODE, commit: 0, durableTerm: 0, durableCommit: 0, sentTerm: 0 };
      this.nodes.set(node, t);
    }
    return t;
  }

  /** A node (re)starts from durable state: nothing it promised may have gone back (§5.2, Figure 2). */
  onRestart(node: NodeId, restored: HardState): void {
    const t = this.track(node);
    if (restored.term < t.durableTerm || restored.commit < t.durableCommit) {
      this.fail("monotonic-hard-state", `node ${node} restarted with term ${restored.term} commit ${restored.commit}, below durable term ${t.durableTerm} commit ${t.durableCommit}`);
    }
    if (restored.term < t.sentTerm) {
      this.fail("monotonic-hard-state", `node ${node} restarted at term ${restored.term} after sending messages at term ${t.sentTerm}: its term went back`);
    }
    const voted = this.votes.get(restored.term * 16 + node);
    if (voted !== undefined && restored.vote !== voted) {
      this.fail("monotonic-hard-state", `node ${node} granted its vote in term ${restored.term} to ${voted} but restarted with vote ${restored.vote}`);
    }
    t.term = restored.term;
    t.vote = restored.vote;
    t.commit = restored.commit;
  }

  /** A node produced a new hard state (term and vote never go back; commit never decreases). */
  onHardState(node: NodeId, hs: HardState): void {
    const t = this.track(node);
    if (hs.term < t.term) this.fail("monotonic-hard-state", `node ${node} term went back from ${t.term} to ${hs.term}`);
    if (hs.term === t.term && t.vote !== NO_NODE && hs.vote !== t.vote) {
      this.fail("monotonic-hard-state", `node ${node} changed its vote in term ${hs.term} from ${t.vote} to ${hs.vote}`);
    }
    if (hs.commit < t.commit) this.fail("monotonic-hard-state", `node ${node} commit index went back from ${t.commit} to ${hs.commit}`);
    t.term = hs.term;
    t.vote = hs.vote;
    t.commit = hs.commit;
  }

  /** A hard state became durable on a node. */
  onDurableHardState(node: NodeId, hs: HardState): void {
    const t = this.track(node);
    if (hs.term < t.durableTerm || hs.commit < t.durableCommit) {
      this.fail("monotonic-hard-state", `node ${node} persisted term ${hs.term} commit ${hs.commit} over term ${t.durableTerm} commit ${t.durableCommit}`);
    }
    t.durableTerm = hs.term;
    t.durableCommit = hs.commit;
  }

  /** A node sends a message (the vote it grants is a promise for the whole term). */
  onSend(from: NodeId, to: NodeId, type: string, term: Term, reject: boolean): void {
    if (type === "preVote" || type === "preVoteResponse") return;
    const t = this.track(from);
    if (term > t.sentTerm) t.sentTerm = term;
    if (type === "voteResponse" && !reject) {
      const key = term * 16 + from;
      const prior = this.votes.get(key);
      if (prior !== undefined && prior !== to) {
        this.fail("monotonic-hard-state", `node ${from} granted two votes in term ${term}: to ${prior} and to ${to}`);
      }
      this.votes.set(key, to);
    }
  }

  /** A node became leader of `term` with `log` (election safety §5.2, leader completeness §5.4.1). */
  onLeader(node: NodeId, term: Term, log: LogImage): void {
    const prior = this.leaderOfTerm.get(term);
    if (prior !== undefined && prior !== node) this.fail("election-safety", `nodes ${prior} and ${node} are both leader of term ${term}`);
    this.leaderOfTerm.set(term, node);
    // Only entries committed in earlier terms must be there: a stale leader of a lower term may
    // well miss what a later leader committed.
    for (let i = log.offset + 1; i <= this.maxCommitted; i++) {
      const inTerm = this.committedInTerm[i];
      if (inTerm === undefined || inTerm >= term) continue;
      const want = this.committedTerm[i];
      const have = log.term(i);
      if (have !== want) {
        this.fail("leader-completeness", `node ${node} became leader of term ${term} with ${have === undefined ? "no entry" : `term ${have}`} at index ${i}, where term ${String(want)} was committed in term ${inTerm}`);
      }
    }
  }

  /** A node wrote entries to its log (log matching §5.3: same index and term means same entry and same history). */
  onEntriesWritten(node: NodeId, entries: readonly Entry[], log: LogImage): void {
    for (const e of entries) {
      const prevTerm = log.term(e.index - 1);
      const key = entryKey(e.index, e.term);
      const known = this.entryIdentity.get(key);
      const hash = dataHash(e);
      if (known === undefined) {
        this.entryIdentity.set(key, { hash, prevTerm: prevTerm ?? -1 });
        continue;
      }
      if (known.hash !== hash) {
        this.fail("log-matching", `node ${node} holds a different entry at index ${e.index} term ${e.term} than another node`);
      }
      if (prevTerm !== undefined && known.prevTerm !== -1 && known.prevTerm !== prevTerm) {
        this.fail("log-matching", `node ${node} has entry ${e.index} term ${e.term} after term ${prevTerm}, another node after term ${known.prevTerm}`);
      }
      if (known.prevTerm === -1 && prevTerm !== undefined) known.prevTerm = prevTerm;
    }
  }

  /** A node in `currentTerm` advanced its commit index to `commit` over `log`: a committed index never changes its term. */
  onCommit(node: NodeId, currentTerm: Term, fromExclusive: LogIndex, commit: LogIndex, log: LogImage): void {
    for (let i = Math.max(fromExclusive, log.offset) + 1; i <= commit; i++) {
      const term = log.term(i);
      if (term === undefined) this.fail("state-machine-safety", `node ${node} committed index ${i} that is not in its log (last ${log.lastIndex})`);
      const known = this.committedTerm[i];
      if (known !== undefined && known !== term) {
        this.fail(this.acked.has(i) ? "acknowledged-write-lost" : "state-machine-safety",
          `node ${node} committed term ${term} at index ${i}, where term ${known} was committed before`);
      }
      this.committedTerm[i] = term;
      const inTerm = this.committedInTerm[i];
      if (inTerm === undefined || currentTerm < inTerm) this.committedInTerm[i] = currentTerm;
    }
    if (commit > this.maxCommitted) this.maxCommitted = commit;
  }

  /** A node applied the entry at `index` of `term`, its state now hashing to `chain` (state machine safety §5.4.3). */
  onApplied(node: NodeId, index: LogIndex, term: Term, chain: number): void {
    const knownTerm = this.appliedTerm[index];
    if (knownTerm === undefined) {
      this.appliedTerm[index] = term;
      this.appliedChain[index] = chain;
      return;
    }
    if (knownTerm !== term || this.appliedChain[index] !== chain) {
      const what = this.acked.has(index) ? "acknowledged-write-lost" : "state-machine-safety";
      this.fail(what, `node ${node} applied term ${term} at index ${index}, another node applied term ${knownTerm} there (or a different history before it)`);
    }
  }

  /** The hash of the applied sequence up to `index`, as first applied anywhere (undefined when none applied it). */
  chainAt(index: LogIndex): number | undefined {
    return this.appliedChain[index];
  }

  /** A node's state was replaced by a snapshot at `index` whose history hashes to `chain`. */
  onSnapshotRestored(node: NodeId, index: LogIndex, term: Term, chain: number): void {
    if (index > 0) this.onApplied(node, index, term, chain);
  }

  /** A client got an acknowledgement for the write applied at `index` of `term`. */
  onAcknowledged(index: LogIndex, term: Term): void {
    if (this.appliedTerm[index] !== term) {
      this.fail("acknowledged-write-lost", `a write was acknowledged at index ${index} term ${term} that no node applied there`);
    }
    this.acked.set(index, term);
    if (index > this.maxAcked) this.maxAcked = index;
  }

  /**
   * Single-server membership changes (thesis §4.1, with the fix from the raft-dev thread "bug in
   * single-server membership changes", 2015): a leader appends a config entry only when the
   * previous config entry in its log is at or below the commit index it knows, and that commit
   * index holds an entry of its own term. Each change then starts from a committed configuration
   * that no newer leader can replace, so no two configurations more than one server apart can both
   * decide. Checked in the Ready that writes a leader's config entry of its term, against that
   * Ready's commit index: the commit index when the leader appended is never higher, so a reported
   * violation is certain (one hidden by a commit that moved in between is missed). A leader's log
   * may hold several config entries above the commit index it knows: entries an earlier leader
   * committed but whose commit never reached it (the commit index is volatile, §5.3; a crash can
   * keep the entries and lose the hard state). That is no violation; it refuses changes until its
   * own no-op commits, which commits them too.
   */
  onLeaderLog(node: NodeId, commit: LogIndex, log: LogImage): void {
    const term = this.track(node).term;
    for (let i = Math.max(commit, log.offset) + 1; i <= log.lastIndex; i++) {
      const e = log.entry(i);
      if (e === undefined || e.type !== "config" || e.term !== term) continue;
      const key = entryKey(i, term);
      if (this.checkedConfigEntries.has(key)) continue;
      this.checkedConfigEntries.add(key);
      const previous = previousConfigIndex(log, i);
      if (previous > commit) {
        this.fail("single-pending-config-change", `leader ${node} of term ${term} appended config entry ${i} while config entry ${previous} was above its commit index ${commit}`);
      }
      const commitTerm = log.term(commit);
      if (commitTerm !== term) {
        this.fail("single-pending-config-change", `leader ${node} of term ${term} appended config entry ${i} before committing an entry of its term (commit ${commit} is of term ${String(commitTerm)})`);
      }
    }
  }

  /** Raises a violation found outside these hooks (liveness, linearizability, core assertion). */
  report(checker: CheckerName, message: string): never {
    this.fail(checker, message);
  }
}
