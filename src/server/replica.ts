// One node's replicated store as the server runs it: the production shell around the node core
// (../node/node-core.ts). The core holds Raft, the KV store, the lease clock, pending proposals and
// reads, the Ready and apply pipelines and the snapshot policy; this file only gives it real
// effects — the WAL (storage/), the peer transport, setInterval ticks, setImmediate scheduling,
// performance.now and Math.random — and turns its callbacks into promises and ServerErrors for the
// client API. The simulators run the same core with simulated effects.
import type { Logger } from "pino";
import type { Command, CommandResult, KeyValue, LeaseId, RangeRequest, RangeResult, KvError, KvStore, WatcherRegistry } from "../kv/store.js";
import type { ConfChange, NodeId, RaftStatus, RestoredState, Snapshot } from "../raft/raft.js";
import { DEFAULT_MAX_UNCOMMITTED_BYTES, NO_NODE } from "../raft/raft.js";
import type { Storage } from "../storage/storage.js";
import type { Transport } from "../transport/types.js";
import type { NodeEffects, NodeStorage, StorageDone } from "../node/effects.js";
import { NodeCore } from "../node/node-core.js";
import type { NodeState } from "../node/node-core.js";
import type { Refusal } from "../node/outcome.js";
import { ServerError } from "./errors.js";

/** Exit code of a node whose core hit a broken invariant (EX_SOFTWARE in sysexits.h). Documented in ARCHITECTURE.md "Errors". */
export const EXIT_INVARIANT_BROKEN = 70;

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
  /** A leader refuses proposals ("overloaded") once its uncommitted tail holds this many payload bytes (0: no limit; etcd's MaxUncommittedEntriesSize). */
  readonly maxUncommittedBytes: number;
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
  maxUncommittedBytes: DEFAULT_MAX_UNCOMMITTED_BYTES,
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
  /** A broken invariant in the core. Default: log a fatal line and exit with EXIT_INVARIANT_BROKEN. */
  readonly onFatal?: (err: unknown) => void;
  /** Told what the node does, for /metrics (server/node-metrics.ts). */
  readonly metrics?: ReplicaMetrics;
}

/** What a replica reports to its metrics. */
export interface ReplicaMetrics {
  leaderChanged(): void;
  proposalFailed(code: string): void;
  snapshot(kind: "taken" | "received", bytes: number): void;
  snapshotSaved(seconds: number): void;
}

/** The key changes of one applied batch. */
export interface AppliedBatch {
  readonly changedKeys: readonly string[];
}

/** Read consistency: "linearizable" goes through ReadIndex; "serializable" reads the local store as is. */
export type ReadConsistency = "linearizable" | "serializable";

/** What /healthz reports, from the live core. */
export interface ReplicaHealth {
  readonly healthy: boolean;
  readonly state: NodeState;
  readonly leader: NodeId;
  readonly role: string;
}

/** A node's replicated store. Create, then start(); stop() before exiting. */
export class Replica {
  readonly id: NodeId;
  private readonly core: NodeCore;
  private readonly tuning: ReplicaTuning;
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private readonly watchListeners = new Set<() => void>();
  private readonly leaderListeners = new Set<(leader: NodeId) => void>();
  private readonly changeListeners = new Set<(changedKeys: readonly string[] | null) => void>();
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly startedMs: number;
  /** The leader last announced to listeners. */
  private leaderSeen: NodeId = NO_NODE;

  constructor(private readonly options: ReplicaOptions) {
    this.id = options.id;
    this.tuning = { ...DEFAULT_REPLICA_TUNING, ...options.tuning };
    this.log = options.logger;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.startedMs = this.nowMs();
    const t = this.tuning;
    const effects: NodeEffects = {
      storage: promiseStorage(options.storage, options.metrics),
      send: (messages) => options.transport.send(messages),
      nowMs: this.nowMs,
      soon: (fn) => setImmediate(fn),
      randomInt: (n) => Math.floor(Math.random() * n),
      logger: options.logger,
      onFatal: (err) => this.onFatal(err),
    };
    this.core = new NodeCore({
      id: options.id,
      restored: options.restored,
      readTag: `${options.id}-${Math.floor(this.startedMs)}`,
      effects,
      tuning: {
        raft: {
          electionTicks: t.electionTicks, heartbeatTicks: t.heartbeatTicks, maxEntriesPerAppend: t.maxEntriesPerAppend,
          maxBytesPerAppend: t.maxBytesPerAppend, maxInflightAppends: t.maxInflightAppends,
          maxUncommittedEntries: t.maxUncommittedEntries, maxUncommittedBytes: t.maxUncommittedBytes, preVote: true, checkQuorum: true,
        },
        snapshotEveryEntries: t.snapshotEveryEntries,
        proposalTimeoutMs: t.proposalTimeoutMs,
        readTimeoutMs: t.readTimeoutMs,
        tickMs: t.tickMs,
      },
      observer: {
        onRoleChange: (_role, leader) => this.onLeader(leader),
        onWatchReady: () => {
          for (const l of this.watchListeners) l();
        },
        onAppliedBatch: (changedKeys) => {
          options.onApplied?.({ changedKeys });
          for (const l of this.changeListeners) l(changedKeys);
        },
        onSnapshotInstalled: (snapshot) => {
          options.metrics?.snapshot("received", snapshot.data.length);
          for (const l of this.changeListeners) l(null);
        },
        onRemoved: () => options.onRemoved?.(),
      },
    });
  }

  /** The local store (read-only use: writes go through propose). */
  get kv(): KvStore {
    return this.core.kv;
  }

  /** Watchers of the local store. */
  get watchers(): WatcherRegistry {
    return this.core.watchers;
  }

