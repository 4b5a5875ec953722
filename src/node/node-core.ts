// The deterministic core of one node: the Raft state machine, the KV store with its watchers, the
// leader's lease clock, pending proposals and reads, the Ready pipeline, the apply pipeline and the
// snapshot policy — with every side effect injected (effects.ts). The server (server/replica.ts)
// and both simulators run this very object; only the effects differ.
//
// The Ready pipeline follows etcd-io/raft's contract (persist, then send, then apply, then advance)
// with two production refinements the simulators check too:
// - a leader sends appends and heartbeats before its own fsync when the Ready changes neither term
//   nor vote (Raft thesis §10.2.1); it counts itself toward commit only once durable. Anything that
//   reveals a vote or a durable log position (responses, votes) waits for the fsync;
// - committed entries already durable here apply (and answer their clients) while this Ready's new
//   entries are being written, as etcd does. A config entry waits for the write: removing this node
//   stops it, which must not race the write.
// Snapshots: every `snapshotEveryEntries` applied entries the core encodes the store, compacts Raft's
// in-memory log, then saves the snapshot asynchronously and only after it is durable compacts
// storage (snapshot-policy.ts).
import type { Command, KeyValue, LeaseId } from "../kv/store.js";
import { encodeCommand, KvStore, LeaseClock, prefixEnd, WatcherRegistry } from "../kv/store.js";
import type { ApplyOutput } from "../kv/machine.js";
import type { ConfChange, Entry, LogIndex, Message, NodeId, RaftConfig, RaftStatus, Ready, RestoredState, Role, Snapshot, Term } from "../raft/raft.js";
import { createRaft, NO_NODE } from "../raft/raft.js";
import type { Raft } from "../raft/raft.js";
import type { NodeEffects } from "./effects.js";
import type { NodeMutant } from "./mutants.js";
import type { Refusal } from "./outcome.js";
import { refusal } from "./outcome.js";
import { MAX_PENDING_PROPOSALS, PendingProposals } from "./pending-proposals.js";
import type { ProposalCallback, ProposalOutcome } from "./pending-proposals.js";
import { MAX_PENDING_READS, PendingReads } from "./pending-reads.js";
import { SnapshotPolicy } from "./snapshot-policy.js";
import type { ReadCallback } from "./pending-reads.js";

/** Raft's settings as the node passes them on (id and randomness come from the core). */
export type RaftSettings = Omit<RaftConfig, "id" | "randomInt">;

/** Timing and bounds of a node core. */
export interface NodeTuning {
  readonly raft: RaftSettings;
  /** Take a snapshot and compact the log after this many applied entries. */
  readonly snapshotEveryEntries: number;
  /** A write that has not applied after this long answers "unknown_outcome". */
  readonly proposalTimeoutMs: number;
  /** A linearizable read that could not confirm leadership after this long answers "read_timeout". */
  readonly readTimeoutMs: number;
  readonly maxPendingProposals?: number;
  readonly maxPendingReads?: number;
  /**
   * A non-leader that has not heard from a leader for longer than this ends its watches with
   * "no_leader" and refuses new ones until contact returns (its store may never catch up: an orphaned
   * learner, a cut-off follower). Default: twice the longest election timeout, 2 × 2 × electionTicks × tickMs.
   */
  readonly watchLeaderlessMs?: number;
  /** Length of one tick (the default of watchLeaderlessMs is derived from it). */
  readonly tickMs?: number;
}

/** Default of NodeTuning.watchLeaderlessMs. */
export function defaultWatchLeaderlessMs(electionTicks: number, tickMs: number): number {
  return 2 * 2 * electionTicks * tickMs;
}

/** What the core tells whoever watches it (server listeners, simulator checkers). All optional. */
export interface NodeObserver {
  /** A Ready was taken; its writes go to storage next (simulator checkers look at entries and hard state). */
  onReady?(rd: Ready): void;
  /** Role or leader changed. */
  onRoleChange?(role: Role, leader: NodeId): void;
  /** One committed entry was applied to the store. */
  onEntryApplied?(entry: Entry, out: ApplyOutput, revisionBefore: number): void;
  /** A batch of entries was applied; `changedKeys` lists the keys they changed. */
  onAppliedBatch?(changedKeys: readonly string[]): void;
  /** A snapshot from the leader replaced the store. */
  onSnapshotInstalled?(snapshot: Snapshot): void;
  /** A committed membership change removed this node (called once, after the write that holds it). */
  onRemoved?(): void;
  /** Called after every apply: watchers may have events to deliver. */
  onWatchReady?(): void;
}

