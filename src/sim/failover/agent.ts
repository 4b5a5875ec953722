// A simulated failover agent, the instance of the service it runs, and the node's watchdog. The
// agent keeps its node lease alive through the store (grant, keep-alive every renew interval,
// a linearizable read of the active record each round) and decides with the REAL fencing logic
// (src/failover/fencing.ts) on its own drifting clock; it promotes its instance when the store names
// it the holder and demotes it (a stop taking up to the stop timeout) when told to fence. The
// watchdog is armed with the acting deadline and fires on the node's clock whether or not the
// agent runs: a paused agent (SIGSTOP of the agent alone) cannot keep its instance acting. A whole
// node frozen (agent, instance, watchdog) acts not at all while frozen; at SIGCONT the watchdog
// looks first, then the instance resumes (the kernel runs the watchdog's expired timer before the
// instance gets the CPU back: that is the order the real watchdog test checks).
import type { NodeId } from "../../raft/raft.js";
import { decideFencing, fencingDeadlines } from "../../failover/fencing.js";
import type { FencingDeadlines, FencingParams } from "../../failover/fencing.js";
import type { Rng } from "../rng.js";
import type { ActingChecker } from "./checkers.js";
import type { AgentOp, AgentReply, AgentRequest, HolderView } from "./protocol.js";

/** Deliberate bugs of failover, to prove the checkers can fail. */
export type FailoverMutant =
  | "no-self-fencing" | "fencing-deadline-after-lease-expiry" | "promotion-without-waiting-for-old-lease" | "token-does-not-grow"
  | "release-before-stop" | "fencing-ignores-clock-drift" | "no-watchdog";
/** Every failover mutant. */
export const FAILOVER_MUTANTS: readonly FailoverMutant[] = [
  "no-self-fencing", "fencing-deadline-after-lease-expiry", "promotion-without-waiting-for-old-lease", "token-does-not-grow", "release-before-stop",
  "fencing-ignores-clock-drift", "no-watchdog",
];

/** The agent's loop runs this often (local ms) besides reacting to every reply. */
const STEP_MS = 10;
/** Most replies a paused agent's socket buffers hold. */
const MAX_AGENT_INBOX = 256;
/** Requests older than this many renew intervals are forgotten (their replies ignored). */
const PENDING_TTL_RENEWS = 4;

/** A machine's clock: local time runs at `rate` of true (virtual) time. */
export interface MachineClock {
  readonly rate: number;
  readonly offsetUs: number;
}

/** Local milliseconds of `clock` at true time `trueUs`. */
export function localMs(clock: MachineClock, trueUs: number): number {
  return (clock.offsetUs + clock.rate * trueUs) / 1000;
}

/** What an agent needs from the simulation. */
export interface AgentWorld {
  readonly mutant: FailoverMutant | null;
  readonly fencing: FencingParams;
  readonly rng: Rng;
  readonly checker: ActingChecker;
  nowUs(): number;
  after(delayUs: number, fn: () => void): void;
  sendAgentRequest(from: NodeId, to: NodeId, req: AgentRequest): void;
  storeNodes(): readonly NodeId[];
  trace(line: string): void;
}

type InstanceState = "standby" | "active" | "stopping" | "dead";

/** The agent, instance and watchdog of one simulated machine. */
export class SimAgent {
  life = 0;
  up = false;
  /** SIGSTOP of the agent process alone. */
  paused = false;
  /** SIGSTOP of the whole machine (agent, instance, watchdog). */
  frozen = false;
  instance: InstanceState = "standby";
  private token = 0;
  /** The lease the acting instance's role hangs on. */
  private tokenLeaseId = 0;
  private leaseId: number | null = null;
  private grantSentMs: number | null = null;
  private putNodeSentMs: number | null = null;
  private lastSentMs: number | null = null;
  private lastAckedSendMs: number | null = null;
  private lastAckReceivedMs: number | null = null;
  private nodeKeyPut = false;
  private holder: HolderView | null = null;
  private holderRevision = -1;
  private target: NodeId;
  private answeredSinceRenew = true;
  private nextReqId = 1;
  private readonly pending = new Map<number, { readonly op: AgentOp; readonly sentMs: number }>();
  private readonly inbox: AgentReply[] = [];
  private watchdogAtMs: number | null = null;
  private stopDoneWhileFrozen = false;
  /** The token this agent is giving up in a planned switchover (it does not resume it). */
  private releasing: number | null = null;

