// The simulated shell of one KV node: the real Raft core, the real KvStore, WatcherRegistry and
// LeaseClock, wired as src/server/replica.ts wires them, in virtual time. Each Ready is carried out
// in the contract's order: write to the storage model, wait for the simulated fsync, send, install a
// snapshot, apply committed entries (answering the proposers, notifying watchers, feeding the lease
// clock on the leader), serve reads whose read index is applied, advance. The leader's lease clock
// runs on virtual milliseconds: promote() on becoming leader, demote() on losing it, a leaseExpire
// proposal when expired() lists leases. It snapshots every N applied entries (raft.compact).
// The KV mutants live here (see KV_MUTANTS).
// Pausing, the socket backlog and the write-then-fsync Ready pipeline are ../shell-process.ts's,
// shared with the register simulator's shell.
import type { Message, NodeId, Raft, Ready, RestoredState, Role, Snapshot } from "../../raft/raft.js";
import { NO_NODE } from "../../raft/raft.js";
import type { ApplyOutput } from "../../kv/store.js";
import { KvStore, LeaseClock, WatcherRegistry, encodeCommand } from "../../kv/store.js";
import type { Rng } from "../rng.js";
import { ReadWaits } from "../read-waits.js";
import { ShellProcess } from "../shell-process.js";
import type { KvReply, KvRequest, WatchDelivery } from "./protocol.js";

/** Deliberate bugs of the KV shell, to prove the KV checkers can fail. */
export type KvMutant = "lease-no-promote" | "watch-skip" | "kv-stale-read" | "keepalive-without-readindex";
/** Every KV mutant name accepted by `--mutant`. */
export const KV_MUTANTS: readonly KvMutant[] = ["lease-no-promote", "watch-skip", "kv-stale-read", "keepalive-without-readindex"];

/** Most reads and keep-alives one node tracks while they wait for their read index. */
export const MAX_PENDING_READS = 256;
/** Most proposals one node tracks while they wait to be applied. */
export const MAX_PENDING_PROPOSALS = 1024;
/** The watch-skip mutant drops the first event of every this-many-th watch batch. */
const WATCH_SKIP_EVERY = 7;

/** What the node shell needs from the simulation around it. */
export interface KvNodeWorld {
  readonly rng: Rng;
  readonly mutant: KvMutant | null;
  nowUs(): number;
  send(msg: Message): void;
  reply(reply: KvReply): void;
  later(node: KvSimNode, delayUs: number, fn: () => void): void;
  diskLatencyUs(node: NodeId): number;
  createRaft(id: NodeId, restored: RestoredState): Raft;
  /** An entry was applied; `revisionBefore` is the store revision just before. */
  onApplied(node: KvSimNode, out: ApplyOutput, revisionBefore: number): void;
  /** The node's role or leader changed. */
  onRole(node: KvSimNode): void;
  /** A snapshot replaced the node's store. */
  onSnapshotInstalled(node: KvSimNode): void;
  /** A watch batch leaves the node for its client. */
  onWatch(delivery: WatchDelivery): void;
}

const NO_DATA = new Uint8Array(0);

/** One simulated KV server. */
export class KvSimNode extends ShellProcess<KvRequest> {
  kv = new KvStore();
  watchers = new WatcherRegistry(this.kv);
  readonly leases = new LeaseClock();
  private readonly proposals = new Map<number, { readonly req: KvRequest; readonly term: number }>();
  private readonly reads = new ReadWaits<KvRequest>();
  private readonly watchClients = new Map<number, { readonly clientId: number; readonly opId: number }>();
  private snapshotIndex = 0;
  private watchBatches = 0;

  constructor(
    id: NodeId,
    private readonly bootstrap: { voters: NodeId[]; learners: NodeId[] },
    private readonly world: KvNodeWorld,
    private readonly snapshotEveryEntries: number,
  ) {
    super(id);
  }

  private get nowMs(): number {
    return this.world.nowUs() / 1000;
  }

  /** Starts (or restarts) the process from durable storage. */
  start(): void {
    if (this.raft !== null) return;
    const restored = this.storage.restore(this.bootstrap);
    this.raft = this.world.createRaft(this.id, restored);
    this.kv = new KvStore();
    if (restored.snapshot !== null) this.kv.restore(restored.snapshot.data);
    this.watchers = new WatcherRegistry(this.kv);
    this.leases.demote();
    this.snapshotIndex = this.kv.appliedIndex;
    this.paused = false;
    this.role = "follower";
    this.leader = NO_NODE;
    this.pump();
  }

