// The agent's side of one active-standby service at runtime: it turns the node lease's
// keep-alives and the active record as read from the store into promote/demote calls on the local
// instance, with the pure fencing decisions (../fencing.ts) on the machine's monotonic clock, and
// keeps the fencing watchdog (../watchdog/) armed with the acting deadline of the active instance.
// Renewing the lease is not its job: the node's lease keeper does that and reports each
// acknowledged keep-alive with its SEND time. Nothing here waits on the store: a timer at the
// fence point demotes even when no reply ever comes, and the watchdog kills even when this event
// loop is stuck.
import type { Logger } from "pino";
import { decideFencing, fencingDeadlines } from "../fencing.js";
import type { FencingDeadlines, FencingParams } from "../fencing.js";
import { activeStatus } from "../role.js";
import type { ActiveStatus } from "../role.js";
import { monotonicNowNs } from "../watchdog/fencing-watchdog.js";
import type { FencingWatchdog } from "../watchdog/fencing-watchdog.js";

/** Why an active is demoted, as a metric label: a planned switchover, its node lease gone, another node named active, or self-fencing (keep-alives unanswered). */
export type DemoteCause = "planned" | "lease_lost" | "superseded" | "self_fenced";

/** The local instance of the service, as the supervisor runs it. */
export interface GuardedInstance {
  /** Start acting as active with `token` (promote hook, role environment). */
  promote(token: number): void;
  /** Stop acting (demote hook, stop signal, SIGKILL at the stop timeout); then call instanceStopped(). */
  demote(reason: string, cause: DemoteCause): void;
  /** The instance's process group, for the watchdog; null when it is not running. */
  processGroup(): number | null;
}

/** The holder named by the active record (active-record.ts's ActiveHolder, flattened). */
export interface SeenHolder {
  readonly node: number;
  readonly leaseId: number;
  readonly token: number;
}

/** How a guard is built. */
export interface ActiveGuardOptions {
  readonly nodeId: number;
  readonly params: FencingParams;
  readonly instance: GuardedInstance;
  /** Null only in tests that check the agent's own fencing. */
  readonly watchdog: FencingWatchdog | null;
  readonly logger: Logger;
  /**
   * Called at the end of every evaluation with this node's view of the role: a virtual IP
   * (src/vip/) follows it, released at the same fencing point at which the instance is demoted.
   */
  readonly observer?: (view: ActiveGuardView) => void;
}

/** What an observer is told after each evaluation. */
export interface ActiveGuardView {
  /** The record names this node on its current lease (and no switchover withholds it). */
  readonly isHolder: boolean;
  /** Fencing deadlines of the last acknowledged keep-alive; null with no lease. */
  readonly deadlines: FencingDeadlines | null;
}

/** The machine's monotonic clock in milliseconds (the time base of keep-alive send stamps). */
export function monotonicNowMs(): number {
  return Number(monotonicNowNs()) / 1e6;
}

/** Fencing for one service on this node. */
export class ActiveGuard {
  private leaseId: number | null = null;
  private lastAckedSendMs: number | null = null;
  private holder: SeenHolder | null = null;
  private state: "standby" | "active" | "stopping" = "standby";
  private token: number | null = null;
  private armedGroup: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private withheld = false;

  constructor(private readonly o: ActiveGuardOptions) {}

  /** The node lease was granted; `sentMs` is when the grant was sent (monotonicNowMs()). */
  leaseGranted(leaseId: number, sentMs: number): void {
    this.leaseId = leaseId;
    this.lastAckedSendMs = sentMs;
    this.evaluate();
  }

  /** A keep-alive of the current lease sent at `sentMs` was acknowledged. */
  keepAliveAcked(sentMs: number): void {
    if (this.leaseId === null) return;
    this.lastAckedSendMs = Math.max(this.lastAckedSendMs ?? -Infinity, sentMs);
    this.evaluate();
  }

