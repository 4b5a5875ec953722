// A simulated server process around the real node core (../node/node-core.ts), shared by both
// simulators: the same NodeCore as `phalanx agent`, given simulated effects — the storage model with
// simulated fsync and snapshot-write latency, the simulated network, virtual time, the schedule's
// seeded generator. The process can crash (the disk keeps what was synced plus a torn tail), stop
// gracefully (SIGTERM: the core answers what waits, queued writes finish), lose its disk (the next
// sync fails), and pause (SIGSTOP: input piles up in socket buffers, a finished write waits for
// SIGCONT, ticks are missed). The nemesis arms triggers here that strike around a Ready's write or
// sends, and plays the operator through it (campaign, leadership transfer, membership change).
import type { ConfChange, Message, NodeId, RaftStatus, Ready, RestoredState, Role, Term } from "../raft/raft.js";
import type { NodeEffects, NodeStorage, StorageDone } from "../node/effects.js";
import { NodeCore } from "../node/node-core.js";
import type { NodeCoreOptions } from "../node/node-core.js";
import type { Rng } from "./rng.js";
import { StorageModel } from "./storage-model.js";
import type { WalRecord } from "./storage-model.js";

/** Most inputs a paused node buffers (the kernel's socket buffers); later ones are dropped. */
export const MAX_PAUSED_INBOX = 2048;
/** A snapshot file takes this many fsyncs' time to write. */
const SNAPSHOT_WRITE_FSYNCS = 8;

/** A fault armed by the nemesis to strike around the write or the sending of the first Ready for which `when` holds. */
export interface ReadyTrigger {
  readonly why: string;
  /**
   * When to strike: "midWrite" right after the Ready's records are written and before they are
   * synced (a crash then may tear them); "beforeSend" before its messages leave (a crash loses
   * them, a cut blocks them); "afterSend" once they left.
   */
  readonly phase: "midWrite" | "beforeSend" | "afterSend";
  when(rd: Ready, node: NodeProcess): boolean;
  /** The fault: crash the node, cut its links... */
  fire(node: NodeProcess): void;
}

/** What a node process needs from the simulation around it. */
export interface ProcessWorld {
  readonly rng: Rng;
  send(msg: Message): void;
  nowUs(): number;
  /** Calls `fn` after `delayUs` unless the process died meanwhile. */
  later(node: NodeProcess, delayUs: number, fn: () => void): void;
  diskLatencyUs(node: NodeId): number;
  /** Election jitter for Raft. */
  raftRandomInt(n: number): number;
  trace(line: string): void;
}

/** How to build the core of one life of the process (everything but its effects). */
export type CoreSettings = Omit<NodeCoreOptions, "effects" | "restored" | "readTag" | "id">;

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** One simulated server process running a NodeCore. */
export class NodeProcess {
  readonly storage = new StorageModel();
  core: NodeCore | null = null;
  /** Bumped at every death so that timers of a previous life are ignored. */
  incarnation = 0;
  paused = false;
  /** The next sync of this disk fails (a dying disk). */
  diskFailing = false;
  /** Stopped for good after its removal from the cluster committed. */
  decommissioned = false;
  /** Targeted fault armed by the nemesis. */
  trigger: ReadyTrigger | null = null;
  /** The Ready being carried out (what triggers look at). */
  protected currentRd: Ready | null = null;
  private readonly inbox: (() => void)[] = [];
  /** Storage completions that arrived while paused: run first at resume. */
  private readonly completions: (() => void)[] = [];
  private readonly soonQueue: (() => void)[] = [];

  constructor(
    readonly id: NodeId,
    private readonly bootstrap: RestoredState["bootstrap"],
    protected readonly world: ProcessWorld,
    private readonly settings: () => CoreSettings,
  ) {}

  /** True when the process runs (possibly paused). */
  get up(): boolean {
    return this.core !== null;
  }

  /** The core's status, or null when down. */
  status(): RaftStatus | null {
    return this.core?.status() ?? null;
  }

