// The simulated shell around one real Raft core: it carries out each Ready against the storage
// model (persist, then send, then apply, then advance), runs the register state machine, answers
// clients, takes snapshots and compacts, and can crash, restart and pause. It reports everything
// to the safety checkers. The "send-before-persist" mutant lives here: it sends a Ready's
// messages before its writes are durable, so a crash right after loses what peers were told.
// Pausing, the socket backlog and the write-then-fsync Ready pipeline are shell-process.ts's,
// shared with the KV simulator's shell.
import type { ConfChange, ConfState, Message, NodeId, Raft, RaftStatus, Ready, RestoredState, Term } from "../raft/raft.js";
import { NO_NODE } from "../raft/raft.js";
import type { SafetyChecker } from "./checkers.js";
import { KvMachine, encodeCommand } from "./kv-machine.js";
import type { CommandCache, KvCommand } from "./kv-machine.js";
import type { ClientReply, ClientRequest } from "./protocol.js";
import type { Rng } from "./rng.js";
import { ReadWaits } from "./read-waits.js";
import { ShellProcess } from "./shell-process.js";

/** Most client reads one node tracks while they wait for their read index. */
export const MAX_PENDING_CLIENT_READS = 256;

/** A fault armed to strike around the sending of the first Ready for which `when` holds. */
export interface ReadyTrigger {
  readonly why: string;
  /**
   * When to strike: "midWrite" right after the Ready's records are written and before they are
   * synced (a crash then may tear them); "beforeSend" before its messages leave (a crash loses
   * them, a cut blocks them); "afterSend" once they left.
   */
  readonly phase: "midWrite" | "beforeSend" | "afterSend";
  when(rd: Ready, node: SimNode): boolean;
  /** The fault: crash the node, cut its links... */
  fire(node: SimNode): void;
}

/** What the node shell needs from the simulation around it. */
export interface NodeWorld {
  readonly rng: Rng;
  readonly checker: SafetyChecker;
  readonly sendBeforePersist: boolean;
  readonly commands: CommandCache;
  nowUs(): number;
  send(msg: Message): void;
  reply(reply: ClientReply): void;
  /** Calls `fn` after `delayUs` if the node has not crashed meanwhile. */
  later(node: SimNode, delayUs: number, fn: () => void): void;
  diskLatencyUs(node: NodeId): number;
  tracing: boolean;
  trace(line: string): void;
  onConfApplied(node: NodeId, cc: ConfChange, conf: ConfState): void;
  /** A client command was applied (by any node). */
  onCommandApplied(cmd: KvCommand): void;
  /** A node just won an election; its first Ready as leader is not sent yet. */
  onBecameLeader(node: SimNode): void;
  createRaft(id: NodeId, restored: RestoredState): Raft;
}

/** One simulated server. */
export class SimNode extends ShellProcess<ClientRequest> {
  kv: KvMachine;
  /** Stopped for good after its removal from the cluster committed. */
  decommissioned = false;
  private readonly pendingWrites = new Map<string, ClientRequest>();
  private readonly pendingReads = new ReadWaits<ClientRequest>();
  private lastSnapshotIndex = 0;
  term: Term = 0;
  /** Targeted fault armed by the nemesis. */
  trigger: ReadyTrigger | null = null;


  constructor(
    id: NodeId,
    private readonly bootstrap: ConfState | null,
    private readonly world: NodeWorld,
    private readonly snapshotEveryEntries: number,
  ) {
    super(id);
    this.kv = new KvMachine(bootstrap ?? { voters: [], learners: [] }, world.commands);
  }

  /** The core's status, or null when down. */
  status(): RaftStatus | null {
    return this.raft?.status() ?? null;
  }

  /** Starts (or restarts) the process from durable storage. */
  start(): void {
    if (this.raft !== null || this.decommissioned) return;
    const restored = this.storage.restore(this.bootstrap);
    this.world.checker.onRestart(this.id, restored.hardState);
    this.raft = this.world.createRaft(this.id, restored);
    this.kv = new KvMachine(this.bootstrap ?? { voters: [], learners: [] }, this.world.commands);
    if (restored.snapshot !== null) {
      this.kv.restore(restored.snapshot);
      this.world.checker.onSnapshotRestored(this.id, this.kv.appliedIndex, this.kv.appliedTerm, this.kv.chain);
    }
    this.lastSnapshotIndex = this.kv.appliedIndex;
    this.paused = false;
    this.role = "follower";
    this.leader = NO_NODE;
    this.term = restored.hardState.term;
    this.pump();
  }

  /** Power loss: the process dies and the disk keeps only what was synced (plus a torn tail). */
  crash(): string {
    if (this.raft === null) return "already down";
    const loss = this.storage.crash(this.world.rng);
    this.resetProcess();
    this.pendingWrites.clear();
    this.pendingReads.clear();
    this.trigger = null;
    const torn = loss.tornEntriesKept === null ? "" : `, torn batch kept ${loss.tornEntriesKept} entries`;
    return `kept ${loss.keptRecords}/${loss.unsyncedRecords} unsynced records${torn}`;
  }

  /** One tick of the node's clock (lost while paused, as a stopped process misses its timer). */
  tick(): void {
    if (this.raft === null || this.paused) return;
    this.raft.tick();
    this.pump();
  }

  protected handleRequest(raft: Raft, req: ClientRequest): void {
    if (req.input.kind === "read") {
      if (this.pendingReads.size >= MAX_PENDING_CLIENT_READS) {
        this.refuse(req, "overloaded", NO_NODE);
        return;
      }
      const context = this.nextReadContext();
      const r = raft.readIndex(context);
      if (!r.ok) {
        this.refuse(req, r.code, r.code === "not_leader" ? r.leaderHint : NO_NODE);
        return;
      }
      this.pendingReads.add(context, req);
      return;
    }
    const r = raft.propose(encodeCommand({ clientId: req.clientId, opId: req.opId, input: req.input }));
    if (!r.ok) {
      this.refuse(req, r.code, r.code === "not_leader" ? r.leaderHint : NO_NODE);
      return;
    }
    this.pendingWrites.set(`${req.clientId}:${req.opId}`, req);
  }