  /** The store says the lease is gone (lease_not_found): so is the active record on it. */
  leaseLost(): void {
    this.leaseId = null;
    this.lastAckedSendMs = null;
    this.evaluate();
  }

  /** The active record as last read (linearizable range or watch); null when absent. */
  recordSeen(holder: SeenHolder | null): void {
    this.holder = holder;
    this.evaluate();
  }

  /**
   * A planned switchover: while withheld the guard treats this node as not the holder — it demotes
   * an active instance and never promotes — until the record is released and seen again.
   */
  withhold(on: boolean): void {
    this.withheld = on;
    this.evaluate();
  }

  /** The token the local instance acts with (null while standby). */
  actingToken(): number | null {
    return this.token;
  }

  /** The instance stopped acting (after a demote, or it died or was killed). */
  instanceStopped(): void {
    this.state = "standby";
    this.token = null;
    if (this.armedGroup !== null) this.o.watchdog?.disarm(this.armedGroup);
    this.armedGroup = null;
    this.evaluate();
  }

  /** The "am I still the active?" answer for the local endpoint. */
  status(): ActiveStatus {
    return activeStatus(monotonicNowMs(), this.state === "active", this.token, this.deadlines());
  }

  /** Stops the timer (the watchdog stays armed: the caller demotes first). */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private deadlines(): FencingDeadlines | null {
    return this.lastAckedSendMs === null ? null : fencingDeadlines(this.lastAckedSendMs, this.o.params);
  }

  private evaluate(): void {
    if (this.closed) return;
    const nowMs = monotonicNowMs();
    const deadlines = this.deadlines();
    const h = this.holder;
    const isHolder = !this.withheld && h !== null && this.leaseId !== null && h.node === this.o.nodeId && h.leaseId === this.leaseId;
    if (this.state === "active" && this.withheld) this.demote("planned switchover", "planned");
    else if (this.state === "active" && this.leaseId === null) this.demote("the node lease is gone", "lease_lost");
    else if (this.state === "active" && h !== null && !isHolder) this.demote(`the active record names node ${h.node}`, "superseded");
    // Renewing is the lease keeper's: "now" as the last send keeps decideFencing from asking for it.
    const action = decideFencing({ nowMs, deadlines, lastSentMs: nowMs, acting: this.state === "active", holder: isHolder }, this.o.params);
    if (action.kind === "fence") this.demote(action.reason, "self_fenced");
    else if (action.kind === "resume" && this.state === "standby" && h !== null) {
      this.state = "active";
      this.token = h.token;
      this.o.logger.info({ token: h.token }, "promoting the local instance to active");
      this.o.instance.promote(h.token);
    }
    this.feedWatchdog(deadlines);
    this.scheduleFence(deadlines, nowMs);
    this.o.observer?.({ isHolder, deadlines });
  }

  private demote(reason: string, cause: DemoteCause): void {
    if (this.state !== "active") return;
    this.state = "stopping";
    this.o.logger.warn({ reason, cause, token: this.token }, "demoting the local instance");
    this.o.instance.demote(reason, cause);
  }

  /** Arms (or feeds) the watchdog with the acting deadline while the instance may act. */
  private feedWatchdog(deadlines: FencingDeadlines | null): void {
    const watchdog = this.o.watchdog;
    if (watchdog === null || deadlines === null || this.state === "standby") return;
    const group = this.o.instance.processGroup();
    if (group === null) return;
    if (this.armedGroup !== null && this.armedGroup !== group) watchdog.disarm(this.armedGroup);
    this.armedGroup = group;
    watchdog.arm(group, BigInt(Math.round(deadlines.actingEndsAtMs * 1e6)));
  }

  /** Wakes up at the fence point while active: fencing must not wait for any reply. */
  private scheduleFence(deadlines: FencingDeadlines | null, nowMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.state !== "active" || deadlines === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.evaluate();
    }, Math.max(0, Math.ceil(deadlines.fenceAtMs - nowMs)));
  }
}
