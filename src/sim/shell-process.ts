// The process half of a simulated node shell, shared by the register simulator's SimNode and the
// KV simulator's KvSimNode: a real Raft core on a simulated disk that can be paused (SIGSTOP: input
// piles up in socket buffers, a finished fsync waits for SIGCONT), and that carries out Readies one
// at a time, a write being synced before the next Ready is taken. What a node does with a Ready,
// with client requests and on crash is its own: the subclass fills those in.
import { NO_NODE } from "../raft/raft.js";
import type { Message, NodeId, Raft, Ready, Role } from "../raft/raft.js";
import { StorageModel } from "./storage-model.js";
import type { WalRecord } from "./storage-model.js";

/** Most messages a paused node buffers (the kernel's socket buffers); later ones are dropped. */
export const MAX_PAUSED_INBOX = 2048;

/** Input of a node: a peer's message or a client request of type `Req`. */
type Inbound<Req> = { readonly kind: "message"; readonly msg: Message } | { readonly kind: "request"; readonly req: Req };

/** A simulated server process whose clients send requests of type `Req`. */
export abstract class ShellProcess<Req> {
  readonly storage = new StorageModel();
  raft: Raft | null = null;
  /** Bumped at every crash so that timers of a previous life are ignored. */
  incarnation = 0;
  paused = false;
  role: Role = "follower";
  leader: NodeId = NO_NODE;
  /** A Ready is being persisted. */
  protected inflight: Ready | null = null;
  /** A Ready whose sync completed while the process was paused: carried on at resume. */
  private syncedWhilePaused: Ready | null = null;
  private readonly pausedInbox: Inbound<Req>[] = [];
  private readCounter = 0;

  constructor(readonly id: NodeId) {}

  /** True when the process runs (possibly paused). */
  get up(): boolean {
    return this.raft !== null;
  }

  /** A message from a peer arrives. */
  receive(msg: Message): void {
    this.inbound({ kind: "message", msg });
  }

  /** A client request arrives. */
  request(req: Req): void {
    this.inbound({ kind: "request", req });
  }

  /** Stops processing (SIGSTOP): input piles up in socket buffers. */
  pause(): void {
    if (this.raft !== null) this.paused = true;
  }

  /** Resumes processing (SIGCONT) and drains what arrived meanwhile. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const synced = this.syncedWhilePaused;
    this.syncedWhilePaused = null;
    if (synced !== null) this.continueReady(synced);
    const backlog = this.pausedInbox.splice(0);
    for (const item of backlog) this.inbound(item);
    this.pump();
  }

  /** Takes and carries out Readies until the core has nothing more or a write is being synced. */
  protected pump(): void {
    while (this.raft !== null && !this.paused && this.inflight === null && this.raft.hasReady()) {
      this.startReady(this.raft);
    }
  }

  /** Forgets the process state at a crash (the disk's fate is the subclass's, before this). */
  protected resetProcess(): void {
    this.raft = null;
    this.incarnation++;
    this.inflight = null;
    this.syncedWhilePaused = null;
    this.paused = false;
    this.pausedInbox.length = 0;
    this.role = "follower";
    this.leader = NO_NODE;
  }

  /** A read index context unique to this node across its lives. */
  protected nextReadContext(): string {
    return `${this.id}:${this.incarnation}:${++this.readCounter}`;
  }

  /** Writes a Ready's snapshot, entries and hard state to the disk, in that order (not yet synced). */
  protected writeReady(rd: Ready): void {
    const records: WalRecord[] = [];
    if (rd.snapshot !== null) records.push({ kind: "snapshot", snapshot: rd.snapshot });
    if (rd.entries.length > 0) records.push({ kind: "entries", entries: rd.entries });
    if (rd.hardState !== null) records.push({ kind: "hardState", hardState: rd.hardState });
    this.storage.write(records);
  }

  /** Waits for the simulated fsync when the Ready must be durable, then carries it on. */
  protected syncReady(rd: Ready): void {
    if (rd.mustSync) {
      this.inflight = rd;
      this.afterSync(() => this.finishReady(rd));
    } else {
      this.finishReady(rd);
    }
  }

  private finishReady(rd: Ready): void {
    if (this.raft === null) return;
    if (rd.mustSync) {
      this.storage.sync();
      this.onSynced();
    }
    if (this.paused) {
      // The disk finished, but the stopped process cannot carry on until it resumes.
      this.syncedWhilePaused = rd;
      return;
    }
    this.continueReady(rd);
  }

  private inbound(item: Inbound<Req>): void {
    const raft = this.raft;
    if (raft === null) return;
    if (this.paused) {
      if (this.pausedInbox.length < MAX_PAUSED_INBOX) this.pausedInbox.push(item);
      return;
    }
    if (item.kind === "message") raft.step(item.msg);
    else this.handleRequest(raft, item.req);
    this.pump();
  }

  /** Runs `fn` once one fsync of this node's disk is done, unless the node crashes first. */
  protected abstract afterSync(fn: () => void): void;
  /** The disk just synced a Ready's writes (for checkers). */
  protected onSynced(): void {}
  /** Takes the core's next Ready and starts carrying it out. */
  protected abstract startReady(raft: Raft): void;
  /** Carries out a Ready whose writes are durable: send, apply, advance. */
  protected abstract continueReady(rd: Ready): void;
  /** Serves one client request on a running, unpaused node. */
  protected abstract handleRequest(raft: Raft, req: Req): void;
}