  private refuse(req: ClientRequest, code: string, leaderHint: NodeId): void {
    this.world.reply({ kind: "refused", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id, code, leaderHint });
  }

  /** Carries out whatever the core has to do after an outside call (operator actions). */
  kick(): void {
    this.pump();
  }

  protected startReady(raft: Raft): void {
    const rd = raft.ready();
    const checker = this.world.checker;
    const previousCommit = this.storage.written.hardState.commit;
    this.writeReady(rd);
    if (rd.entries.length > 0) checker.onEntriesWritten(this.id, rd.entries, this.storage.written);
    if (rd.hardState !== null) {
      checker.onHardState(this.id, rd.hardState);
      this.term = rd.hardState.term;
      if (rd.hardState.commit > previousCommit) checker.onCommit(this.id, rd.hardState.term, previousCommit, rd.hardState.commit, this.storage.written);
    }
    if (rd.softState !== null) {
      const wasLeader = this.role === "leader";
      this.role = rd.softState.role;
      this.leader = rd.softState.leader;
      if (this.world.tracing) this.world.trace(`n${this.id} is ${this.role} of term ${this.term} (leader ${this.leader})`);
      if (this.role === "leader" && !wasLeader) {
        checker.onLeader(this.id, this.term, this.storage.written);
        this.world.onBecameLeader(this);
      }
    }
    if (this.role === "leader") checker.onLeaderLog(this.id, this.storage.written.hardState.commit, this.storage.written);
    const trigger = this.trigger;
    if (trigger !== null && trigger.phase === "midWrite" && rd.mustSync && trigger.when(rd, this)) {
      this.trigger = null;
      if (this.world.tracing) this.world.trace(`n${this.id} trigger strikes before the write is synced: ${trigger.why}`);
      trigger.fire(this);
      return;
    }
    if (this.world.sendBeforePersist && this.sendAll(rd)) return;
    this.syncReady(rd);
  }

  /** Sends a Ready's messages (an armed trigger may strike around it); true when the node crashed. */
  private sendAll(rd: Ready): boolean {
    const trigger = this.trigger;
    const strike = trigger !== null && trigger.phase !== "midWrite" && rd.messages.length > 0 && trigger.when(rd, this);
    if (strike) {
      this.trigger = null;
      if (this.world.tracing) this.world.trace(`n${this.id} trigger strikes ${trigger.phase === "beforeSend" ? "before" : "after"} sending: ${trigger.why}`);
      if (trigger.phase === "beforeSend") trigger.fire(this);
    }
    if (this.raft === null) return true;
    for (const m of rd.messages) {
      this.world.checker.onSend(m.from, m.to, m.type, m.term, "reject" in m ? m.reject : false);
      this.world.send(m);
    }
    if (strike && trigger.phase === "afterSend") trigger.fire(this);
    return this.raft === null;
  }

  protected afterSync(fn: () => void): void {
    this.world.later(this, this.world.diskLatencyUs(this.id), fn);
  }

  protected override onSynced(): void {
    this.world.checker.onDurableHardState(this.id, this.storage.durable.hardState);
  }

  protected continueReady(rd: Ready): void {
    const raft = this.raft;
    if (raft === null) return;
    if (!this.world.sendBeforePersist && this.sendAll(rd)) return;
    if (rd.snapshot !== null) {
      this.kv.restore(rd.snapshot);
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.world.checker.onSnapshotRestored(this.id, this.kv.appliedIndex, this.kv.appliedTerm, this.kv.chain);
    }
    for (const e of rd.committedEntries) this.applyEntry(e);
    this.pendingReads.onReadStates(rd.readStates);
    raft.advance(rd);
    this.inflight = null;
    this.serveReads();
    this.maybeSnapshot(raft);
    this.pump();
  }

  private applyEntry(e: Ready["committedEntries"][number]): void {
    const applied = this.kv.apply(e);
    this.world.checker.onApplied(this.id, e.index, e.term, this.kv.chain);
    if (applied.confChange !== null) this.world.onConfApplied(this.id, applied.confChange, this.kv.conf);
    const cmd = applied.command;
    if (cmd === null || applied.output === null) return;
    this.world.onCommandApplied(cmd);
    const key = `${cmd.clientId}:${cmd.opId}`;
    const req = this.pendingWrites.get(key);
    if (req === undefined) return;
    this.pendingWrites.delete(key);
    this.world.reply({
      kind: "ok", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id,
      output: applied.output, index: e.index, term: e.term,
    });
  }

  private serveReads(): void {
    for (const req of this.pendingReads.takeServable(this.kv.appliedIndex)) {
      if (req.input.kind !== "read") continue; // Only reads wait here.
      this.world.reply({
        kind: "ok", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: this.id,
        output: { kind: "read", value: this.kv.get(req.input.key) }, index: 0, term: 0,
      });
    }
  }

  private maybeSnapshot(raft: Raft): void {
    if (this.kv.appliedIndex - this.lastSnapshotIndex < this.snapshotEveryEntries) return;
    const snapshot = this.kv.snapshot();
    raft.compact(snapshot);
    this.storage.compact(snapshot);
    this.lastSnapshotIndex = snapshot.meta.index;
    if (this.world.tracing) this.world.trace(`n${this.id} snapshots and compacts up to ${snapshot.meta.index}`);
  }
}
