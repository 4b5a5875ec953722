// One node's replicated store: the Raft core, the durable log, the KV state machine and the peer
// transport wired together by the Ready loop (etcd-io/raft's contract: persist, then send, then
// apply, then advance). Everything a client API needs — propose a command, read linearizably or
// serializably, watch, keep leases alive — goes through here. Timers live here and nowhere below.
import type { Logger } from "pino";
import type { Command, CommandResult, KeyValue, LeaseId, RangeRequest, RangeResult, KvError } from "../kv/store.js";
import { encodeCommand, KvStore, LeaseClock, prefixEnd, WatcherRegistry } from "../kv/store.js";
import type { ConfChange, Entry, Message, NodeId, RaftStatus, Ready, RestoredState, Snapshot } from "../raft/raft.js";
import { createRaft, NO_NODE } from "../raft/raft.js";
import type { Raft } from "../raft/raft.js";
import type { Storage } from "../storage/storage.js";
import type { Transport } from "../transport/types.js";
import { ServerError } from "./errors.js";
import { PendingProposals } from "./pending-proposals.js";
import { PendingReads } from "./pending-reads.js";

/** Timing and bounds of a replica. Defaults suit a LAN (DESIGN.md: heartbeat 50–100 ms, election a few hundred ms). */
export interface ReplicaTuning {
  /** Length of one Raft tick. */
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  /** Election timeout is drawn from [electionTicks, 2 × electionTicks) ticks. */
  readonly electionTicks: number;
  /** Take a snapshot and compact the log after this many applied entries. */
  readonly snapshotEveryEntries: number;
  /** A write that has not applied after this long answers "unknown_outcome". */
  readonly proposalTimeoutMs: number;
  /** A linearizable read that could not confirm leadership after this long answers "read_timeout". */
  readonly readTimeoutMs: number;
  readonly maxEntriesPerAppend: number;
  readonly maxBytesPerAppend: number;
  readonly maxInflightAppends: number;
  readonly maxUncommittedEntries: number;
}

/** Default tuning: 50 ms ticks, heartbeat every 50 ms, election after 500–1000 ms of silence. */
export const DEFAULT_REPLICA_TUNING: ReplicaTuning = {
  tickMs: 50,
  heartbeatTicks: 1,
  electionTicks: 10,
  // etcd 3.4's --snapshot-count: a snapshot encodes the whole store on the event loop, so taking one
  // every 10,000 writes stalled busy nodes for tens of milliseconds every few seconds (p99 spikes).
  snapshotEveryEntries: 100_000,
  proposalTimeoutMs: 5_000,
  readTimeoutMs: 3_000,
  maxEntriesPerAppend: 1024,
  maxBytesPerAppend: 1024 * 1024,
  maxInflightAppends: 256,
  maxUncommittedEntries: 50_000,
};

/** What a replica needs from its shell. */
export interface ReplicaOptions {
  readonly id: NodeId;
  readonly storage: Storage;
  readonly restored: RestoredState;
  readonly transport: Transport;
  readonly logger: Logger;
  readonly tuning?: Partial<ReplicaTuning>;
  /** Monotonic milliseconds (performance.now in production, a fake in tests). */
  readonly nowMs?: () => number;
  /** Called after each batch of applied entries (member registry, metrics). */
  readonly onApplied?: (events: AppliedBatch) => void;
  /** Called once when a committed membership change removed this node from the cluster. */
  readonly onRemoved?: () => void;
}

/** The key changes of one applied batch. */
export interface AppliedBatch {
  readonly changedKeys: readonly string[];
}

/** Read consistency: "linearizable" goes through ReadIndex; "serializable" reads the local store as is. */
export type ReadConsistency = "linearizable" | "serializable";

