// The simulated KV server: a NodeProcess (../node-process.ts) running the real node core — the same
// NodeCore as `phalanx agent`, with its Ready pipeline (leader broadcast before its own fsync, early
// apply of durable committed entries), apply pipeline, lease clock, batched ReadIndex reads and
// asynchronous snapshot policy — plus the client side of the server: requests become core calls,
// the core's answers become replies (a retryable refusal is "refused", any other failure of a write
// is "unknown": it may still apply), watch streams are polled after every apply.
// Mutants: the core's own (NodeMutant, set through the core's options) and two of the shell's
// client API (watch-skip, kv-stale-read).
import type { ConfChange, ConfState, NodeId } from "../../raft/raft.js";
import { decodeConfChange } from "../../raft/raft.js";
import type { ApplyOutput, KvStore } from "../../kv/store.js";
import type { NodeMutant } from "../../node/mutants.js";
import type { ProposalOutcome } from "../../node/pending-proposals.js";
import { isRetryable } from "../../node/outcome.js";
import type { NodeTuning } from "../../node/node-core.js";
import type { Rng } from "../rng.js";
import { NodeProcess } from "../node-process.js";
import type { ProcessWorld } from "../node-process.js";
import type { KvReply, KvRequest, WatchDelivery } from "./protocol.js";

/** Deliberate bugs, to prove the KV checkers can fail: the core's, and the shell's client API's. */
export type KvMutant = NodeMutant | "watch-skip" | "kv-stale-read";
/** Every KV mutant name accepted by `--mutant`. */
export const KV_MUTANTS: readonly KvMutant[] = [
  "lease-no-promote", "watch-skip", "kv-stale-read", "keepalive-without-readindex",
  "send-all-before-fsync", "snapshot-compacts-before-save", "stop-answers-retry", "storage-failure-answers-retry",
];

/** Most reads and keep-alives one node tracks while they wait for their read index. */
export const MAX_PENDING_READS = 256;
/** Most proposals one node tracks while they wait to be applied. */
export const MAX_PENDING_PROPOSALS = 1024;
/** The watch-skip mutant drops the first event of every this-many-th watch batch. */
const WATCH_SKIP_EVERY = 7;

/** What the node shell needs from the simulation around it. */
export interface KvNodeWorld extends ProcessWorld {
  readonly rng: Rng;
  readonly mutant: KvMutant | null;
  reply(reply: KvReply): void;
  /** The core's tuning for this node (Raft settings, snapshot policy, deadlines). */
  tuning(): NodeTuning;
  /** An entry was applied; `revisionBefore` is the store revision just before. */
  onApplied(node: KvSimNode, out: ApplyOutput, term: number, revisionBefore: number): void;
  /** The core answered a proposal it had placed at (index, term). */
  onProposalAnswered(node: KvSimNode, index: number, term: number, outcome: ProposalOutcome): void;
  /** Watch streams of a node that died broke (their clients resume elsewhere). */
  onStreamsBroken(streams: readonly { readonly clientId: number; readonly opId: number }[]): void;
  /** A membership change was applied on `node`. */
  onConfApplied(node: NodeId, cc: ConfChange): void;
  /** The node's role or leader changed; `becameLeader` when it just won an election. */
  onRole(node: KvSimNode, becameLeader: boolean): void;
  /** A snapshot replaced the node's store. */
  onSnapshotInstalled(node: KvSimNode): void;
  /** A watch batch leaves the node for its client. */
  onWatch(delivery: WatchDelivery): void;
}

const CORE_MUTANTS: ReadonlySet<KvMutant> = new Set<NodeMutant>([
  "lease-no-promote", "keepalive-without-readindex", "send-all-before-fsync", "snapshot-compacts-before-save", "stop-answers-retry",
  "storage-failure-answers-retry",
]);

/** One simulated KV server. */
export class KvSimNode extends NodeProcess {
  /** The store of the current (or last) life, for the final checks. */
  private lastKv: KvStore | null = null;
  private readonly watchClients = new Map<number, { readonly clientId: number; readonly opId: number }>();
  private watchBatches = 0;
  /** Leader at the last role change (so that winning an election is told apart). */
  private wasLeader = false;
  /**
   * In the cluster's configuration as this node last applied it. A process the nemesis started for
   * a learner whose addition Raft then refused is not: clients do not pick it (a watch there would
   * never see a change).
   */
  member: boolean;

