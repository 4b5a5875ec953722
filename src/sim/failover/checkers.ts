// The failover checkers, judged from the instances' own acting intervals on true virtual time (not
// from what the agents or the store believe): at no instant do two instances act as active; the
// no instance acts once the lease its role hangs on is removed; the fencing tokens of successive
// actives strictly grow; after the heal an active exists in time.

/** The failover checkers. */
export type FailoverCheckerName = "two-actives" | "acting-past-lease" | "token-order" | "liveness" | "core-invariant";

/** One broken property. */
export interface FailoverViolation {
  readonly checker: FailoverCheckerName;
  readonly message: string;
  readonly timeUs: number;
}

/** Thrown to end a schedule at its first violation. */
export class FailoverViolationFound extends Error {
  constructor(readonly violation: FailoverViolation) {
    super(`${violation.checker}: ${violation.message}`);
    this.name = "FailoverViolationFound";
  }
}

/** One stretch of time during which an instance acted as active. */
export interface ActingInterval {
  readonly node: number;
  readonly token: number;
  /** The node lease the active record was attached to when this interval began. */
  readonly leaseId: number;
  readonly startUs: number;
  endUs: number | null;
}

/** Keeps the acting intervals and checks each new one against the others. */
export class ActingChecker {
  now = 0;
  readonly intervals: ActingInterval[] = [];
  private readonly open = new Map<number, ActingInterval>();
  private highestToken = 0;
  /** How often each safety mechanism ended an acting interval (figures for the summary). */
  readonly tally = { agentFences: 0, watchdogKills: 0, demotions: 0 };
  /**
   * Time left on a lease on the current leader's lease clock (undefined when unknown or no leader):
   * set by the simulation, asked whenever an instance stops acting.
   */
  leaseRemainingMs: (leaseId: number) => number | undefined = () => undefined;
  /** Smallest time left on the leader's lease clock when an instance stopped acting. */
  closestLeaseMarginMs = Infinity;
  /** A fault that should move the active role struck the acting machine at this time (takeover figure). */
  private faultOnActive: { readonly node: number; readonly atUs: number; readonly wasLeader: boolean } | null = null;
  /** Time from a crash or freeze of the acting machine to the start of the next holder, µs. */
  readonly takeoversUs: number[] = [];
  /** The same, only where the struck machine was also the Raft leader. */
  readonly leaderTakeoversUs: number[] = [];

  /** The acting machine `node` just crashed or froze: the next holder's start measures the takeover. */
  faultStruckActive(node: number, wasLeader: boolean): void {
    this.faultOnActive = { node, atUs: this.now, wasLeader };
  }

  /** Smallest time between one holder's end of acting and another's start (how close a handover came). */
  closestHandoverUs = Infinity;

  /** Reports a violation (never returns). */
  report(checker: FailoverCheckerName, message: string): never {
    throw new FailoverViolationFound({ checker, message, timeUs: this.now });
  }

  /** `node`'s instance starts acting as active with `token` (a resumption keeps its token). */
  start(node: number, token: number, leaseId: number): void {
    if (this.open.has(node)) return;
    for (const other of this.open.values()) {
      this.report("two-actives", `n${node} starts acting (token ${token}) while n${other.node} acts since ${(other.startUs / 1000).toFixed(3)}ms (token ${other.token})`);
    }
    for (let i = this.intervals.length - 1; i >= 0; i--) {
      const prev = this.intervals[i] as ActingInterval;
      if (prev.node === node || prev.endUs === null) continue;
      this.closestHandoverUs = Math.min(this.closestHandoverUs, this.now - prev.endUs);
      break;
    }
    const last = this.intervals[this.intervals.length - 1];
    const resumption = last !== undefined && last.node === node && last.token === token;
    if (!resumption && token <= this.highestToken) {
      this.report("token-order", `n${node} acts with token ${token}, not above the highest earlier token ${this.highestToken}`);
    }
    this.highestToken = Math.max(this.highestToken, token);
    // A takeover is the next start on another machine; the struck holder resuming cancels the measurement.
    if (this.faultOnActive !== null && this.faultOnActive.node !== node) {
      this.takeoversUs.push(this.now - this.faultOnActive.atUs);
      if (this.faultOnActive.wasLeader) this.leaderTakeoversUs.push(this.now - this.faultOnActive.atUs);
    }
    this.faultOnActive = null;
    const interval: ActingInterval = { node, token, leaseId, startUs: this.now, endUs: null };
    this.intervals.push(interval);
    this.open.set(node, interval);
  }

  /** `node`'s instance stops acting (stopped, killed, frozen, or its machine died). */
  stop(node: number): void {
    const interval = this.open.get(node);
    if (interval === undefined) return;
    interval.endUs = this.now;
    this.open.delete(node);
    const left = this.leaseRemainingMs(interval.leaseId);
    if (left === undefined) return;
    if (left <= 0) this.report("acting-past-lease", `n${node} stops acting (token ${interval.token}) only after the leader's deadline for its lease ${interval.leaseId} passed`);
    this.closestLeaseMarginMs = Math.min(this.closestLeaseMarginMs, left);
  }

  /**
   * A lease was removed (its expiry applied somewhere): an instance still acting under it has
   * outlived its lease. Stricter than two-actives, which needs a promotion to follow.
   */
  leaseRemoved(leaseId: number): void {
    for (const i of this.open.values()) {
      if (i.leaseId === leaseId) this.report("acting-past-lease", `n${i.node} still acts (token ${i.token}) when its lease ${leaseId} is removed`);
    }
  }

  /** True while `node`'s instance acts. */
  isActing(node: number): boolean {
    return this.open.has(node);
  }

  /** True while some instance acts. */
  get anyActing(): boolean {
    return this.open.size > 0;
  }
}