/** A node's replicated store. Create, then start(); stop() before exiting. */
export class Replica {
  readonly id: NodeId;
  readonly kv = new KvStore();
  readonly watchers: WatcherRegistry;
  private readonly raft: Raft;
  private readonly tuning: ReplicaTuning;
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private readonly proposals = new PendingProposals();
  private readonly reads: PendingReads;
  private readonly leases = new LeaseClock();
  private readonly watchListeners = new Set<() => void>();
  private readonly leaderListeners = new Set<(leader: NodeId) => void>();
  private tickTimer: NodeJS.Timeout | null = null;
  private loopRunning = false;
  private loopRequested = false;
  private stopped = false;
  private failure: ServerError | null = null;
  private snapshotIndex = 0;
  private wasMember = false;
  private removed = false;
  private leader: NodeId = NO_NODE;
  private isLeader = false;
  private readonly startedMs: number;
  private lastLeaderContactMs = 0;
  /** Term and vote as last made durable: a Ready that changes them sends nothing before its fsync. */
  private persisted: { term: number; vote: NodeId };
  /** Index of the last log entry made durable here (entries up to it may apply while a later write is in flight). */
  private persistedLastIndex: number;

  constructor(private readonly options: ReplicaOptions) {
    this.id = options.id;
    this.tuning = { ...DEFAULT_REPLICA_TUNING, ...options.tuning };
    this.log = options.logger;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.startedMs = this.nowMs();
    this.reads = new PendingReads(`${options.id}-${Math.floor(this.startedMs)}`);
    const restored = options.restored;
    this.persisted = { term: restored.hardState.term, vote: restored.hardState.vote };
    this.persistedLastIndex = restored.entries.at(-1)?.index ?? restored.snapshot?.meta.index ?? 0;
    if (restored.snapshot !== null) {
      this.kv.restore(restored.snapshot.data);
      this.snapshotIndex = restored.snapshot.meta.index;
    }
    this.watchers = new WatcherRegistry(this.kv);
    const conf0 = restored.snapshot?.meta.confState ?? restored.bootstrap;
    this.wasMember = conf0 !== null && (conf0.voters.includes(options.id) || conf0.learners.includes(options.id));
    this.raft = createRaft(
      {
        id: options.id,
        electionTicks: this.tuning.electionTicks,
        heartbeatTicks: this.tuning.heartbeatTicks,
        maxEntriesPerAppend: this.tuning.maxEntriesPerAppend,
        maxBytesPerAppend: this.tuning.maxBytesPerAppend,
        maxInflightAppends: this.tuning.maxInflightAppends,
        maxUncommittedEntries: this.tuning.maxUncommittedEntries,
        preVote: true,
        checkQuorum: true,
        randomInt: (n) => Math.floor(Math.random() * n),
      },
      restored,
    );
  }

  /** Starts ticking and receiving. */
  start(): void {
    this.options.transport.onMessage((m) => this.receive(m));
    this.tickTimer = setInterval(() => this.onTick(), this.tuning.tickMs);
    this.tickTimer.unref?.();
    // A single-voter cluster elects itself at once instead of waiting out an election timeout.
    const conf = this.raft.status().confState;
    if (conf.voters.length === 1 && conf.voters[0] === this.id) this.raft.campaign();
    this.kick();
  }

  /** Stops timers and fails what is waiting. The storage and transport are closed by their owner. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    const err = new ServerError("stopped", "Node is stopping: retry on another node");
    this.proposals.failAll(err);
    this.reads.failAll(err);
  }

  /** Raft's view of this node. */
  status(): RaftStatus {
    return this.raft.status();
  }

  /** The term as last made durable here (cheap: response headers read it on every request). */
  get term(): number {
    return this.persisted.term;
  }

  /** Current leader as this node knows it (NO_NODE when none). */
  get leaderId(): NodeId {
    return this.leader;
  }

  /** Shortest lease TTL granted: 1.5 × the longest election timeout (etcd's rule), so a change of leader does not expire a kept-alive lease. */
  get minLeaseTtlMs(): number {
    return 1.5 * 2 * this.tuning.electionTicks * this.tuning.tickMs;
  }

  /** Milliseconds since this replica started. */
  uptimeMs(): number {
    return this.nowMs() - this.startedMs;
  }

  /** Milliseconds since this node last heard from a leader (0 on the leader itself). */
  sinceLeaderContactMs(): number {
    return this.isLeader ? 0 : this.nowMs() - this.lastLeaderContactMs;
  }

  /** Subscribes to "watch events may be ready" (after every apply). Returns the unsubscribe function. */
  onWatchReady(listener: () => void): () => void {
    this.watchListeners.add(listener);
    return () => this.watchListeners.delete(listener);
  }