/** How a node core is built. */
export interface NodeCoreOptions {
  readonly id: NodeId;
  readonly restored: RestoredState;
  readonly tuning: NodeTuning;
  readonly effects: NodeEffects;
  /** Distinguishes this life's ReadIndex contexts from an earlier life's (e.g. start time, incarnation). */
  readonly readTag: string;
  readonly observer?: NodeObserver;
  /** Deliberate bugs, set only by the simulator. */
  readonly mutants?: ReadonlySet<NodeMutant>;
}

/** Life of a core: running, stopped by its shell, or failed (storage failure or broken invariant). */
export type NodeState = "running" | "stopped" | "failed";

/** Answer to a keep-alive. */
export type KeepAliveOutcome = { readonly ok: true; readonly ttlMs: number } | { readonly ok: false; readonly code: string; readonly message: string; readonly leaderId?: NodeId };

const NO_DATA = new Uint8Array(0);

/** One node's replicated store, deterministic given its effects. */
export class NodeCore {
  readonly id: NodeId;
  readonly kv = new KvStore();
  readonly watchers: WatcherRegistry;
  private readonly raft: Raft;
  private readonly fx: NodeEffects;
  private readonly obs: NodeObserver;
  private readonly mutants: ReadonlySet<NodeMutant>;
  private readonly tuning: NodeTuning;
  private readonly proposals: PendingProposals;
  private readonly reads: PendingReads;
  private readonly leases = new LeaseClock();
  private lifeState: NodeState = "running";
  private failure: Refusal | null = null;
  private pumping = false;
  private kickPending = false;
  /** The Ready being written; the next one is taken only after it was carried out. */
  private inflight: Ready | null = null;
  private readonly snapshots: SnapshotPolicy;
  private wasMember = false;
  private removed = false;
  private leader: NodeId = NO_NODE;
  private role: Role = "follower";
  /** Term and vote as last made durable: a Ready that changes them sends nothing before its fsync. */
  private persisted: { term: Term; vote: NodeId };
  /** Index of the last log entry made durable here (entries up to it may apply while a later write is in flight). */
  private persistedLastIndex: LogIndex;
  /** When a leader's append, heartbeat or snapshot last arrived (or the leader changed); the core's start at first. */
  private lastLeaderContactMs: number;
  private readonly watchLeaderlessMs: number;

  constructor(options: NodeCoreOptions) {
    this.id = options.id;
    this.fx = options.effects;
    this.obs = options.observer ?? {};
    this.mutants = options.mutants ?? new Set();
    this.tuning = options.tuning;
    this.proposals = new PendingProposals(options.tuning.maxPendingProposals ?? MAX_PENDING_PROPOSALS);
    this.reads = new PendingReads(options.readTag, options.tuning.maxPendingReads ?? MAX_PENDING_READS);
    const restored = options.restored;
    this.persisted = { term: restored.hardState.term, vote: restored.hardState.vote };
    this.persistedLastIndex = restored.entries.at(-1)?.index ?? restored.snapshot?.meta.index ?? 0;
    if (restored.snapshot !== null) this.kv.restore(restored.snapshot.data);
    this.snapshots = new SnapshotPolicy(options.tuning.snapshotEveryEntries, restored.snapshot?.meta.index ?? 0,
      options.effects.storage, this.mutants.has("snapshot-compacts-before-save"));
    this.watchers = new WatcherRegistry(this.kv);
    const conf0 = restored.snapshot?.meta.confState ?? restored.bootstrap;
    this.wasMember = conf0 !== null && (conf0.voters.includes(options.id) || conf0.learners.includes(options.id));
    this.raft = createRaft({ ...options.tuning.raft, id: options.id, randomInt: (n) => this.fx.randomInt(n) }, restored);
    this.lastLeaderContactMs = this.fx.nowMs();
    this.watchLeaderlessMs = options.tuning.watchLeaderlessMs ?? defaultWatchLeaderlessMs(options.tuning.raft.electionTicks, options.tuning.tickMs ?? 100);
  }

  // ------------------------------------------------------------------ life

  /** Starts: a single-voter cluster elects itself at once instead of waiting out an election timeout. */
  start(): void {
    this.guard(() => {
      const conf = this.raft.status().confState;
      if (conf.voters.length === 1 && conf.voters[0] === this.id) this.raft.campaign();
      this.pump();
    });
  }

