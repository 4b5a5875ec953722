// The failover checkers, judged from the instances' own acting intervals on true virtual time (not
// from what the agents or the store believe): at no instant do two instances act as active; the
// fencing tokens of successive actives strictly grow; after the heal an active exists in time.

/** The failover checkers. */
export type FailoverCheckerName = "two-actives" | "token-order" | "liveness" | "core-invariant";

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
  /** Smallest time between one holder's end of acting and another's start (how close a handover came). */
  closestHandoverUs = Infinity;

  /** Reports a violation (never returns). */
  report(checker: FailoverCheckerName, message: string): never {
    throw new FailoverViolationFound({ checker, message, timeUs: this.now });
  }

  /** `node`'s instance starts acting as active with `token` (a resumption keeps its token). */
  start(node: number, token: number): void {
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
    const interval: ActingInterval = { node, token, startUs: this.now, endUs: null };
    this.intervals.push(interval);
    this.open.set(node, interval);
  }

  /** `node`'s instance stops acting (stopped, killed, frozen, or its machine died). */
  stop(node: number): void {
    const interval = this.open.get(node);
    if (interval === undefined) return;
    interval.endUs = this.now;
    this.open.delete(node);
  }

  /** True while some instance acts. */
  get anyActing(): boolean {
    return this.open.size > 0;
  }
}