  /** Role as the core sees it (follower when down). */
  get role(): Role {
    return this.core?.currentRole ?? "follower";
  }

  /** Leader as the core knows it (NO_NODE when none or down). */
  get leader(): NodeId {
    return this.core?.leaderId ?? (0 as NodeId);
  }

  /** Term as last written to the log. */
  get term(): Term {
    return this.storage.written.hardState.term;
  }

  /** Starts (or restarts) the process from durable storage; returns why it cannot, or null. */
  startProcess(): string | null {
    if (this.core !== null) return null;
    const lost = this.storage.lostEntries();
    if (lost !== null) return lost;
    const restored = this.storage.restore(this.bootstrap);
    this.paused = false;
    this.diskFailing = false;
    this.currentRd = null;
    const settings = this.settings();
    const observer = settings.observer ?? {};
    const core = new NodeCore({
      ...settings,
      observer: {
        ...observer,
        onReady: (rd) => {
          this.currentRd = rd;
          observer.onReady?.(rd);
        },
      },
      id: this.id, restored, readTag: `${this.id}:${this.incarnation}`, effects: this.effects(),
    });
    this.core = core;
    this.input(() => core.start());
    return null;
  }

  /** Power loss: the process dies and the disk keeps only what was synced (plus a torn tail). */
  crashProcess(): void {
    if (this.core === null) return;
    this.storage.crash(this.world.rng);
    this.die();
  }

  /** SIGTERM: the core stops (answering what waits), queued log writes finish, the process exits. */
  stopProcess(): void {
    const core = this.core;
    if (core === null) return;
    core.stop();
    this.storage.sync();
    this.die();
  }

  /** The operator makes this node campaign. */
  campaign(): void {
    const core = this.core;
    if (core !== null && !this.paused) this.input(() => core.campaign());
  }

  /** The operator asks this node to hand leadership to `to`; returns what it answered. */
  transferLeadership(to: NodeId): string {
    const core = this.core;
    if (core === null || this.paused) return "down";
    let answer = "ok";
    this.input(() => {
      answer = core.transferLeadership(to)?.code ?? "ok";
    });
    return answer;
  }

  /** The operator proposes a membership change here; returns "ok" when Raft took it, else the refusal. */
  proposeConfChange(change: ConfChange): string {
    const core = this.core;
    if (core === null || this.paused) return "down";
    let answer = "ok";
    this.input(() => {
      let sync = true;
      core.proposeConfChange(change, (o) => {
        if (sync && !o.ok) answer = o.code;
      });
      sync = false;
    });
    return answer;
  }

  /** One tick of the node's clock (lost while paused, as a stopped process misses its timer). */
  tick(): void {
    const core = this.core;
    if (core === null || this.paused) return;
    core.tick();
    this.drain();
  }

  /** A message from a peer arrives. */
  receive(msg: Message): void {
    const core = this.core;
    if (core !== null) this.input(() => core.step(msg));
  }

  /** Runs `fn` against the running core as one input of the process (held while paused). */
  input(fn: () => void): void {
    if (this.core === null) return;
    if (this.paused) {
      if (this.inbox.length < MAX_PAUSED_INBOX) this.inbox.push(fn);
      return;
    }
    fn();
    this.drain();
  }

  /** Stops processing (SIGSTOP). */
  pause(): void {
    if (this.core !== null) this.paused = true;
  }

  /** Resumes processing (SIGCONT): finished writes first, then what arrived meanwhile. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const fn of this.completions.splice(0)) {
      fn();
      this.drain();
    }
    for (const fn of this.inbox.splice(0)) this.input(fn);
    this.drain();
  }

  protected die(): void {
    this.core = null;
    this.trigger = null;
    this.currentRd = null;
    this.incarnation++;
    this.paused = false;
    this.inbox.length = 0;
    this.completions.length = 0;
    this.soonQueue.length = 0;
  }

  /** Runs what the core scheduled "soon", after the current input. */
  private drain(): void {
    while (this.soonQueue.length > 0 && !this.paused && this.core !== null) this.soonQueue.shift()!();
  }