  /** Subscribes to leader changes. */
  onLeaderChange(listener: (leader: NodeId) => void): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  /** Proposes a command through Raft; resolves with its result once applied here. Leader only. */
  propose(command: Command): Promise<CommandResult> {
    return this.proposeData(encodeCommand(command));
  }

  private proposeData(data: Uint8Array): Promise<CommandResult> {
    this.assertUsable();
    if (this.proposals.full) return Promise.reject(new ServerError("overloaded", "Too many writes in flight: retry later"));
    const r = this.raft.propose(data);
    if (!r.ok) return Promise.reject(this.refusal(r.code));
    const pending = this.proposals.add(r.index, r.term, this.nowMs() + this.tuning.proposalTimeoutMs);
    this.kick();
    return pending;
  }

  /** Proposes a membership change. Leader only; one at a time. */
  async proposeConfChange(change: ConfChange): Promise<void> {
    this.assertUsable();
    const r = this.raft.proposeConfChange(change);
    if (!r.ok) {
      if (r.code === "config_change_pending") throw new ServerError("config_change_pending", "Another membership change is in progress: retry shortly");
      if (r.code === "invalid_conf_change") throw new ServerError("bad_request", `Cannot apply ${change.type} ${change.nodeId}: it would leave no voter`);
      throw this.refusal(r.code);
    }
    const pending = this.proposals.add(r.index, r.term, this.nowMs() + this.tuning.proposalTimeoutMs);
    this.kick();
    await pending;
  }

  /** Hands leadership to another voter. */
  transferLeadership(to: NodeId): void {
    const r = this.raft.transferLeadership(to);
    if (!r.ok) {
      if (r.code === "not_leader") throw this.refusal("not_leader");
      throw new ServerError("bad_request", `Cannot transfer leadership to ${to}: it is not a voter`);
    }
    this.kick();
  }

  /** Reads keys; linearizable reads wait for a ReadIndex round and the apply that covers it. */
  async range(req: RangeRequest, consistency: ReadConsistency): Promise<RangeResult | KvError> {
    if (consistency === "linearizable") await this.linearizableBarrier();
    return this.kv.range(req);
  }

  /** Resolves when the local store reflects every write acknowledged before the call (ReadIndex). */
  linearizableBarrier(): Promise<void> {
    this.assertUsable();
    const wait = this.reads.enqueue();
    this.startReadRound();
    return wait;
  }

  /**
   * A keep-alive for a lease: leader only (the lease clock lives on the leader). It first confirms
   * leadership with a ReadIndex round, which also makes every entry of earlier terms applied here:
   * a new leader must not renew a lease whose expiry an older leader already put in the log (found
   * by the KV simulator's keepalive-without-readindex mutant).
   */
  async keepAlive(id: LeaseId): Promise<{ ok: true; ttlMs: number } | { ok: false; code: string; message: string }> {
    if (!this.isLeader) throw this.refusal("not_leader");
    await this.linearizableBarrier();
    if (!this.isLeader) throw this.refusal("not_leader");
    const r = this.leases.renew(id, this.nowMs());
    return r.ok ? { ok: true, ttlMs: r.ttlMs } : r;
  }

  /** Time left on a lease as the leader sees it (undefined when unknown or not leader). */
  leaseRemainingMs(id: LeaseId): number | undefined {
    return this.isLeader ? this.leases.remainingMs(id, this.nowMs()) : undefined;
  }

  /** Key-value pairs under a prefix from the local store (internal registries). */
  localPrefix(prefix: string): readonly KeyValue[] {
    const r = this.kv.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
    return r.ok ? r.kvs : [];
  }

  // ------------------------------------------------------------------ the loop

