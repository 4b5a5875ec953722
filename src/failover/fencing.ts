// The agent's side of failover: when must a node that holds the active role of a service stop
// acting, given only its own clock? The active role is a key attached to the node's lease; the
// leader removes it when the lease runs out on the LEADER's clock. The agent cannot see that clock,
// so it computes, from the time it SENT its last acknowledged keep-alive (the leader cannot have
// started the new TTL before that send), the latest local instant at which every one of its active
// instances must have stopped, with room for clock-rate differences and a safety margin. The
// argument is in docs/failover.md ("The margin").
//
// Pure: every time here is a reading of the agent's local monotonic clock in milliseconds.

/** Settings of self-fencing (all durations in milliseconds of a local clock). */
export interface FencingParams {
  /** TTL of the node lease, as granted by the store. */
  readonly leaseTtlMs: number;
  /**
   * The largest difference of clock RATE between any two machines of the cluster, as a fraction
   * (0.005 = 0.5 %: each clock runs at 1 ± ρ of true time). Quartz oscillators are specified at
   * tens of ppm; 0.5 % is two orders of magnitude above that, to cover VMs whose clocks are slewed.
   */
  readonly clockRateErrorMax: number;
  /** True time kept free between the end of acting and the earliest lease expiry (kill latency, scheduling). */
  readonly safetyMarginMs: number;
  /** How long an instance may take to stop once asked (demote hook + stop signal + SIGKILL after it). */
  readonly stopTimeoutMs: number;
  /** How often the agent sends a keep-alive. */
  readonly renewIntervalMs: number;
}

/** Defaults for a 2000 ms node lease (SERVICES-LAYOUT.md): keep-alive every TTL/4. */
export const DEFAULT_FENCING_PARAMS: FencingParams = {
  leaseTtlMs: 2000,
  clockRateErrorMax: 0.005,
  safetyMarginMs: 100,
  stopTimeoutMs: 500,
  renewIntervalMs: 500,
};

/** The two local instants derived from one keep-alive send. */
export interface FencingDeadlines {
  /** From here on the agent demotes and stops its active instances (it must have started by then). */
  readonly fenceAtMs: number;
  /** By here every active instance has stopped acting; the watchdog SIGKILLs what has not. */
  readonly actingEndsAtMs: number;
}

/**
 * The latest local time by which acting must have ended, after a keep-alive sent at local time
 * `sentAtMs`. True time until the leader can expire the lease: at least TTL/(1+ρ) after the send.
 * A local interval E lasts at most E/(1−ρ) of true time. So E/(1−ρ) + margin ≤ TTL/(1+ρ) gives
 * E = (TTL/(1+ρ) − margin)·(1−ρ). Fencing starts the stop timeout earlier.
 */
export function fencingDeadlines(sentAtMs: number, p: FencingParams): FencingDeadlines {
  const rho = p.clockRateErrorMax;
  const actingBudgetMs = (p.leaseTtlMs / (1 + rho) - p.safetyMarginMs) * (1 - rho);
  return { fenceAtMs: sentAtMs + actingBudgetMs - p.stopTimeoutMs, actingEndsAtMs: sentAtMs + actingBudgetMs };
}

/**
 * Why these settings cannot fence safely and usefully, or null. The fencing point must leave room
 * for at least two keep-alives to go unanswered, or every slow round trip would demote the active.
 */
export function checkFencingParams(p: FencingParams): string | null {
  const rho = p.clockRateErrorMax;
  if (!(rho >= 0 && rho < 0.1)) return `clockRateErrorMax ${rho} must be in [0, 0.1): clocks that differ by 10 % in rate are broken, not slow`;
  if (!(p.leaseTtlMs > 0 && p.renewIntervalMs > 0 && p.safetyMarginMs >= 0 && p.stopTimeoutMs >= 0)) {
    return "leaseTtlMs and renewIntervalMs must be positive, safetyMarginMs and stopTimeoutMs not negative";
  }
  const fenceAfterMs = fencingDeadlines(0, p).fenceAtMs;
  if (fenceAfterMs < 2 * p.renewIntervalMs) {
    return `Fencing would start ${fenceAfterMs.toFixed(0)} ms after a keep-alive, less than two renew intervals (${2 * p.renewIntervalMs} ms): raise leaseTtlMs or lower stopTimeoutMs, safetyMarginMs or renewIntervalMs`;
  }
  return null;
}

/** What the agent knows at one instant about its lease and its active instances. */
export interface FencingView {
  readonly nowMs: number;
  /**
   * fencingDeadlines() of the send time of the latest keep-alive (or grant) the store
   * ACKNOWLEDGED; null with no lease.
   */
  readonly deadlines: FencingDeadlines | null;
  /** Local send time of the latest keep-alive sent (acknowledged or not); null with none in flight. */
  readonly lastSentMs: number | null;
  /** An instance of this node acts as active (or is being promoted). */
  readonly acting: boolean;
  /** The store says this node holds the active role, on its current lease. */
  readonly holder: boolean;
}

/** One decision of the agent's fencing loop. */
export type FencingAction =
  /** Send a keep-alive now (no lease: grant one). */
  | { readonly kind: "renew" }
  /** Demote and stop every active instance now: the lease may run out at the leader soon. */
  | { readonly kind: "fence"; readonly reason: string }
  /** A fresh keep-alive moved the deadline ahead: the holder may act again (same lease, same token). */
  | { readonly kind: "resume" }
  /** Nothing to do until `untilMs`. */
  | { readonly kind: "wait"; readonly untilMs: number };

/**
 * Decides the next step of the fencing loop. Fencing comes first: it never waits for a renewal.
 * Resuming needs the deadline to be at least one renew interval ahead, so that a holder whose
 * renewals barely make it does not flap between acting and fenced.
 */
export function decideFencing(v: FencingView, p: FencingParams): FencingAction {
  const deadlines = v.deadlines;
  if (v.acting && (deadlines === null || v.nowMs >= deadlines.fenceAtMs)) {
    return { kind: "fence", reason: deadlines === null ? "no node lease" : `no keep-alive acknowledged in time (deadline ${deadlines.fenceAtMs.toFixed(0)} ms passed)` };
  }
  if (!v.acting && v.holder && deadlines !== null && v.nowMs + p.renewIntervalMs < deadlines.fenceAtMs) return { kind: "resume" };
  const renewAtMs = v.lastSentMs === null ? v.nowMs : v.lastSentMs + p.renewIntervalMs;
  if (v.nowMs >= renewAtMs) return { kind: "renew" };
  const untilMs = v.acting && deadlines !== null ? Math.min(renewAtMs, deadlines.fenceAtMs) : renewAtMs;
  return { kind: "wait", untilMs };
}
