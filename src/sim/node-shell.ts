// The register simulator's node: a NodeProcess (node-process.ts) running the real node core — the
// same NodeCore as `phalanx agent` — whose client API speaks registers: a write is a KV put, a
// compare-and-swap a txn "value (or version 0 when empty) equals expected, then put", a read a
// linearizable range after the core's ReadIndex barrier. It reports everything the safety checkers
// look at through the core's observer hooks and the process's storage hooks: entries and hard
// states as written, hard states as synced, messages as sent, every apply (with a running hash of
// the applied sequence), snapshot installs, restarts, new leaders. The nemesis can arm a trigger
// that strikes around a Ready's write or sends. The "send-before-persist" mutant is the core's
// send-all-before-fsync (every message leaves before the Ready's write is durable).
import type { Command, Compare } from "../kv/store.js";
import type { ConfChange, ConfState, Entry, Message, NodeId, Snapshot } from "../raft/raft.js";
import { decodeConfChange, NO_NODE } from "../raft/raft.js";
import type { NodeMutant } from "../node/mutants.js";
import type { NodeTuning } from "../node/node-core.js";
import { isRetryable } from "../node/outcome.js";
import type { SafetyChecker } from "./checkers.js";
import { chainHash } from "./chain-hash.js";
import type { RegisterValue } from "./linearizability/register-model.js";
import { NodeProcess } from "./node-process.js";
import type { ProcessWorld } from "./node-process.js";
import type { ClientReply, ClientRequest } from "./protocol.js";
import type { Rng } from "./rng.js";
import type { WalRecord } from "./storage-model.js";

/** Most client reads one node tracks while they wait for their read index. */
export const MAX_PENDING_CLIENT_READS = 256;
/** Most client writes one node tracks while they wait to apply. */
export const MAX_PENDING_CLIENT_WRITES = 1024;


/** What the node shell needs from the simulation around it. */
export interface NodeWorld extends ProcessWorld {
  readonly rng: Rng;
  readonly checker: SafetyChecker;
  readonly nodeMutants: ReadonlySet<NodeMutant>;
  readonly tracing: boolean;
  reply(reply: ClientReply): void;
  tuning(): NodeTuning;
  onConfApplied(node: NodeId, cc: ConfChange, conf: ConfState): void;
  /** A client command (a KV put or txn in entry data) was applied (by any node). */
  onCommandApplied(data: Uint8Array): void;
  /** A node just won an election; its first Ready as leader is not sent yet. */
  onBecameLeader(node: SimNode): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encodeValue = (v: number): Uint8Array => encoder.encode(String(v));

/** One simulated server. */
export class SimNode extends NodeProcess {
  /** Running hash of the applied sequence, and the last applied index. */
  private chain = 0;
  private applied = 0;
  /** The commit index written before the current Ready. */
  private commitBefore = 0;
  private wasLeader = false;

  constructor(id: NodeId, bootstrap: ConfState | null, private readonly simWorld: NodeWorld) {
    super(id, bootstrap, simWorld, () => ({
      tuning: { ...simWorld.tuning(), maxPendingReads: MAX_PENDING_CLIENT_READS, maxPendingProposals: MAX_PENDING_CLIENT_WRITES },
      mutants: simWorld.nodeMutants,
      observer: {
        onReady: () => {
          this.commitBefore = this.storage.written.hardState.commit;
        },
        onRoleChange: (role) => this.onRole(role),
        onEntryApplied: (e) => this.onApplied(e),
        onSnapshotInstalled: (snapshot) => this.onSnapshot(snapshot),
      },
    }));
  }


  /** Index of the last entry this life applied (or restored). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** Starts (or restarts) the process from durable storage. */
  start(): void {
    if (this.core !== null || this.decommissioned) return;
    const durable = this.storage.durable;
    this.simWorld.checker.onRestart(this.id, durable.hardState);
    this.wasLeader = false;
    const snap = durable.snapshot;
    this.applied = snap?.meta.index ?? 0;
    this.chain = snap === null ? 0 : this.chainAt(snap);
    if (snap !== null) this.simWorld.checker.onSnapshotRestored(this.id, snap.meta.index, snap.meta.term, this.chain);
    // The core starts applying at once: the chain above must be reported before.
    const lost = this.startProcess();
    if (lost !== null) this.simWorld.checker.report("core-invariant", `node ${this.id} cannot restart: ${lost}`);
  }

  /** Power loss: the process dies and the disk keeps only what was synced (plus a torn tail). */
  crash(): string {
    if (this.core === null) return "already down";
    const unsynced = this.storage.dirty;
    this.crashProcess();
    return unsynced ? "lost unsynced records" : "nothing unsynced";
  }


  /** SIGTERM: the core answers what waits (writes in flight: unknown_outcome), queued writes finish, the process exits. */
  stop(): string {
    if (this.core === null) return "already down";
    this.stopProcess();
    return "stopped";
  }