  private receive(m: Message): void {
    if (this.stopped) return;
    if (m.from === this.leader && (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot")) this.lastLeaderContactMs = this.nowMs();
    this.raft.step(m);
    this.kick();
  }

  private onTick(): void {
    if (this.stopped) return;
    this.raft.tick();
    const now = this.nowMs();
    this.proposals.expire(now);
    this.reads.expire(now, this.tuning.readTimeoutMs);
    if (this.isLeader) this.expireLeases(now);
    this.startReadRound();
    this.kick();
  }

  private expireLeases(now: number): void {
    const ids = this.leases.expired(now);
    if (ids.length === 0) return;
    // The apply is idempotent and the clock re-offers lost expiries, so failures here are only logged.
    this.propose({ type: "leaseExpire", ids }).catch((err: unknown) => this.log.debug({ err, ids }, "lease expiry proposal did not apply"));
  }

  private startReadRound(): void {
    const context = this.reads.startRound(this.nowMs());
    if (context === null) return;
    const r = this.raft.readIndex(context);
    if (!r.ok) this.reads.refuseRound(r.code === "not_leader" ? this.refusal("not_leader") : new ServerError("overloaded", "Too many reads in flight: retry"));
    this.kick();
  }

  /** Runs the Ready loop soon (coalesced). */
  private kick(): void {
    if (this.loopRunning) {
      this.loopRequested = true;
      return;
    }
    if (this.loopRequested) return;
    this.loopRequested = true;
    setImmediate(() => void this.runLoop());
  }

  private async runLoop(): Promise<void> {
    if (this.loopRunning || this.stopped) return;
    this.loopRunning = true;
    this.loopRequested = false;
    try {
      while (!this.stopped && this.raft.hasReady()) {
        await this.handleReady(this.raft.ready());
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.loopRunning = false;
      if (this.loopRequested && !this.stopped) {
        this.loopRequested = false;
        this.kick();
      }
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== null) this.onSoftState(rd.softState.leader, rd.softState.role === "leader");
    // A leader may send appends and heartbeats while its own write is in flight (Raft thesis
    // §10.2.1): it counts itself toward commit only once durable. Anything that reveals a vote or a
    // durable log position (responses, votes) waits for the fsync.
    let late = rd.messages;
    if (this.isLeader && rd.snapshot === null && !this.changesTermOrVote(rd)) {
      this.options.transport.send(rd.messages.filter(isLeaderBroadcast));
      late = rd.messages.filter((m) => !isLeaderBroadcast(m));
    }
    // Committed entries already durable here apply (and answer their clients) while this Ready's
    // new entries are being written, as etcd does: they are committed on a quorum and on this disk,
    // so the fsync in flight guards nothing about them. Without this, every batch waited for the
    // next batch's fsync before its clients heard back.
    let committed = rd.committedEntries;
    if (rd.snapshot === null && committed.length > 0) {
      const stable = Math.min(this.persistedLastIndex, (rd.entries[0]?.index ?? Infinity) - 1);
      let early = 0;
      // A config entry waits for the save: removing this node stops it, which must not race the write.
      while (early < committed.length && committed[early]!.index <= stable && committed[early]!.type !== "config") early++;
      if (early > 0) {
        this.applyEntries(early === committed.length ? committed : committed.slice(0, early));
        committed = committed.slice(early);
      }
    }
    if (rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null) {
      try {
        await this.options.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot, mustSync: rd.mustSync });
      } catch (err) {
        throw new ServerError("storage_failed", "Cannot write the log: this node stopped acknowledging writes; see the log and restart it", { cause: err });
      }
    }
    if (rd.hardState !== null) this.persisted = { term: rd.hardState.term, vote: rd.hardState.vote };
    if (rd.snapshot !== null) this.persistedLastIndex = rd.snapshot.meta.index;
    if (rd.entries.length > 0) this.persistedLastIndex = rd.entries[rd.entries.length - 1]!.index;
    this.options.transport.send(late);
    if (rd.snapshot !== null) this.installSnapshot(rd.snapshot);
    this.applyEntries(committed);
    for (const rs of rd.readStates) this.reads.readState(rs.context, rs.index, this.kv.appliedIndex);
    this.raft.advance(rd);
    this.maybeSnapshot();
  }

  private changesTermOrVote(rd: Ready): boolean {
    return rd.hardState !== null && (rd.hardState.term !== this.persisted.term || rd.hardState.vote !== this.persisted.vote);
  }

  private onSoftState(leader: NodeId, isLeader: boolean): void {
    const wasLeader = this.isLeader;
    this.isLeader = isLeader;
    if (leader !== this.leader) {
      this.leader = leader;
      this.lastLeaderContactMs = this.nowMs();
      this.log.info({ leader, term: this.raft.status().term }, leader === NO_NODE ? "no leader" : `leader is ${leader}`);
      for (const l of this.leaderListeners) l(leader);
    }
    if (isLeader && !wasLeader) this.leases.promote(this.kv.leases(), this.nowMs());
    if (!isLeader && wasLeader) {
      this.leases.demote();
      this.reads.refuseRound(new ServerError("not_leader", "Leadership changed during the read: retry", { leaderId: leader }));
    }
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.kv.restore(snapshot.data);
    this.watchers.onRestore();
    this.snapshotIndex = snapshot.meta.index;
    if (this.isLeader) this.leases.promote(this.kv.leases(), this.nowMs());
    this.log.info({ index: snapshot.meta.index }, "installed snapshot from the leader");
  }

  private applyEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const now = this.nowMs();
    const changedKeys: string[] = [];
    for (const e of entries) {
      if (e.index <= this.kv.appliedIndex) continue;
      // Config entries take effect inside Raft; for the store they only advance the applied index.
      const out = this.kv.applyEntry(e.index, e.type === "config" ? NO_DATA : e.data);
      if (e.type === "config") this.checkStillMember();
      this.proposals.applied(e.index, e.term, out.result);
      if (out.events.length > 0) {
        this.watchers.notify(out.events);
        for (const ev of out.events) changedKeys.push(ev.kv.key);
      }
      if (this.isLeader && out.leaseChanges.length > 0) this.leases.observe(out.leaseChanges, now);
    }
    this.reads.applied(this.kv.appliedIndex);
    for (const l of this.watchListeners) l();
    if (changedKeys.length > 0) this.options.onApplied?.({ changedKeys });
  }