  constructor(readonly id: NodeId, readonly clock: MachineClock, private readonly world: AgentWorld) {
    this.target = id;
  }

  /** Local time in milliseconds. */
  nowMs(): number {
    return localMs(this.clock, this.world.nowUs());
  }

  /** True time (µs) that `localDelayMs` of this machine's clock lasts. */
  private trueDelayUs(localDelayMs: number): number {
    return Math.max(1, Math.ceil((localDelayMs * 1000) / this.clock.rate));
  }

  /** The machine (re)starts: a fresh agent with no lease, its instance as a warm standby. */
  boot(): void {
    this.life++;
    this.up = true;
    this.paused = false;
    this.frozen = false;
    this.instance = "standby";
    this.leaseId = null;
    this.grantSentMs = null;
    this.putNodeSentMs = null;
    this.lastSentMs = null;
    this.lastAckedSendMs = null;
    this.lastAckReceivedMs = null;
    this.nodeKeyPut = false;
    this.holder = null;
    this.holderRevision = -1;
    this.target = this.id;
    this.pending.clear();
    this.inbox.length = 0;
    this.watchdogAtMs = null;
    this.stopDoneWhileFrozen = false;
    this.releasing = null;
    this.loop(this.life);
  }

  /** The machine dies (power loss, kill -9 of everything): its instance stops acting at once. */
  die(): void {
    if (!this.up) return;
    this.world.checker.stop(this.id);
    this.up = false;
    this.life++;
    this.instance = "standby";
  }

  /** SIGSTOP / SIGCONT of the agent process alone. */
  pauseAgent(): void {
    if (this.up) this.paused = true;
  }

  resumeAgent(): void {
    if (!this.up || !this.paused) return;
    this.paused = false;
    if (!this.frozen) this.drainInbox();
  }

  /** SIGSTOP of the whole machine: a frozen instance does not act. */
  freeze(): void {
    if (!this.up || this.frozen) return;
    this.frozen = true;
    this.world.checker.stop(this.id);
  }

  /** SIGCONT of the whole machine: the watchdog first, then the instance, then the agent. */
  thaw(): void {
    if (!this.up || !this.frozen) return;
    this.frozen = false;
    this.watchdogCheck();
    if (this.stopDoneWhileFrozen) {
      this.stopDoneWhileFrozen = false;
      if (this.instance === "stopping") this.instance = "standby";
    }
    if (this.instance === "active" || this.instance === "stopping") this.world.checker.start(this.id, this.token, this.tokenLeaseId);
    if (!this.paused) this.drainInbox();
  }

  /** A store node's answer arrives. */
  onReply(reply: AgentReply): void {
    if (!this.up) return;
    if (this.paused || this.frozen) {
      if (this.inbox.length < MAX_AGENT_INBOX) this.inbox.push(reply);
      return;
    }
    this.handleReply(reply);
    this.step();
  }

  /**
   * The operator asks for a planned switchover: demote, and release the record only once the
   * instance has stopped acting (the mutant releases at once). Returns false when not acting.
   */
  requestRelease(): boolean {
    if (!this.up || this.paused || this.frozen || this.instance !== "active") return false;
    this.releasing = this.token;
    this.demote("planned switchover");
    if (this.world.mutant === "release-before-stop") this.send({ kind: "release", token: this.token });
    return true;
  }

  /** A watch event: the active record changed; read it now (a paused agent reads at its next round). */
  onActiveChanged(): void {
    if (!this.up || this.paused || this.frozen || this.leaseId === null) return;
    this.send({ kind: "readActive" });
  }

  private drainInbox(): void {
    for (const r of this.inbox.splice(0)) this.handleReply(r);
    this.step();
  }

  private loop(life: number): void {
    this.world.after(this.trueDelayUs(STEP_MS), () => {
      if (this.life !== life || !this.up) return;
      if (!this.paused && !this.frozen) this.step();
      this.loop(life);
    });
  }