  /** Power loss: the process dies and the disk keeps only what was synced (plus a torn tail). Returns the watch streams it broke. */
  crash(): { readonly clientId: number; readonly opId: number }[] {
    if (this.raft === null) return [];
    const broken = [...this.watchClients.values()];
    this.storage.crash(this.world.rng);
    this.resetProcess();
    this.proposals.clear();
    this.reads.clear();
    this.watchClients.clear();
    return broken;
  }

  /** One tick of the node's clock; the leader also expires leases here, as the server does. */
  tick(): void {
    const raft = this.raft;
    if (raft === null || this.paused) return;
    raft.tick();
    if (this.role === "leader") {
      const ids = this.leases.expired(this.nowMs);
      // The apply is idempotent and the clock re-offers lost expiries, so a refusal is dropped.
      if (ids.length > 0) raft.propose(encodeCommand({ type: "leaseExpire", ids }));
    }
    this.pump();
  }

  /** The operator asks this node (if leader) to hand leadership to `to`. */
  transferLeadership(to: NodeId): void {
    if (this.raft === null || this.paused) return;
    this.raft.transferLeadership(to);
    this.pump();
  }

  protected handleRequest(raft: Raft, req: KvRequest): void {
    const op = req.op;
    switch (op.kind) {
      case "command": {
        if (this.proposals.size >= MAX_PENDING_PROPOSALS) return this.refuse(req, "overloaded", NO_NODE);
        const r = raft.propose(encodeCommand(op.cmd));
        if (!r.ok) return this.refuse(req, r.code, r.code === "not_leader" ? r.leaderHint : NO_NODE);
        this.proposals.set(r.index, { req, term: r.term });
        return;
      }
      case "watch": {
        const w = this.watchers.watch({ ...op.range, startRevision: op.startRevision });
        if (w.ok) this.watchClients.set(w.watchId, { clientId: req.clientId, opId: req.opId });
        this.answer(req, w.ok ? { ok: true, type: "watch", watchId: w.watchId } : w);
        this.flushWatches();
        return;
      }
      case "range":
        if (this.world.mutant === "kv-stale-read") {
          // Mutant: serve from the local store at once, without ReadIndex.
          this.answer(req, this.kv.range({ key: op.key }));
          return;
        }
        this.startRead(raft, req);
        return;
      case "keepAlive":
        // The lease clock lives on the leader; the renewal waits for ReadIndex to confirm that this
        // node still leads, so a deposed leader never acknowledges one.
        if (this.role !== "leader") return this.refuse(req, "not_leader", this.leader);
        if (this.world.mutant === "keepalive-without-readindex") {
          // Mutant (what src/server/replica.ts does today): renew at once, trusting the role.
          const r = this.leases.renew(op.id, this.nowMs);
          if (r.ok) this.answer(req, { ok: true, type: "keepAlive", ttlMs: r.ttlMs });
          else this.refuse(req, r.code, NO_NODE);
          return;
        }
        this.startRead(raft, req);
        return;
    }
  }

  private startRead(raft: Raft, req: KvRequest): void {
    if (this.reads.size >= MAX_PENDING_READS) return this.refuse(req, "overloaded", NO_NODE);
    const context = this.nextReadContext();
    const r = raft.readIndex(context);
    if (!r.ok) return this.refuse(req, r.code, r.code === "not_leader" ? r.leaderHint : NO_NODE);
    this.reads.add(context, req);
  }

  private refuse(req: KvRequest, code: string, leaderHint: NodeId): void {
    this.world.reply({ kind: "refused", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, code, leaderHint });
  }

  private answer(req: KvRequest, result: Extract<KvReply, { kind: "ok" }>["result"]): void {
    this.world.reply({ kind: "ok", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, result });
  }

  protected startReady(raft: Raft): void {
    const rd = raft.ready();
    this.writeReady(rd);
    if (rd.softState !== null) this.onSoftState(rd.softState.role, rd.softState.leader);
    this.syncReady(rd);
  }

  protected afterSync(fn: () => void): void {
    this.world.later(this, this.world.diskLatencyUs(this.id), fn);
  }