  /**
   * Stops: nothing more is sent, written or applied. Proposals that may be in the log answer
   * "unknown_outcome" (the next leader may still commit them); reads fail with "stopped".
   */
  stop(): void {
    if (this.lifeState !== "running") return;
    this.lifeState = "stopped";
    const whyStopped = "Node stopped while the write was in flight: it may or may not have been applied; check before retrying";
    this.proposals.failAll(this.mutants.has("stop-answers-retry")
      ? refusal("no_leader", "Node is stopping: retry on another node") // Mutant: claims the write surely did not happen.
      : refusal("unknown_outcome", whyStopped));
    this.reads.failAll(refusal("stopped", "Node is stopping: retry the read on another node"));
  }

  /** running, stopped or failed. */
  get state(): NodeState {
    return this.lifeState;
  }

  /** Why the core failed (storage_failed), or null. */
  get failed(): Refusal | null {
    return this.failure;
  }

  // ------------------------------------------------------------------ inputs

  /** A message from a peer. */
  step(m: Message): void {
    if (this.lifeState !== "running") return;
    this.guard(() => {
      if (m.from === this.leader && (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot")) this.heardFromLeader();
      this.raft.step(m);
      this.kick();
    });
  }

  /** One tick of the node's clock: Raft's timers, deadlines of proposals and reads, lease expiry on the leader. */
  tick(): void {
    if (this.lifeState !== "running") return;
    this.guard(() => {
      this.raft.tick();
      const now = this.fx.nowMs();
      this.proposals.expire(now);
      this.reads.expire(now, this.tuning.readTimeoutMs);
      if (this.role === "leader") this.expireLeases(now);
      this.checkLeaderContact(now);
      this.startReadRound();
      this.kick();
    });
  }

  /** Proposes a command; `done` gets its result once applied here, or why not (outcome.ts). */
  propose(command: Command, done: ProposalCallback): void {
    this.proposeData(encodeCommand(command), done);
  }

  /** Proposes a membership change; one at a time. */
  proposeConfChange(change: ConfChange, done: (outcome: ProposalOutcome) => void): void {
    const unusable = this.unusable();
    if (unusable !== null) return done(unusable);
    const r = this.guard(() => this.raft.proposeConfChange(change));
    if (r === undefined) return done(this.unusable() ?? refusal("stopped", "Node stopped"));
    if (!r.ok) {
      if (r.code === "config_change_pending") return done(refusal("config_change_pending", "Another membership change is in progress: retry shortly"));
      if (r.code === "invalid_conf_change") return done(refusal("bad_request", `Cannot apply ${change.type} ${change.nodeId}: it would leave no voter`));
      return done(this.refusalOf(r.code));
    }
    this.proposals.add(r.index, r.term, this.fx.nowMs() + this.tuning.proposalTimeoutMs, (outcome) => done(outcome));
    this.kick();
  }

  /** Starts an election now (an operator's or a test's action; Raft ignores it on a leader). */
  campaign(): void {
    if (this.lifeState !== "running") return;
    this.guard(() => {
      this.raft.campaign();
      this.kick();
    });
  }

  /** Hands leadership to another voter; null when the transfer started. */
  transferLeadership(to: NodeId): Refusal | null {
    const unusable = this.unusable();
    if (unusable !== null) return unusable;
    const r = this.guard(() => this.raft.transferLeadership(to));
    if (r === undefined) return this.unusable();
    if (!r.ok) return r.code === "not_leader" ? this.refusalOf("not_leader") : refusal("bad_request", `Cannot transfer leadership to ${to}: it is not a voter`);
    this.kick();
    return null;
  }

  /** Calls `done(null)` once the local store reflects every write acknowledged before the call (ReadIndex). */
  readBarrier(done: ReadCallback): void {
    const unusable = this.unusable();
    if (unusable !== null) return done(unusable);
    this.reads.enqueue(done);
    this.guard(() => this.startReadRound());
  }

  /**
   * A keep-alive for a lease: leader only (the lease clock lives on the leader). It first confirms
   * leadership with a ReadIndex round, which also makes every entry of earlier terms applied here:
   * a new leader must not renew a lease whose expiry an older leader already put in the log (found
   * by the KV simulator's keepalive-without-readindex mutant).
   */
  keepAlive(id: LeaseId, done: (outcome: KeepAliveOutcome) => void): void {
    if (this.role !== "leader") return done(this.refusalOf("not_leader"));
    if (this.mutants.has("keepalive-without-readindex")) return done(this.leases.renew(id, this.fx.nowMs()));
    this.readBarrier((err) => {
      if (err !== null) return done(err);
      if (this.role !== "leader") return done(this.refusalOf("not_leader"));
      done(this.leases.renew(id, this.fx.nowMs()));
    });
  }

  // ------------------------------------------------------------------ views

  /** Raft's view of this node. */
  status(): RaftStatus {
    return this.raft.status();
  }

  /** The term as last made durable here (cheap: response headers read it on every request). */
  get term(): Term {
    return this.persisted.term;
  }

  /** Proposals made here and not yet answered (metrics). */
  get pendingProposals(): number {
    return this.proposals.size;
  }

  /** Milliseconds since this node last heard from a leader (0 on the leader itself). */
  sinceLeaderContactMs(): number {
    return this.role === "leader" ? 0 : this.fx.nowMs() - this.lastLeaderContactMs;
  }

  /** Current leader as this node knows it (NO_NODE when none). */
  get leaderId(): NodeId {
    return this.leader;
  }

  get currentRole(): Role {
    return this.role;
  }

  /** Time left on a lease as the leader sees it (undefined when unknown or not leader). */
  leaseRemainingMs(id: LeaseId): number | undefined {
    return this.role === "leader" ? this.leases.remainingMs(id, this.fx.nowMs()) : undefined;
  }

  /** Key-value pairs under a prefix from the local store (internal registries). */
  localPrefix(prefix: string): readonly KeyValue[] {
    const r = this.kv.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
    return r.ok ? r.kvs : [];
  }

  // ------------------------------------------------------------------ the Ready pipeline

  private proposeData(data: Uint8Array, done: ProposalCallback): void {
    const unusable = this.unusable();
    if (unusable !== null) return done(unusable, 0, 0);
    if (this.proposals.full) return done(refusal("overloaded", "Too many writes in flight: retry later"), 0, 0);
    const r = this.guard(() => this.raft.propose(data));
    if (r === undefined) return done(this.unusable() ?? refusal("stopped", "Node stopped"), 0, 0);
    if (!r.ok) return done(this.refusalOf(r.code), 0, 0);
    this.proposals.add(r.index, r.term, this.fx.nowMs() + this.tuning.proposalTimeoutMs, done);
    this.kick();
  }

  /** Runs the pipeline soon (coalesced), so that inputs of one turn share one Ready and one fsync. */
  private kick(): void {
    if (this.kickPending || this.lifeState !== "running") return;
    this.kickPending = true;
    this.fx.soon(() => {
      this.kickPending = false;
      this.guard(() => this.pump());
    });
  }

  /** Takes and carries out Readies until Raft has none or one is being written. Re-entrant calls return. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.lifeState === "running" && this.inflight === null && this.raft.hasReady()) this.startReady(this.raft.ready());
    } finally {
      this.pumping = false;
    }
  }

  private startReady(rd: Ready): void {
    this.inflight = rd;
    if (rd.softState !== null) this.onSoftState(rd.softState.role, rd.softState.leader);
    this.obs.onReady?.(rd);
    let late = rd.messages;
    if (this.mutants.has("send-all-before-fsync")) {
      // Mutant: every message leaves before the write is durable (votes and acks included).
      this.fx.send(rd.messages);
      late = [];
    } else if (this.role === "leader" && rd.snapshot === null && !this.changesTermOrVote(rd)) {
      this.fx.send(rd.messages.filter(isLeaderBroadcast));
      late = rd.messages.filter((m) => !isLeaderBroadcast(m));
    }
    let committed = rd.committedEntries;
    if (rd.snapshot === null && committed.length > 0) {
      const stable = Math.min(this.persistedLastIndex, (rd.entries[0]?.index ?? Infinity) - 1);
      let early = 0;
      while (early < committed.length && committed[early]!.index <= stable && committed[early]!.type !== "config") early++;
      if (early > 0) {
        this.applyEntries(early === committed.length ? committed : committed.slice(0, early));
        committed = committed.slice(early);
      }
    }
    if (rd.snapshot === null && rd.entries.length === 0 && rd.hardState === null) return this.finishReady(rd, committed, late);
    this.fx.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot, mustSync: rd.mustSync }, (err) => {
      if (this.inflight !== rd || this.lifeState !== "running") return;
      this.guard(() => {
        if (err !== null && err !== undefined) return this.failStorage("Cannot write the log", err);
        this.finishReady(rd, committed, late);
        this.pump();
      });
    });
  }

  private finishReady(rd: Ready, committed: readonly Entry[], late: readonly Message[]): void {
    if (rd.hardState !== null) this.persisted = { term: rd.hardState.term, vote: rd.hardState.vote };
    if (rd.snapshot !== null) this.persistedLastIndex = rd.snapshot.meta.index;
    if (rd.entries.length > 0) this.persistedLastIndex = rd.entries[rd.entries.length - 1]!.index;
    if (late.length > 0) this.fx.send(late);
    if (rd.snapshot !== null) this.installSnapshot(rd.snapshot);
    this.applyEntries(committed);
    for (const rs of rd.readStates) this.reads.readState(rs.context, rs.index, this.kv.appliedIndex);
    this.raft.advance(rd);
    this.inflight = null;
    this.maybeSnapshot();
  }

  private changesTermOrVote(rd: Ready): boolean {
    return rd.hardState !== null && (rd.hardState.term !== this.persisted.term || rd.hardState.vote !== this.persisted.vote);
  }

  private onSoftState(role: Role, leader: NodeId): void {
    const wasLeader = this.role === "leader";
    const isLeader = role === "leader";
    this.role = role;
    const leaderChanged = leader !== this.leader;
    this.leader = leader;
    if (leaderChanged) this.fx.logger.info({ leader, term: this.raft.status().term }, leader === NO_NODE ? "no leader" : `leader is ${leader}`);
    if (leaderChanged || isLeader) this.heardFromLeader();
    this.obs.onRoleChange?.(role, leader);
    if (this.mutants.has("lease-no-promote")) return; // Mutant: a new leader keeps whatever deadlines it had.
    if (isLeader && !wasLeader) this.leases.promote(this.kv.leases(), this.fx.nowMs());
    if (!isLeader && wasLeader) {
      this.leases.demote();
      this.reads.refuseRound(refusal("not_leader", "Leadership changed during the read: retry", leader));
    } else if (leaderChanged && !wasLeader) {
      // A follower's round went to the old leader, which may be dead: ask again at the next tick.
      // Waiting out the read timeout would also hold up keep-alives (they need a ReadIndex round)
      // on a node that has just become leader, until every lease expired (bench:replace).
      this.reads.retryRound();
    }
  }

  private heardFromLeader(): void {
    this.lastLeaderContactMs = this.fx.nowMs();
    if (this.watchers.suspended) this.watchers.resumeNew();
  }

  /**
   * A non-leader cut off from the leader for too long ends its watches (etcd's "require leader"):
   * a learner never campaigns, so without this its watch streams would stay open and silent for good.
   */
  private checkLeaderContact(now: number): void {
    if (this.role === "leader" || this.watchers.suspended) return;
    const silentMs = now - this.lastLeaderContactMs;
    if (silentMs <= this.watchLeaderlessMs) return;
    this.watchers.endAllNoLeader(`node ${this.id} has not heard from a leader for ${silentMs} ms`);
    this.obs.onWatchReady?.();
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.kv.restore(snapshot.data);
    this.watchers.onRestore();
    this.snapshots.installed(snapshot.meta.index);
    if (this.role === "leader" && !this.mutants.has("lease-no-promote")) this.leases.promote(this.kv.leases(), this.fx.nowMs());
    this.fx.logger.info({ index: snapshot.meta.index }, "installed snapshot from the leader");
    this.obs.onSnapshotInstalled?.(snapshot);
  }

  private applyEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const now = this.fx.nowMs();
    const changedKeys: string[] = [];
    const followsGrants = this.role === "leader" || this.mutants.has("lease-no-promote");
    for (const e of entries) {
      if (e.index <= this.kv.appliedIndex) continue;
      const revisionBefore = this.kv.revision;
      // Config entries take effect inside Raft; for the store they only advance the applied index.
      const out = this.kv.applyEntry(e.index, e.type === "config" ? NO_DATA : e.data);
      if (e.type === "config") this.checkStillMember();
      this.obs.onEntryApplied?.(e, out, revisionBefore);
      if (out.events.length > 0) {
        this.watchers.notify(out.events);
        for (const ev of out.events) changedKeys.push(ev.kv.key);
      }
      if (followsGrants && out.leaseChanges.length > 0) this.leases.observe(out.leaseChanges, now);
      this.proposals.applied(e.index, e.term, out.result);
    }
    this.reads.applied(this.kv.appliedIndex);
    this.obs.onWatchReady?.();
    if (changedKeys.length > 0) this.obs.onAppliedBatch?.(changedKeys);
  }

  private checkStillMember(): void {
    const conf = this.raft.status().confState;
    const member = conf.voters.includes(this.id) || conf.learners.includes(this.id);
    if (member) this.wasMember = true;
    else if (this.wasMember && !this.removed) {
      this.removed = true;
      this.fx.logger.warn({}, "this node was removed from the cluster");
      // Let the current Ready finish (the removal is durable) before the shell stops the node.
      this.fx.soon(() => this.obs.onRemoved?.());
    }
  }

  /** Takes a snapshot when the policy says so; the policy saves it (snapshot-policy.ts). */
  private maybeSnapshot(): void {
    const applied = this.kv.appliedIndex;
    if (!this.snapshots.due(applied)) return;
    // A snapshot from the leader may have arrived while this Ready was written: the log then starts
    // past what this node applied, and the one in flight will be installed instead.
    if (applied < this.raft.status().firstIndex - 1) return;
    const snapshot: Snapshot = { meta: this.raft.snapshotMeta(applied), data: this.kv.snapshot() };
    this.raft.compact(snapshot);
    this.snapshots.save(snapshot, (err) => this.failStorage("Cannot write a snapshot", err));
  }

  private expireLeases(now: number): void {
    const ids = this.leases.expired(now);
    if (ids.length === 0) return;
    // The apply is idempotent and the clock re-offers lost expiries, so a failure here is only logged.
    this.proposeData(encodeCommand({ type: "leaseExpire", ids }), (outcome) => {
      if (!outcome.ok) this.fx.logger.debug({ code: outcome.code, ids }, "lease expiry proposal did not apply");
    });
  }

  private startReadRound(): void {
    const context = this.reads.startRound(this.fx.nowMs());
    if (context === null) return;
    const r = this.raft.readIndex(context);
    if (!r.ok) this.reads.refuseRound(r.code === "not_leader" ? this.refusalOf("not_leader") : refusal("overloaded", "Too many reads in flight: retry"));
    this.kick();
  }

  // ------------------------------------------------------------------ failures

  private refusalOf(code: "not_leader" | "transfer_in_progress" | "overloaded"): Refusal {
    if (code === "overloaded") return refusal("overloaded", "Too many writes waiting to commit: retry later");
    if (code === "transfer_in_progress") return refusal("no_leader", "Leadership is being transferred: retry shortly");
    if (this.leader === NO_NODE) return refusal("no_leader", "No leader is known right now (election in progress): retry shortly");
    return refusal("not_leader", `Node ${this.id} is not the leader; node ${this.leader} is`, this.leader);
  }

  /** Why a new request cannot start here (it certainly reached no log), or null. */
  private unusable(): Refusal | null {
    if (this.failure !== null) return this.failure;
    if (this.lifeState !== "running") return refusal("stopped", "Node is stopping: send the request to another node");
    return null;
  }

  /** Storage failed: the node stops acknowledging anything; what may be in the log answers unknown_outcome. */
  private failStorage(what: string, cause: unknown): void {
    if (this.lifeState === "failed") return;
    const message = `${what}: this node stopped acknowledging writes; see the log and restart it`;
    this.fx.logger.error({ err: cause }, message);
    this.failure = refusal("storage_failed", message);
    this.lifeState = "failed";
    this.proposals.failAll(this.mutants.has("storage-failure-answers-retry")
      ? refusal("no_leader", `${message}: retry on another node`) // Mutant: claims the write surely did not happen.
      : refusal("unknown_outcome", `${message}. The write may or may not have been applied; check before retrying`));
    this.reads.failAll(this.failure);
  }

  /**
   * Runs `fn`; anything it throws is a broken invariant (Raft's RaftInvariantError or the core's
   * own): the core stops for good, waiters hear "unknown_outcome", and the shell is told.
   */
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (this.lifeState !== "failed") {
        this.lifeState = "failed";
        this.failure = refusal("storage_failed", "Node stopped on a broken invariant: see the log");
        this.proposals.failAll(refusal("unknown_outcome", "Node stopped on a broken invariant: the write may or may not have been applied"));
        this.reads.failAll(this.failure);
      }
      this.fx.onFatal(err);
      return undefined;
    }
  }
}

function isLeaderBroadcast(m: Message): boolean {
  return m.type === "append" || m.type === "heartbeat";
}