  /** A client request arrives. */
  request(req: ClientRequest): void {
    this.input(() => this.handleRequest(req));
  }

  private handleRequest(req: ClientRequest): void {
    const core = this.core;
    if (core === null) return;
    const input = req.input;
    if (input.kind === "read") {
      core.readBarrier((err) => {
        if (err !== null) return this.refuse(req, err.code, err.leaderId ?? NO_NODE);
        if (this.core !== core) return;
        const kv = core.kv.get(input.key);
        const value: RegisterValue = kv === undefined ? null : Number(decoder.decode(kv.value));
        this.ok(req, { kind: "read", value }, 0, 0);
      });
      return;
    }
    const put = { type: "put", key: input.key, value: encodeValue(input.value) } as const;
    let cmd: Command = put;
    if (input.kind === "cas") {
      const compare: Compare = input.expected === null
        ? { key: input.key, target: "version", op: "=", value: 0 }
        : { key: input.key, target: "value", op: "=", value: encodeValue(input.expected) };
      cmd = { type: "txn", compares: [compare], success: [put], failure: [] };
    }
    core.propose(cmd, (outcome, index, term) => {
      if (outcome.ok) {
        const r = outcome.result;
        const output = input.kind === "cas" ? { kind: "cas" as const, ok: r.ok && r.type === "txn" && r.succeeded } : { kind: "write" as const };
        this.ok(req, output, index, term);
      } else if (isRetryable(outcome.code)) {
        this.refuse(req, outcome.code, outcome.leaderId ?? NO_NODE);
      } else {
        this.simWorld.reply({ kind: "unknown", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, code: outcome.code });
      }
    });
  }

  private ok(req: ClientRequest, output: Extract<ClientReply, { kind: "ok" }>["output"], index: number, term: number): void {
    this.simWorld.reply({ kind: "ok", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, output, index, term });
  }

  private refuse(req: ClientRequest, code: string, leaderHint: NodeId): void {
    this.simWorld.reply({ kind: "refused", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, code, leaderHint });
  }

  // ---------------------------------------------------------------- reports to the checkers

  private onRole(role: string): void {
    const core = this.core;
    const isLeader = role === "leader";
    if (core !== null && this.simWorld.tracing) this.simWorld.trace(`n${this.id} is ${role} (leader ${core.leaderId})`);
    if (isLeader && !this.wasLeader && core !== null) {
      this.simWorld.checker.onLeader(this.id, core.status().term, this.storage.written);
      this.simWorld.onBecameLeader(this);
    }
    this.wasLeader = isLeader;
  }

  protected override onWritten(records: readonly WalRecord[]): void {
    const checker = this.simWorld.checker;
    const written = this.storage.written;
    for (const r of records) {
      if (r.kind === "entries") checker.onEntriesWritten(this.id, r.entries, written);
      else if (r.kind === "hardState") {
        checker.onHardState(this.id, r.hardState);
        if (r.hardState.commit > this.commitBefore) checker.onCommit(this.id, r.hardState.term, this.commitBefore, r.hardState.commit, written);
      }
    }


    if (this.role === "leader") checker.onLeaderLog(this.id, written.hardState.commit, written);
  }

  protected override onSynced(): void {
    this.simWorld.checker.onDurableHardState(this.id, this.storage.durable.hardState);
  }



  protected override emit(m: Message): void {
    this.simWorld.checker.onSend(m.from, m.to, m.type, m.term, "reject" in m ? m.reject : false);
    this.simWorld.send(m);
  }

  private onApplied(e: Entry): void {
    this.chain = chainHash(this.chain, e);
    this.applied = e.index;
    const world = this.simWorld;
    world.checker.onApplied(this.id, e.index, e.term, this.chain);
    if (e.type === "config") {
      const conf = this.core?.status().confState ?? { voters: [], learners: [] };
      world.onConfApplied(this.id, decodeConfChange(e.data), conf);
      return;
    }
    if (e.data.length === 0) return;
    world.onCommandApplied(e.data);
  }

  private onSnapshot(snapshot: Snapshot): void {
    this.applied = snapshot.meta.index;
    this.chain = this.chainAt(snapshot);
    this.simWorld.checker.onSnapshotRestored(this.id, snapshot.meta.index, snapshot.meta.term, this.chain);
    if (this.simWorld.tracing) this.simWorld.trace(`n${this.id} installs a snapshot at ${snapshot.meta.index}`);
  }

  /** The hash of the applied sequence up to a snapshot's index, as its maker (some node) applied it. */
  private chainAt(snapshot: Snapshot): number {
    const chain = this.simWorld.checker.chainAt(snapshot.meta.index);
    if (chain === undefined) this.simWorld.checker.report("state-machine-safety", `node ${this.id} holds a snapshot at ${snapshot.meta.index} that no node applied`);
    return chain;
  }
}