  private onSoftState(role: Role, leader: NodeId): void {
    const wasLeader = this.role === "leader";
    this.role = role;
    this.leader = leader;
    this.world.onRole(this);
    const isLeader = role === "leader";
    if (this.world.mutant === "lease-no-promote") return; // Mutant: keep whatever deadlines it had.
    if (isLeader && !wasLeader) this.leases.promote(this.kv.leases(), this.nowMs);
    if (!isLeader && wasLeader) this.leases.demote();
  }

  protected continueReady(rd: Ready): void {
    const raft = this.raft;
    if (raft === null) return;
    for (const m of rd.messages) this.world.send(m);
    if (rd.snapshot !== null) this.installSnapshot(rd.snapshot);
    for (const e of rd.committedEntries) {
      if (e.index <= this.kv.appliedIndex) continue;
      const before = this.kv.revision;
      const out = this.kv.applyEntry(e.index, e.type === "config" ? NO_DATA : e.data);
      this.world.onApplied(this, out, before);
      if (out.events.length > 0) this.watchers.notify(out.events);
      // The mutant has every node follow grants (stale deadlines for a future leader).
      if ((this.role === "leader" || this.world.mutant === "lease-no-promote") && out.leaseChanges.length > 0) {
        this.leases.observe(out.leaseChanges, this.nowMs);
      }
      const p = this.proposals.get(e.index);
      if (p !== undefined) {
        this.proposals.delete(e.index);
        // Another entry took the index: the proposal was lost and can never apply.
        if (p.term === e.term) this.answer(p.req, out.result);
        else this.refuse(p.req, "proposal_dropped", this.leader);
      }
    }
    this.reads.onReadStates(rd.readStates);
    raft.advance(rd);
    this.inflight = null;
    this.serveReads();
    this.flushWatches();
    this.maybeSnapshot(raft);
    this.pump();
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.kv.restore(snapshot.data);
    this.watchers.onRestore();
    this.snapshotIndex = snapshot.meta.index;
    if (this.role === "leader" && this.world.mutant !== "lease-no-promote") this.leases.promote(this.kv.leases(), this.nowMs);
    this.world.onSnapshotInstalled(this);
  }

  private serveReads(): void {
    for (const req of this.reads.takeServable(this.kv.appliedIndex)) {
      const op = req.op;
      if (op.kind === "range") {
        this.answer(req, this.kv.range({ key: op.key }));
      } else if (op.kind === "keepAlive") {
        if (this.role !== "leader") {
          this.refuse(req, "not_leader", this.leader);
          continue;
        }
        const r = this.leases.renew(op.id, this.nowMs);
        if (r.ok) this.answer(req, { ok: true, type: "keepAlive", ttlMs: r.ttlMs });
        else this.refuse(req, r.code, NO_NODE);
      }
    }
  }

  private flushWatches(): void {
    if (this.watchClients.size === 0) return;
    for (const batch of this.watchers.poll()) {
      const client = this.watchClients.get(batch.watchId);
      if (client === undefined) continue;
      let out = batch;
      if (this.world.mutant === "watch-skip" && batch.type === "events" && batch.events.length > 0 && ++this.watchBatches % WATCH_SKIP_EVERY === 0) {
        out = { ...batch, events: batch.events.slice(1) }; // Mutant: one event is lost on the way.
      }
      if (batch.type === "cancelled") this.watchClients.delete(batch.watchId);
      this.world.onWatch({ clientId: client.clientId, opId: client.opId, node: this.id, incarnation: this.incarnation, batch: out });
    }
  }

  private maybeSnapshot(raft: Raft): void {
    const applied = this.kv.appliedIndex;
    if (applied - this.snapshotIndex < this.snapshotEveryEntries) return;
    // A snapshot from the leader may have arrived (raft.step restores its log at once) while this
    // Ready was being persisted: the core's log then starts past `applied`, and the snapshot's own
    // Ready, next, supersedes ours. (src/server/replica.ts lacks this guard: see the sim/kv report.)
    if (applied < raft.status().firstIndex - 1) return;
    const snapshot: Snapshot = { meta: raft.snapshotMeta(applied), data: this.kv.snapshot() };
    raft.compact(snapshot);
    this.storage.compact(snapshot);
    this.snapshotIndex = applied;
  }
}