  /** Completes a storage call in this life of the process (after resume when paused). */
  private complete(fn: () => void): void {
    if (this.paused) this.completions.push(fn);
    else {
      fn();
      this.drain();
    }
  }

  /** True while the life that began at `incarnation` lasts: a dead core's late calls are ignored. */
  private alive(incarnation: number): boolean {
    return this.incarnation === incarnation && this.core !== null;
  }

  private effects(): NodeEffects {
    const world = this.world;
    const life = this.incarnation;
    return {
      storage: this.simStorage(life),
      send: (messages) => {
        if (this.alive(life) && messages.length > 0) this.sendMessages(messages);
      },
      nowMs: () => world.nowUs() / 1000,
      soon: (fn) => this.soonQueue.push(fn),
      randomInt: (n) => world.raftRandomInt(n),
      logger: silentLogger,
      onFatal: (err) => {
        throw err; // The schedule ends with a core-invariant violation.
      },
    };
  }

  /** The core's storage over the storage model, with simulated fsync latency. */
  private simStorage(life: number): NodeStorage {
    const storage = this.storage;
    return {
      save: (batch, done) => {
        if (!this.alive(life)) return;
        const records: WalRecord[] = [];
        if (batch.snapshot !== null) records.push({ kind: "snapshot", snapshot: batch.snapshot });
        if (batch.entries.length > 0) records.push({ kind: "entries", entries: batch.entries });
        if (batch.hardState !== null) records.push({ kind: "hardState", hardState: batch.hardState });
        storage.write(records);
        this.onWritten(records);
        this.strikeMidWrite(batch.mustSync);
        if (!this.alive(life)) return; // a fault struck mid-write
        if (!batch.mustSync) return done(null);
        this.world.later(this, this.world.diskLatencyUs(this.id), () => {
          if (this.diskFailing) return this.complete(() => done(new Error("simulated disk failure: fsync returned EIO")));
          storage.sync();
          this.onSynced();
          this.complete(() => done(null));
        });
      },
      saveSnapshot: (snapshot, done: StorageDone) => {
        if (!this.alive(life)) return;
        this.world.later(this, this.world.diskLatencyUs(this.id) * SNAPSHOT_WRITE_FSYNCS, () => {
          if (this.diskFailing) return this.complete(() => done(new Error("simulated disk failure: snapshot fsync returned EIO")));
          storage.compact(snapshot);
          this.complete(() => done(null));
        });
      },
      compact: (index, done) => {
        if (!this.alive(life)) return;
        storage.compactLog(index);
        done(null);
      },
    };
  }

  /** Hands a batch of the core's messages to the network; an armed trigger may strike around it. */
  private sendMessages(messages: readonly Message[]): void {
    const trigger = this.trigger;
    const rd = this.currentRd;
    const strike = trigger !== null && rd !== null && trigger.phase !== "midWrite" && trigger.when(rd, this);
    if (strike) {
      this.trigger = null;
      this.world.trace(`n${this.id} trigger strikes ${trigger.phase === "beforeSend" ? "before" : "after"} sending: ${trigger.why}`);
      if (trigger.phase === "beforeSend") trigger.fire(this);
    }
    if (this.core === null) return;
    for (const m of messages) this.emit(m);
    if (strike && trigger.phase === "afterSend") trigger.fire(this);
  }

  private strikeMidWrite(mustSync: boolean): void {
    const trigger = this.trigger;
    const rd = this.currentRd;
    if (trigger === null || rd === null || trigger.phase !== "midWrite" || !mustSync || !trigger.when(rd, this)) return;
    this.trigger = null;
    this.world.trace(`n${this.id} trigger strikes before the write is synced: ${trigger.why}`);
    trigger.fire(this);
  }

  /** Sends one message to the network (the register shell reports it to its checkers first). */
  protected emit(m: Message): void {
    this.world.send(m);
  }

  /** A Ready's records were written, not yet synced (register checkers). */
  protected onWritten(_records: readonly WalRecord[]): void {}
  /** The disk synced (register checkers). */
  protected onSynced(): void {}
}