  /** Starts ticking and receiving. */
  start(): void {
    this.options.transport.onMessage((m) => {
      this.core.step(m);
    });
    this.tickTimer = setInterval(() => this.core.tick(), this.tuning.tickMs);
    this.tickTimer.unref?.();
    this.core.start();
  }

  /**
   * Stops timers and answers what is waiting: writes that may be in the log get "unknown_outcome",
   * reads "stopped". The storage and transport are closed by their owner.
   */
  stop(): void {
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.core.stop();
  }

  /** Proposals made here and not yet answered. */
  get pendingProposals(): number {
    return this.core.pendingProposals;
  }

  /** Raft's view of this node. */
  status(): RaftStatus {
    return this.core.status();
  }

  /** Live health for /healthz: running, with a known leader. */
  health(): ReplicaHealth {
    const state = this.core.state;
    const leader = this.core.leaderId;
    return { healthy: state === "running" && leader !== NO_NODE, state, leader, role: this.core.currentRole };
  }

  /** The term as last made durable here (cheap: response headers read it on every request). */
  get term(): number {
    return this.core.term;
  }

  /** Current leader as this node knows it (NO_NODE when none). */
  get leaderId(): NodeId {
    return this.core.leaderId;
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
    return this.core.sinceLeaderContactMs();
  }

  /** Subscribes to "watch events may be ready" (after every apply). Returns the unsubscribe function. */
  onWatchReady(listener: () => void): () => void {
    this.watchListeners.add(listener);
    return () => this.watchListeners.delete(listener);
  }

  /**
   * Subscribes to the keys each applied batch changed (synchronously, before the proposals' promises
   * resolve), or null when a snapshot replaced the whole store. Returns the unsubscribe function.
   */
  onAppliedKeys(listener: (changedKeys: readonly string[] | null) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Subscribes to leader changes. */
  onLeaderChange(listener: (leader: NodeId) => void): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  /** Proposes a command through Raft; resolves with its result once applied here. Leader only. */
  propose(command: Command): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      this.core.propose(command, (outcome) => {
        if (outcome.ok) return resolve(outcome.result);
        this.options.metrics?.proposalFailed(outcome.code);
        reject(serverError(outcome));
      });
    });
  }

  /** Proposes a membership change. Leader only; one at a time. */
  proposeConfChange(change: ConfChange): Promise<void> {
    return new Promise((resolve, reject) => {
      this.core.proposeConfChange(change, (outcome) => (outcome.ok ? resolve() : reject(serverError(outcome))));
    });
  }

  /** Hands leadership to another voter. */
  transferLeadership(to: NodeId): void {
    const r = this.core.transferLeadership(to);
    if (r !== null) throw serverError(r);
  }

  /** Reads keys; linearizable reads wait for a ReadIndex round and the apply that covers it. */
  async range(req: RangeRequest, consistency: ReadConsistency): Promise<RangeResult | KvError> {
    if (consistency === "linearizable") await this.linearizableBarrier();
    return this.core.kv.range(req);
  }

  /** Resolves when the local store reflects every write acknowledged before the call (ReadIndex). */
  linearizableBarrier(): Promise<void> {
    return new Promise((resolve, reject) => this.core.readBarrier((err) => (err === null ? resolve() : reject(serverError(err)))));
  }

  /** A keep-alive for a lease: leader only, after a ReadIndex round (see NodeCore.keepAlive). */
  keepAlive(id: LeaseId): Promise<{ ok: true; ttlMs: number } | { ok: false; code: string; message: string }> {
    return new Promise((resolve, reject) => {
      this.core.keepAlive(id, (outcome) => {
        if (outcome.ok || outcome.code === "lease_not_found" || outcome.code === "lease_expired") resolve(outcome);
        else reject(serverError(outcome as Refusal));
      });
    });
  }

  /** Time left on a lease as the leader sees it (undefined when unknown or not leader). */
  leaseRemainingMs(id: LeaseId): number | undefined {
    return this.core.leaseRemainingMs(id);
  }

  /** Key-value pairs under a prefix from the local store (internal registries). */
  localPrefix(prefix: string): readonly KeyValue[] {
    return this.core.localPrefix(prefix);
  }

  private onLeader(leader: NodeId): void {
    if (leader === this.leaderSeen) return;
    this.leaderSeen = leader;
    if (leader !== NO_NODE) this.options.metrics?.leaderChanged();
    for (const l of this.leaderListeners) l(leader);
  }

  private onFatal(err: unknown): void {
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.tickTimer = null;
    if (this.options.onFatal !== undefined) return this.options.onFatal(err);
    this.log.fatal({ err }, `Node ${this.id} stopped on a broken invariant (a bug): exiting with code ${EXIT_INVARIANT_BROKEN}; restart it and report the log`);
    process.exit(EXIT_INVARIANT_BROKEN);
  }
}

/** The WAL's promise API as the core's callback API. */
function promiseStorage(storage: Storage, metrics: ReplicaMetrics | undefined): NodeStorage {
  const settle = (p: Promise<unknown>, done: StorageDone): void => {
    p.then(() => done(null), (err: unknown) => done(err ?? new Error("storage call failed without a reason")));
  };
  const saveSnapshot = async (snapshot: Snapshot): Promise<void> => {
    const started = performance.now();
    await storage.saveSnapshot(snapshot);
    metrics?.snapshot("taken", snapshot.data.length);
    metrics?.snapshotSaved((performance.now() - started) / 1000);
  };
  return {
    save: (batch, done) => settle(storage.save(batch), done),
    saveSnapshot: (snapshot, done) => settle(saveSnapshot(snapshot), done),
    compact: (index, done) => settle(storage.compact(index), done),
  };
}

function serverError(r: Refusal): ServerError {
  return new ServerError(r.code, r.message, r.leaderId === undefined ? {} : { leaderId: r.leaderId });
}
