// The Raft state machine (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", and Ongaro's thesis), in the style of etcd-io/raft raft.go + rawnode.go. It is pure
// and deterministic: inputs are step(), tick() and the proposal methods; outputs are collected
// into a Ready that the shell persists, sends and applies before calling advance().
import type {
  AppendMessage, AppendResponseMessage, ConfChange, ConfState, Entry, EntryType, HardState, HeartbeatMessage,
  HeartbeatResponseMessage, LogIndex, Message, NodeId, RaftMutant, ReadIndexMessage, ReadState, Ready,
  RestoredState, Role, Snapshot, SnapshotMessage, SnapshotMeta, SoftState, Term, VoteMessage, VoteResponseMessage,
} from "./types.js";
import { NO_NODE } from "./types.js";
import { assert } from "./assert.js";
import {
  applyConfChange, confStatesEqual, decodeConfChange, decodeConfChangeResult, EMPTY_CONF_STATE, encodeConfChange,
} from "./confchange.js";
import {
  DEFAULT_MAX_UNCOMMITTED_BYTES, validateConfig, type ConfChangeResult, type PeerStatus, type ProposeResult, type RaftConfig, type RaftStatus,
  type ReadIndexResult, type TransferResult,
} from "./config.js";
import { RaftLog } from "./log.js";
import { MembershipLog } from "./membership.js";
import { hasQuorum } from "./quorum.js";
import { MAX_PENDING_READS, ReadOnlyQueue } from "./readonly.js";
import { ProgressTracker } from "./tracker.js";

/** Most committed entries handed to the app in one Ready. */
export const MAX_COMMITTED_ENTRIES_PER_READY = 1024;

type Campaign = "preElection" | "election" | "transfer";

/** One Raft node. Create it with createRaft() (raft.ts). */
export class Raft {
  private readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly log: RaftLog;
  private readonly members: MembershipLog;
  private readonly tracker: ProgressTracker;
  private readonly readOnly = new ReadOnlyQueue();
  /** Reads that arrived before this leader committed an entry of its term (thesis §6.4 step 1). */
  private pendingReads: { context: string; from: NodeId }[] = [];

  private term: Term = 0;
  private vote: NodeId = NO_NODE;
  private lead: NodeId = NO_NODE;
  private role: Role = "follower";
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NO_NODE;
  /** Leader: payload bytes of the proposals it appended in its term and has not committed (etcd uncommittedSize). */
  private uncommittedBytes = 0;

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevSoft: SoftState;
  private prevHard: HardState;
  private readyOutstanding = false;