  /** The deadlines of the latest acknowledged keep-alive (a mutant takes them from the reply, not the send). */
  private deadlines(): FencingDeadlines | null {
    const p = this.world.fencing;
    if (this.world.mutant === "fencing-deadline-after-lease-expiry") {
      if (this.lastAckReceivedMs === null) return null;
      return { fenceAtMs: this.lastAckReceivedMs + p.leaseTtlMs, actingEndsAtMs: this.lastAckReceivedMs + p.leaseTtlMs + p.stopTimeoutMs };
    }
    if (this.lastAckedSendMs === null) return null;
    // Mutant: the margin math without the clock-rate bound and the safety margin (E = TTL).
    if (this.world.mutant === "fencing-ignores-clock-drift") return fencingDeadlines(this.lastAckedSendMs, { ...p, clockRateErrorMax: 0, safetyMarginMs: 0 });
    return fencingDeadlines(this.lastAckedSendMs, p);
  }

  private step(): void {
    const now = this.nowMs();
    const p = this.world.fencing;
    if (this.instance === "dead") this.instance = "standby"; // the supervisor restarts it as a standby
    for (const [id, r] of this.pending) if (now - r.sentMs > PENDING_TTL_RENEWS * p.renewIntervalMs) this.pending.delete(id);
    if (this.leaseId === null) {
      if (this.instance === "active") this.demote("no node lease");
      if (this.grantSentMs === null || now - this.grantSentMs > 2 * p.renewIntervalMs) {
        this.grantSentMs = now;
        this.lastSentMs = now;
        this.send({ kind: "grant", ttlMs: p.leaseTtlMs });
      }
      return;
    }
    const leaseId = this.leaseId;
    if (!this.nodeKeyPut && (this.putNodeSentMs === null || now - this.putNodeSentMs > p.renewIntervalMs)) {
      this.putNodeSentMs = now;
      this.send({ kind: "putNode", leaseId });
    }
    const holder = this.holder;
    const isHolder = holder !== null && holder.node === this.id && holder.leaseId === leaseId;
    if (this.instance === "active" && holder !== null && !isHolder) this.demote(`the active record names n${holder.node}`);
    const deadlines = this.deadlines();
    // Mutant no-watchdog: the agent fences itself but nothing enforces its deadline when it hangs.
    if (deadlines !== null && this.world.mutant !== "no-self-fencing" && this.world.mutant !== "no-watchdog") this.armWatchdog(deadlines.actingEndsAtMs);
    const action = decideFencing({ nowMs: now, deadlines, lastSentMs: this.lastSentMs, acting: this.instance === "active", holder: isHolder }, p);
    switch (action.kind) {
      case "fence":
        if (this.world.mutant === "no-self-fencing" || this.instance !== "active") return;
        this.world.checker.tally.agentFences++;
        this.demote(action.reason);
        return;
      case "resume":
        if (this.instance !== "standby" || holder === null || holder.token === this.releasing) return;
        this.instance = "active";
        this.token = holder.token;
        this.tokenLeaseId = holder.leaseId;
        this.world.trace(`n${this.id} instance acts as active (token ${holder.token})`);
        this.world.checker.start(this.id, holder.token, holder.leaseId);
        return;
      case "renew":
        if (!this.answeredSinceRenew) this.rotateTarget(null);
        this.answeredSinceRenew = false;
        this.lastSentMs = now;
        this.send({ kind: "keepAlive", leaseId });
        this.send({ kind: "readActive" });
        if (this.releasing !== null && this.instance === "standby" && holder?.token === this.releasing) this.send({ kind: "release", token: this.releasing });
        return;
      case "wait":
        return;
    }
  }

  /** Demote: the instance stops acting once its stop completes (at most the stop timeout). */
  private demote(reason: string): void {
    if (this.instance !== "active") return;
    this.instance = "stopping";
    this.world.checker.tally.demotions++;
    const stopMs = this.world.fencing.stopTimeoutMs * (0.2 + 0.8 * this.world.rng.float());
    this.world.trace(`n${this.id} demotes its instance (${reason}); it stops within ${stopMs.toFixed(1)}ms`);
    const life = this.life;
    this.world.after(this.trueDelayUs(stopMs), () => {
      if (this.life !== life || this.instance !== "stopping") return;
      if (this.frozen) {
        this.stopDoneWhileFrozen = true;
        return;
      }
      this.instance = "standby";
      this.world.checker.stop(this.id);
      if (this.releasing !== null && this.world.mutant !== "release-before-stop") this.send({ kind: "release", token: this.releasing });
    });
  }