  constructor(id: NodeId, bootstrap: ConfState | null, private readonly kvWorld: KvNodeWorld) {
    super(id, bootstrap, kvWorld, () => {
      const isMember = (conf: ConfState): boolean => conf.voters.includes(id) || conf.learners.includes(id);
      const mutant = kvWorld.mutant;
      return {
        tuning: kvWorld.tuning(),
        mutants: mutant !== null && CORE_MUTANTS.has(mutant) ? new Set([mutant as NodeMutant]) : new Set(),
        observer: {
          onRoleChange: (role) => {
            const becameLeader = role === "leader" && !this.wasLeader;
            this.wasLeader = role === "leader";
            kvWorld.onRole(this, becameLeader);
          },
          onEntryApplied: (e, out, revisionBefore) => {
            kvWorld.onApplied(this, out, e.term, revisionBefore);
            if (e.type !== "config") return;
            const conf = this.core?.status().confState;
            if (conf !== undefined) this.member = isMember(conf);
            kvWorld.onConfApplied(this.id, decodeConfChange(e.data));
          },
          onSnapshotInstalled: (snapshot) => {
            this.member = isMember(snapshot.meta.confState);
            kvWorld.onSnapshotInstalled(this);
          },
          onWatchReady: () => this.flushWatches(),
        },
      };
    });
    this.member = bootstrap !== null && (bootstrap.voters.includes(id) || bootstrap.learners.includes(id));
  }

  /** The node's store (of its last life when down). */
  get kv(): KvStore {
    const kv = this.core?.kv ?? this.lastKv;
    if (kv === null) throw new Error(`Node ${this.id} never started`);
    return kv;
  }


  /** Starts (or restarts) the process; returns why its disk cannot be restored, or null. */
  start(): string | null {
    this.wasLeader = false;
    const why = this.startProcess();
    if (this.core !== null) this.lastKv = this.core.kv;
    return why;
  }

  /** Power loss: the disk keeps what was synced (plus a torn tail); its watch streams break. */
  crash(): string {
    if (this.core === null) return "already down";
    const unsynced = this.storage.dirty;
    this.crashProcess();
    this.dropWatchStreams();
    return unsynced ? "lost unsynced records" : "nothing unsynced";
  }

  /** SIGTERM: the core answers what waits, queued writes finish, the process exits; its watch streams break. */
  stop(): string {
    if (this.core === null) return "already down";
    this.stopProcess();
    this.dropWatchStreams();
    return "stopped";
  }

  /** A client request arrives. */
  request(req: KvRequest): void {
    this.input(() => this.handleRequest(req));
  }

  private dropWatchStreams(): void {
    const broken = [...this.watchClients.values()];
    this.watchClients.clear();
    this.kvWorld.onStreamsBroken(broken);
  }

  private handleRequest(req: KvRequest): void {
    const core = this.core;
    if (core === null) return;
    const op = req.op;
    const alive = (): boolean => this.core === core;
    switch (op.kind) {
      case "command":
        core.propose(op.cmd, (outcome, index, term) => {
          if (index > 0) this.kvWorld.onProposalAnswered(this, index, term, outcome);
          if (!alive() && outcome.ok) return;
          if (outcome.ok) this.answer(req, outcome.result);
          else if (isRetryable(outcome.code)) this.refuse(req, outcome.code, outcome.leaderId ?? 0);
          else this.unknown(req, outcome.code);
        });
        return;
      case "watch": {
        const w = core.watchers.watch({ ...op.range, startRevision: op.startRevision });
        if (w.ok) this.watchClients.set(w.watchId, { clientId: req.clientId, opId: req.opId });
        this.answer(req, w.ok ? { ok: true, type: "watch", watchId: w.watchId } : w);
        this.flushWatches();
        return;
      }
      case "range":
        if (this.kvWorld.mutant === "kv-stale-read") {
          // Mutant: serve from the local store at once, without ReadIndex.
          this.answer(req, core.kv.range({ key: op.key }));
          return;
        }
        core.readBarrier((err) => {
          if (err !== null) return this.refuse(req, err.code, err.leaderId ?? 0);
          if (alive()) this.answer(req, core.kv.range({ key: op.key }));
        });
        return;
      case "keepAlive":
        core.keepAlive(op.id, (outcome) => {
          if (outcome.ok) this.answer(req, { ok: true, type: "keepAlive", ttlMs: outcome.ttlMs });
          else this.refuse(req, outcome.code, outcome.leaderId ?? 0);
        });
        return;
    }
  }

  private refuse(req: KvRequest, code: string, leaderHint: number): void {
    this.kvWorld.reply({ kind: "refused", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, code, leaderHint: leaderHint as NodeId });
  }

  private unknown(req: KvRequest, code: string): void {
    this.kvWorld.reply({ kind: "unknown", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, code });
  }

  private answer(req: KvRequest, result: Extract<KvReply, { kind: "ok" }>["result"]): void {
    this.kvWorld.reply({ kind: "ok", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, result });
  }

  private flushWatches(): void {
    const core = this.core;
    if (this.watchClients.size === 0 || core === null) return;
    for (const batch of core.watchers.poll()) {
      const client = this.watchClients.get(batch.watchId);
      if (client === undefined) continue;
      let out = batch;
      if (this.kvWorld.mutant === "watch-skip" && batch.type === "events" && batch.events.length > 0 && ++this.watchBatches % WATCH_SKIP_EVERY === 0) {
        out = { ...batch, events: batch.events.slice(1) }; // Mutant: one event is lost on the way.
      }
      if (batch.type === "cancelled") this.watchClients.delete(batch.watchId);
      this.kvWorld.onWatch({ clientId: client.clientId, opId: client.opId, node: this.id, incarnation: this.incarnation, batch: out });
    }
  }
}
