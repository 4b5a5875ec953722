// One backend inside a pool: its endpoint, in-flight count and health state.
import type { Candidate } from "../balance/types.js";
import type { ActiveHealthState } from "../health/decideActive.js";
import type { OutlierState } from "../health/decideOutlier.js";
import type { BackendEndpoint } from "../types.js";

/** A running health check that can be stopped. */
export interface CheckHandle {
  stop(): void;
}

/** Mutable per-backend record; the pool is its only writer. */
export class Member implements Candidate {
  active = 0;
  draining = false;
  checker: CheckHandle | null = null;
  /** Bumped when the checker is replaced, so results of a stopped check are ignored. */
  checkEpoch = 0;

  constructor(
    public endpoint: BackendEndpoint,
    public activeHealth: ActiveHealthState,
    public outlier: OutlierState,
  ) {}

  get id(): string {
    return this.endpoint.id;
  }

  get weight(): number {
    return this.endpoint.weight;
  }

  /** Ejected by outlier detection right now. */
  get ejected(): boolean {
    return this.outlier.ejectedUntilMs !== null;
  }

  /** May receive new picks. */
  get eligible(): boolean {
    return !this.draining && this.activeHealth.status === "up" && this.outlier.ejectedUntilMs === null;
  }
}