  /** Feeds the watchdog: it fires at `deadlineMs` on this machine's clock unless fed a later one. */
  private armWatchdog(deadlineMs: number): void {
    if (this.watchdogAtMs === deadlineMs) return;
    this.watchdogAtMs = deadlineMs;
    const life = this.life;
    this.world.after(this.trueDelayUs(Math.max(0, deadlineMs - this.nowMs())), () => {
      if (this.life === life && this.watchdogAtMs === deadlineMs && !this.frozen) this.watchdogCheck();
    });
  }

  /** The watchdog SIGKILLs an instance still acting past its deadline. */
  private watchdogCheck(): void {
    if (this.watchdogAtMs === null || this.nowMs() < this.watchdogAtMs) return;
    if (this.instance !== "active" && this.instance !== "stopping") return;
    this.world.trace(`n${this.id} watchdog: deadline passed unfed, SIGKILL of the instance`);
    this.world.checker.tally.watchdogKills++;
    this.instance = "dead";
    this.world.checker.stop(this.id);
  }

  private send(op: AgentOp): void {
    const reqId = this.nextReqId++;
    this.pending.set(reqId, { op, sentMs: this.nowMs() });
    this.world.sendAgentRequest(this.id, this.target, { agent: this.id, incarnation: this.life, reqId, op });
  }

  private rotateTarget(hint: NodeId | null): void {
    const ids = this.world.storeNodes();
    if (hint !== null && ids.includes(hint)) {
      this.target = hint;
      return;
    }
    const i = ids.indexOf(this.target);
    this.target = ids[(i + 1) % ids.length] as NodeId;
  }

  private handleReply(r: AgentReply): void {
    const req = this.pending.get(r.reqId);
    if (req === undefined) return;
    this.pending.delete(r.reqId);
    this.answeredSinceRenew = true;
    const op = req.op;
    if (!r.ok) {
      if (r.code === "lease_not_found" && (op.kind === "keepAlive" || op.kind === "putNode") && op.leaseId === this.leaseId) return this.lostLease();
      if (op.kind === "grant") this.grantSentMs = null;
      if (op.kind === "putNode") this.putNodeSentMs = null;
      this.rotateTarget(r.leaderHint === 0 ? null : r.leaderHint);
      return;
    }
    switch (r.kind) {
      case "grant":
        if (this.leaseId !== null) return; // a duplicate grant: that lease runs out unused
        this.leaseId = r.leaseId;
        this.grantSentMs = null;
        this.lastAckedSendMs = req.sentMs;
        this.lastAckReceivedMs = this.nowMs();
        this.nodeKeyPut = false;
        return;
      case "keepAlive":
        if (op.kind !== "keepAlive" || op.leaseId !== this.leaseId) return;
        this.lastAckedSendMs = Math.max(this.lastAckedSendMs ?? -Infinity, req.sentMs);
        this.lastAckReceivedMs = this.nowMs();
        return;
      case "putNode":
        if (op.kind === "putNode" && op.leaseId === this.leaseId) this.nodeKeyPut = true;
        return;
      case "release":
        return; // the next read of the record shows the outcome
      case "readActive":
        if (r.revision < this.holderRevision) return;
        this.holderRevision = r.revision;
        this.holder = r.holder;
        if (r.holder?.token !== this.releasing) this.releasing = null;
        return;
    }
  }

  /** The store says the lease is gone: its keys (the active record too) are gone with it. */
  private lostLease(): void {
    this.world.trace(`n${this.id} lost its node lease ${this.leaseId}`);
    this.leaseId = null;
    this.lastAckedSendMs = null;
    this.lastAckReceivedMs = null;
    this.holder = null;
    this.nodeKeyPut = false;
    this.demote("the node lease is gone");
  }
}