  constructor(config: RaftConfig, restored: RestoredState) {
    validateConfig(config);
    this.id = config.id;
    this.cfg = config;
    const snap = restored.snapshot;
    this.log = new RaftLog(snap, restored.entries);
    this.members = new MembershipLog(snap?.meta.index ?? 0, snap?.meta.confState ?? restored.bootstrap ?? EMPTY_CONF_STATE);
    for (let i = this.log.firstIndex(); i <= this.log.lastIndex(); i++) this.recordConfigEntry(this.log.entry(i));
    this.tracker = new ProgressTracker(config.maxInflightAppends);
    this.tracker.setConf(this.members.current(), this.log.lastIndex() + 1);

    const hs = restored.hardState;
    assert(hs.commit <= this.log.lastIndex(),
      `Cannot restore node ${this.id}: commit ${hs.commit} is beyond the last durable entry ${this.log.lastIndex()}`);
    this.term = hs.term;
    this.vote = hs.vote;
    this.log.commitTo(hs.commit);
    this.prevHard = hs;
    this.becomeFollower(hs.term, NO_NODE);
    this.prevSoft = { leader: NO_NODE, role: "follower" };
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick: election timeouts, heartbeats, check-quorum. */
  tick(): void {
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  /** Handles one message from a peer. */
  step(m: Message): void {
    assert(m.to === this.id, () => `Cannot step message ${m.type} for node ${m.to} on node ${this.id}`);
    if (m.from === this.id) return;
    if (!this.stepTerm(m)) return;
    switch (m.type) {
      case "vote":
      case "preVote":
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    if (this.role === "leader") this.stepLeader(m);
    else if (this.role === "follower") this.stepFollower(m);
    else this.stepCandidate(m);
  }

  /** Proposes application data; only a leader accepts. */
  propose(data: Uint8Array): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal !== null) return refusal;
    return this.appendProposal("normal", data);
  }

  /** Proposes a single-server membership change (thesis §4.1, with the §4.1.2-era fix). */
  proposeConfChange(cc: ConfChange): ConfChangeResult {
    const refusal = this.refuseProposal();
    if (refusal !== null) return refusal;
    // One change at a time, and only after an entry of this term committed: otherwise a change
    // appended by a previous leader may still be lost and two disjoint majorities could exist.
    // Committing an entry of this term commits everything before it, so a new leader refuses while
    // any config entry in its log (its predecessors' too) is above the commit index it knows, as
    // etcd's pendingConfIndex (set to the last index on election) does.
    const previousPending = this.members.lastChangeIndex() > this.log.committed && !this.mutant("conf-change-while-pending");
    const termUnsettled = !this.committedEntryInCurrentTerm() && !this.mutant("conf-change-before-term-commit");
    if (previousPending || termUnsettled) {
      return { ok: false, code: "config_change_pending" };
    }
    const next = applyConfChange(this.members.current(), cc);
    if (next.voters.length === 0) return { ok: false, code: "invalid_conf_change" };
    const result = this.appendProposal("config", encodeConfChange(cc, next));
    if (result.ok && this.role === "leader") {
      // Fewer voters may let the commit index move; more members need appends.
      if (this.maybeCommit()) this.afterLeaderCommit();
    }
    return result;
  }

  /** Asks for a linearizable read point (thesis §6.4); the answer arrives as a ReadState in a Ready. */
  readIndex(context: string): ReadIndexResult {
    assert(context !== "", "Cannot request a read index: context must not be empty");
    if (this.role !== "leader") {
      if (this.lead === NO_NODE) return { ok: false, code: "not_leader", leaderHint: NO_NODE };
      this.send({ type: "readIndex", to: this.lead, from: this.id, term: this.term, context });
      return { ok: true };
    }
    return this.handleReadRequest(context, this.id);
  }

  /** Hands leadership to `to` (thesis §3.10): stops proposals, catches `to` up, then sends timeoutNow. */
  transferLeadership(to: NodeId): TransferResult {
    if (this.role !== "leader") return { ok: false, code: "not_leader", leaderHint: this.lead };
    if (to === this.id) return { ok: true };
    if (!this.tracker.isVoter(to)) return { ok: false, code: "not_a_voter" };
    if (this.leadTransferee === to) return { ok: true };
    this.leadTransferee = to;
    // The transfer must finish within an election timeout, counted from now.
    this.electionElapsed = 0;
    const pr = this.tracker.progress.get(to);
    assert(pr !== undefined, `Cannot transfer leadership to ${to}: no progress`);
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.maybeSendAppend(to, true);
    return { ok: true };
  }

  /** Starts an election now (bootstrap and tests); ignored on a leader or a non-voter. */
  campaign(): void {
    this.hup(this.cfg.preVote ? "preElection" : "election");
  }

  // ---------------------------------------------------------------- Ready / advance

  /** True when ready() has work for the shell. False while a Ready is outstanding. */
  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    const soft = this.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) return true;
    if (!hardStatesEqual(this.hardState(), this.prevHard)) return true;
    return this.msgs.length > 0 || this.readStates.length > 0 || this.log.unstableSnapshot !== null
      || this.log.persistedIndex() < this.log.lastIndex() || this.log.hasNextCommittedEntries();
  }

  /** The next batch of work. Persist snapshot, entries and hard state before sending its messages. */
  ready(): Ready {
    assert(!this.readyOutstanding, "Cannot take a Ready: the previous one was not advanced");
    const soft = this.softState();
    const softChanged = soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role;
    this.prevSoft = soft;
    const hard = this.hardState();
    const hardChanged = !hardStatesEqual(hard, this.prevHard);
    const entries = this.log.unstableEntries();
    const snapshot = this.log.unstableSnapshot;
    const rd: Ready = {
      softState: softChanged ? soft : null,
      hardState: hardChanged ? hard : null,
      entries,
      snapshot,
      committedEntries: this.log.nextCommittedEntries(MAX_COMMITTED_ENTRIES_PER_READY),
      messages: this.msgs,
      readStates: this.readStates,
      mustSync: entries.length > 0 || snapshot !== null || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
    };
    this.msgs = [];
    this.readStates = [];
    this.readyOutstanding = true;
    return rd;
  }

  /** The shell persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    assert(this.readyOutstanding, "Cannot advance: no Ready is outstanding");
    this.readyOutstanding = false;
    if (rd.hardState !== null) this.prevHard = rd.hardState;
    if (rd.snapshot !== null) {
      this.log.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > this.log.applied) this.log.appliedTo(rd.snapshot.meta.index);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) this.log.stableTo(lastEntry.index, lastEntry.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
    if (this.role === "leader") {
      // The leader counts its own copy only once it is durable.
      const self = this.tracker.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.persistedIndex()) && this.maybeCommit()) this.afterLeaderCommit();
    }
  }

  /** The app took `snapshot` at an applied index: drop the log up to it and keep it for lagging followers. */
  compact(snapshot: Snapshot): void {
    const meta = snapshot.meta;
    if (meta.index < this.log.firstIndex()) return;
    assert(meta.index <= this.log.applied, `Cannot compact up to ${meta.index}: only ${this.log.applied} is applied`);
    const conf = this.members.confAt(meta.index);
    assert(confStatesEqual(conf, meta.confState),
      () => `Cannot compact up to ${meta.index}: snapshot membership ${JSON.stringify(meta.confState)} differs from the log's ${JSON.stringify(conf)}`);
    this.log.compact(snapshot);
    this.members.compactTo(meta.index);
  }

  /** The metadata a snapshot taken at applied index `index` must carry. */
  snapshotMeta(index: LogIndex): SnapshotMeta {
    assert(index >= this.log.firstIndex() - 1 && index <= this.log.applied,
      `Cannot describe a snapshot at ${index}: applied ${this.log.applied}, log starts at ${this.log.firstIndex()}`);
    return { index, term: this.log.term(index) as Term, confState: this.members.confAt(index) };
  }

  /** The node's state, for the shell, tests and checkers. */
  status(): RaftStatus {
    let progress: Map<NodeId, PeerStatus> | undefined;
    if (this.role === "leader") {
      progress = new Map();
      for (const [id, pr] of this.tracker.progress) progress.set(id, { match: pr.match, next: pr.next, state: pr.state });
    }
    const lastChange = this.members.lastChangeIndex();
    return {
      id: this.id, term: this.term, vote: this.vote, commit: this.log.committed, applied: this.log.applied,
      leader: this.lead, role: this.role, lastIndex: this.log.lastIndex(), firstIndex: this.log.firstIndex(),
      confState: this.members.current(), progress,
      pendingConfIndex: lastChange > this.log.committed ? lastChange : 0, uncommittedBytes: this.uncommittedBytes,
      leadTransferee: this.leadTransferee, persistedIndex: this.log.persistedIndex(),
    };
  }

  /** The entries from `lo` to `hi` inclusive still held in memory (tests and checkers). */
  entries(lo: LogIndex, hi: LogIndex): Entry[] {
    const out: Entry[] = [];
    for (let i = Math.max(lo, this.log.firstIndex()); i <= Math.min(hi, this.log.lastIndex()); i++) out.push(this.log.entry(i));
    return out;
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: Term, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = "follower";
  }

  private becomePreCandidate(): void {
    assert(this.role !== "leader", `Node ${this.id} cannot become pre-candidate: it is leader`);
    // Pre-vote changes neither term nor vote (thesis §9.6), so a partitioned node cannot inflate terms.
    this.tracker.resetVotes();
    this.lead = NO_NODE;
    this.role = "preCandidate";
  }

  private becomeCandidate(): void {
    assert(this.role !== "leader", `Node ${this.id} cannot become candidate: it is leader`);
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", `Node ${this.id} cannot become leader from ${this.role}`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) {
      self.maybeUpdate(this.log.persistedIndex());
      self.becomeReplicate();
      self.recentActive = true;
    }
    // The no-op of the new term (§5.4.2, §8): committing it commits every earlier entry.
    this.appendEntries([{ type: "normal", data: new Uint8Array(0) }]);
    this.bcastAppend();
  }

  /** Common state reset when the role or term changes. */
  private reset(term: Term): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.lead = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.drawRandom(this.cfg.electionTicks);
    this.leadTransferee = NO_NODE;
    // Entries of earlier terms are not counted: a new leader starts from 0, as in etcd.
    this.uncommittedBytes = 0;
    this.tracker.resetVotes();
    this.tracker.resetProgress(this.log.lastIndex() + 1);
    this.readOnly.reset();
    this.pendingReads = [];
  }

  private drawRandom(n: number): number {
    const r = this.cfg.randomInt(n);
    assert(Number.isSafeInteger(r) && r >= 0 && r < n, `Cannot draw an election timeout: randomInt(${n}) returned ${r}`);
    return r;
  }

  /**
   * May this node start an election? A voter of its latest configuration may; so may a voter of
   * the configuration as of its commit index. The latter covers a leader that appended its own
   * removal (or demotion) and lost leadership before the change committed: it is the only node
   * holding the new configuration, so unless it campaigns (counting the new configuration's
   * votes, not its own, thesis §4.2.2) the change can never commit and the group can deadlock.
   */
  private promotable(): boolean {
    if (this.tracker.isVoter(this.id)) return true;
    if (this.members.lastChangeIndex() <= this.log.committed) return false;
    return this.members.confAt(this.log.committed).voters.includes(this.id);
  }

  // ---------------------------------------------------------------- ticks and elections

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(this.cfg.preVote ? "preElection" : "election");
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, pr] of this.tracker.progress) {
      // A snapshot message may be lost; nothing else would unpause the follower.
      if (id !== this.id && pr.state === "snapshot" && ++pr.snapshotWaitTicks >= this.cfg.electionTicks) pr.becomeProbe();
    }
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        // §6.2 / thesis §6.2: a leader that cannot reach a majority steps down.
        if (!this.tracker.quorumActive(this.id)) {
          this.becomeFollower(this.term, NO_NODE);
          return;
        }
        for (const [id, pr] of this.tracker.progress) pr.recentActive = id === this.id;
      }
      // Thesis §3.10: abort a transfer that did not finish within an election timeout.
      this.leadTransferee = NO_NODE;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastContext());
    }
  }

  private hup(kind: Campaign): void {
    if (this.role === "leader" || !this.promotable()) return;
    this.campaignAs(kind);
  }

  private campaignAs(kind: Campaign): void {
    let voteTerm: Term;
    if (kind === "preElection") {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    if (this.tracker.recordVote(this.id, true) === "won") {
      // A single-voter group wins at once.
      if (kind === "preElection") this.campaignAs("election");
      else this.becomeLeader();
      return;
    }
    const type = kind === "preElection" ? "preVote" : "vote";
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.send({
        type, from: this.id, to: id, term: voteTerm,
        lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer: kind === "transfer",
      });
    }
  }

  // ---------------------------------------------------------------- step

  /** Term rules shared by all message types (§5.1, thesis §9.6). False when the message is done with. */
  private stepTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        // Leader stickiness (thesis §4.2.3, §9.6): while a leader was heard within the election
        // timeout, ignore vote requests unless they come from a leadership transfer. As in etcd it
        // needs check-quorum: without it a leader cut off from the majority but still heard by a
        // few followers would keep them from ever granting votes to anyone else.
        const inLease = this.cfg.checkQuorum && this.lead !== NO_NODE && this.electionElapsed < this.cfg.electionTicks;
        if (inLease && !m.transfer) return false;
      }
      if (m.type === "preVote") {
        // A pre-vote never changes our term.
      } else if (m.type === "preVoteResponse" && !m.reject) {
        // A granted pre-vote carries the term we would campaign at; it is not a newer leader's term.
      } else {
        const lead = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot" ? m.from : NO_NODE;
        this.becomeFollower(m.term, lead);
      }
      return true;
    }
    if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === "append" || m.type === "heartbeat")) {
        // A stale leader (e.g. back from a partition) would otherwise never learn the newer term:
        // our term is not bumped by its messages and with pre-vote it cannot disrupt us either.
        this.send({ type: "appendResponse", from: this.id, to: m.from, term: this.term, reject: false, index: 0, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResponse", from: this.id, to: m.from, term: this.term, reject: true });
      }
      return false;
    }
    return true;
  }

  private handleVoteRequest(m: VoteMessage): void {
    // §5.2, §5.4.1: one vote per term, only for a log at least as up to date as ours.
    const canVote = this.vote === m.from || (this.vote === NO_NODE && this.lead === NO_NODE)
      || (m.type === "preVote" && m.term > this.term);
    const upToDate = this.mutant("vote-ignores-log") || this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const respType = m.type === "vote" ? "voteResponse" : "preVoteResponse";
    if (canVote && upToDate) {
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === "vote") {
        // The vote is in the hard state of the same Ready, so it is durable before this response leaves.
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case "snapshot":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case "timeoutNow":
        // Thesis §3.10: the transfer target campaigns at once, bypassing pre-vote and stickiness.
        this.hup("transfer");
        return;
      case "readIndexResponse":
        this.readStates.push({ context: m.context, index: m.index });
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "snapshot":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case "voteResponse":
      case "preVoteResponse":
        this.handleVoteResponse(m);
        return;
      case "readIndexResponse":
        this.readStates.push({ context: m.context, index: m.index });
        return;
      default:
        return;
    }
  }

  private handleVoteResponse(m: VoteResponseMessage): void {
    const expected = this.role === "preCandidate" ? "preVoteResponse" : "voteResponse";
    if (m.type !== expected) return;
    const result = this.tracker.recordVote(m.from, !m.reject);
    if (result === "won") {
      if (this.role === "preCandidate") this.campaignAs("election");
      else this.becomeLeader();
    } else if (result === "lost") {
      this.becomeFollower(this.term, NO_NODE);
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "appendResponse":
        this.handleAppendResponse(m);
        return;
      case "heartbeatResponse":
        this.handleHeartbeatResponse(m);
        return;
      case "readIndex":
        this.handleForwardedRead(m);
        return;
      default:
        // Another leader of our term cannot exist (election safety, §5.2): ignore its messages.
        return;
    }
  }

  // ---------------------------------------------------------------- follower side of replication

  private handleAppend(m: AppendMessage): void {
    const respond = (reject: boolean, index: LogIndex, hintIndex: LogIndex, hintTerm: Term): void =>
      this.send({ type: "appendResponse", from: this.id, to: m.from, term: this.term, reject, index, hintIndex, hintTerm });
    if (m.prevIndex < this.log.committed) {
      respond(false, this.log.committed, 0, 0);
      return;
    }
    if (!this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      // §5.3 with fast backtracking: tell the leader the last index whose term is at most prevTerm.
      const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
      respond(true, m.prevIndex, hint.index, hint.term);
      return;
    }
    const conflict = this.log.findConflict(m.entries);
    if (conflict !== 0) {
      // Log matching (§5.3): truncate only on a real conflict, and never a committed entry.
      assert(conflict > this.log.committed, () => `Node ${this.id} cannot overwrite committed entry ${conflict} (commit ${this.log.committed})`);
      const first = m.entries[0] as Entry;
      this.appendToLog(m.entries.slice(conflict - first.index));
    }
    const lastNew = m.prevIndex + m.entries.length;
    this.log.commitTo(Math.min(m.commit, lastNew));
    respond(false, lastNew, 0, 0);
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit);
    this.send({ type: "heartbeatResponse", from: this.id, to: m.from, term: this.term, context: m.context });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const s = m.snapshot;
    const respond = (index: LogIndex): void =>
      this.send({ type: "appendResponse", from: this.id, to: m.from, term: this.term, reject: false, index, hintIndex: 0, hintTerm: 0 });
    if (s.meta.index <= this.log.committed) {
      respond(this.log.committed);
      return;
    }
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already hold the snapshot's last entry: keep the log, just learn the commit (§7).
      this.log.commitTo(s.meta.index);
      respond(this.log.committed);
      return;
    }
    this.log.restore(s);
    this.members.reset(s.meta.index, s.meta.confState);
    this.applyMembership();
    respond(this.log.lastIndex());
  }

  // ---------------------------------------------------------------- leader side of replication

  private refuseProposal(): ProposeResult | null {
    if (this.role !== "leader") return { ok: false, code: "not_leader", leaderHint: this.lead };
    // A leader that removed itself only finishes committing its removal.
    if (!this.tracker.progress.has(this.id)) return { ok: false, code: "not_leader", leaderHint: NO_NODE };
    if (this.leadTransferee !== NO_NODE) return { ok: false, code: "transfer_in_progress" };
    if (this.log.lastIndex() - this.log.committed >= this.cfg.maxUncommittedEntries) return { ok: false, code: "overloaded" };
    return null;
  }

  private appendProposal(type: EntryType, data: Uint8Array): ProposeResult {
    if (!this.admitUncommittedBytes(data.length)) return { ok: false, code: "overloaded" };
    const [e] = this.appendEntries([{ type, data }]);
    assert(e !== undefined, "Cannot propose: no entry appended");
    this.bcastAppend();
    return { ok: true, index: e.index, term: e.term };
  }

  /**
   * etcd's MaxUncommittedEntriesSize: admits `bytes` more uncommitted payload unless that passes
   * the bound. An empty entry, or any entry while nothing is uncommitted, always passes, so one
   * proposal larger than the bound is not refused forever.
   */
  private admitUncommittedBytes(bytes: number): boolean {
    const max = this.cfg.maxUncommittedBytes ?? DEFAULT_MAX_UNCOMMITTED_BYTES;
    if (max > 0 && bytes > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > max) return false;
    this.uncommittedBytes += bytes;
    return true;
  }

  /** Leader: appends new entries of the current term. */
  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): Entry[] {
    const last = this.log.lastIndex();
    const entries = items.map((it, i): Entry => ({ term: this.term, index: last + 1 + i, type: it.type, data: it.data }));
    this.appendToLog(entries);
    return entries;
  }

  /** Every append goes through here: a config entry takes effect when appended and is undone when truncated. */
  private appendToLog(entries: readonly Entry[]): void {
    const truncatedFrom = this.log.append(entries);
    let changed = truncatedFrom !== 0 && this.members.truncateFrom(truncatedFrom);
    for (const e of entries) changed = this.recordConfigEntry(e) || changed;
    if (changed) this.applyMembership();
  }

  private recordConfigEntry(e: Entry): boolean {
    if (e.type !== "config") return false;
    const conf = decodeConfChangeResult(e.data) ?? applyConfChange(this.members.current(), decodeConfChange(e.data));
    this.members.append(e.index, conf);
    return true;
  }

  private applyMembership(): void {
    const conf: ConfState = this.members.current();
    this.tracker.setConf(conf, this.log.lastIndex() + 1);
    if (this.leadTransferee !== NO_NODE && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = NO_NODE;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** §5.3, §5.4.2: commit the index a majority matched, but only by counting an entry of this term. */
  private maybeCommit(): boolean {
    const mci = this.tracker.committedIndex();
    if (mci <= this.log.committed) return false;
    if (this.log.term(mci) !== this.term && !this.mutant("commit-old-term")) return false;
    // Only entries of this term were counted (all appended by this leader since it was elected).
    for (let i = this.log.committed + 1; i <= mci; i++) {
      const e = this.log.entry(i);
      if (e.term === this.term) this.uncommittedBytes -= e.data.length;
    }
    assert(this.uncommittedBytes >= 0, () => `Node ${this.id} counts ${this.uncommittedBytes} uncommitted bytes after committing ${mci}`);
    this.log.commitTo(mci);
    return true;
  }

  /** Leader duties after its commit index moved. */
  private afterLeaderCommit(): void {
    this.releasePendingReads();
    if (!this.tracker.isVoter(this.id) && this.members.lastChangeIndex() <= this.log.committed) {
      // Thesis §4.2.2: a leader removed from the configuration steps down once the change commits.
      // It hands over to an up-to-date voter so the group need not wait for an election timeout.
      this.bcastAppend();
      for (const id of this.tracker.voters) {
        if (this.tracker.progress.get(id)?.match === this.log.lastIndex()) {
          this.sendTimeoutNow(id);
          break;
        }
      }
      this.becomeFollower(this.term, NO_NODE);
      return;
    }
    this.bcastAppend();
  }

  private bcastAppend(): void {
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, true);
  }

  private bcastHeartbeat(context: string): void {
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit past what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: "heartbeat", from: this.id, to: id, term: this.term, commit, context });
    }
  }

  /** Sends the next append (or the snapshot) to `to` if flow control allows; true when something was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = prevTerm === undefined ? undefined : this.log.slice(pr.next, this.cfg.maxEntriesPerAppend, this.cfg.maxBytesPerAppend);
    if (prevTerm === undefined || entries === undefined) {
      // §7: the entries the follower needs are compacted; send the snapshot instead.
      const snapshot = this.log.snapshot;
      assert(snapshot !== null, `Cannot catch up node ${to} from ${pr.next}: entries are compacted but no snapshot is held`);
      pr.becomeSnapshot(snapshot.meta.index);
      this.send({ type: "snapshot", from: this.id, to, term: this.term, snapshot });
      return true;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: "append", from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.sentEntries(entries.length, prevIndex + entries.length);
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeoutNow", from: this.id, to, term: this.term });
  }

  private handleAppendResponse(m: AppendResponseMessage): void {
    const pr = this.tracker.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      // Fast backtracking: jump to the last index of ours whose term is at most the follower's hint term.
      const nextProbe = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.maybeSendAppend(m.from, true);
      }
      return;
    }
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === "probe"))) return;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") pr.inflights.freeLE(m.index);
    if (this.maybeCommit()) {
      this.afterLeaderCommit();
      if (this.role !== "leader") return;
    }
    // Flow control may now allow several size-bounded appends at once.
    for (let i = 0; i < this.cfg.maxInflightAppends && this.maybeSendAppend(m.from, false); i++) { /* keep sending */ }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage): void {
    const pr = this.tracker.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex() || pr.state === "probe") this.maybeSendAppend(m.from, true);
    if (m.context === "" || this.mutant("stale-read")) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks !== undefined && hasQuorum(this.tracker.voters, acks)) {
      for (const read of this.readOnly.advance(m.context)) this.answerRead(read.context, read.from, read.index);
    }
  }

  // ---------------------------------------------------------------- ReadIndex (thesis §6.4)

  private handleForwardedRead(m: ReadIndexMessage): void {
    this.handleReadRequest(m.context, m.from);
  }

  private handleReadRequest(context: string, from: NodeId): ReadIndexResult {
    if (this.mutant("stale-read")) {
      // Deliberate bug: answer from local state, without proving leadership.
      this.answerRead(context, from, this.log.committed);
      return { ok: true };
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Step 1 of §6.4: until its no-op commits, the leader does not know the latest commit index.
      if (this.pendingReads.length >= MAX_PENDING_READS) return { ok: false, code: "overloaded" };
      this.pendingReads.push({ context, from });
      return { ok: true };
    }
    return this.startRead(context, from);
  }

  private startRead(context: string, from: NodeId): ReadIndexResult {
    if (this.readOnly.size() >= MAX_PENDING_READS) return { ok: false, code: "overloaded" };
    if (!this.readOnly.add(context, from, this.log.committed)) return { ok: true };
    const acks = this.readOnly.recvAck(this.id, context);
    if (acks !== undefined && hasQuorum(this.tracker.voters, acks)) {
      for (const read of this.readOnly.advance(context)) this.answerRead(read.context, read.from, read.index);
      return { ok: true };
    }
    this.bcastHeartbeat(context);
    return { ok: true };
  }

  private releasePendingReads(): void {
    if (this.pendingReads.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const reads = this.pendingReads;
    this.pendingReads = [];
    for (const r of reads) this.startRead(r.context, r.from);
  }

  private answerRead(context: string, from: NodeId, index: LogIndex): void {
    if (from === this.id) this.readStates.push({ context, index });
    else this.send({ type: "readIndexResponse", from: this.id, to: from, term: this.term, context, index });
  }

  // ---------------------------------------------------------------- helpers

  private send(m: Message): void {
    assert(m.to !== this.id && m.to !== NO_NODE, `Node ${this.id} cannot send ${m.type} to ${m.to}`);
    this.msgs.push(m);
  }

  private mutant(name: RaftMutant): boolean {
    return this.cfg.mutants?.has(name) ?? false;
  }

  private softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }
}

function hardStatesEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