  private checkStillMember(): void {
    const conf = this.raft.status().confState;
    const member = conf.voters.includes(this.id) || conf.learners.includes(this.id);
    if (member) this.wasMember = true;
    else if (this.wasMember && !this.removed) {
      this.removed = true;
      this.log.warn("this node was removed from the cluster");
      // Let the current Ready finish (the removal is durable) before the shell stops the node.
      setImmediate(() => this.options.onRemoved?.());
    }
  }

  private maybeSnapshot(): void {
    const applied = this.kv.appliedIndex;
    if (applied - this.snapshotIndex < this.tuning.snapshotEveryEntries) return;
    // A snapshot from the leader may have arrived while this Ready was written: the log then starts
    // past what this node applied, and the one in flight will be installed instead.
    if (applied < this.raft.status().firstIndex - 1) return;
    const snapshot: Snapshot = { meta: this.raft.snapshotMeta(applied), data: this.kv.snapshot() };
    this.snapshotIndex = applied;
    this.raft.compact(snapshot);
    void this.options.storage
      .saveSnapshot(snapshot)
      .then(() => this.options.storage.compact(snapshot.meta.index))
      .catch((err: unknown) => this.fail(new ServerError("storage_failed", "Cannot write a snapshot: this node stopped; see the log and restart it", { cause: err })));
  }

  private refusal(code: "not_leader" | "transfer_in_progress" | "overloaded"): ServerError {
    if (code === "overloaded") return new ServerError("overloaded", "Too many writes waiting to commit: retry later");
    if (code === "transfer_in_progress") return new ServerError("no_leader", "Leadership is being transferred: retry shortly");
    if (this.leader === NO_NODE) return new ServerError("no_leader", "No leader is known right now (election in progress): retry shortly");
    return new ServerError("not_leader", `Node ${this.id} is not the leader; node ${this.leader} is`, { leaderId: this.leader });
  }

  private assertUsable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.stopped) throw new ServerError("stopped", "Node is stopping: retry on another node");
  }

  private fail(err: unknown): void {
    const failure = err instanceof ServerError ? err : new ServerError("storage_failed", "Node failed: see the log and restart it", { cause: err });
    this.failure = failure;
    this.log.fatal({ err }, failure.message);
    this.stop();
    this.proposals.failAll(failure);
    this.reads.failAll(failure);
  }
}

const NO_DATA = new Uint8Array(0);

function isLeaderBroadcast(m: Message): boolean {
  return m.type === "append" || m.type === "heartbeat";
}
