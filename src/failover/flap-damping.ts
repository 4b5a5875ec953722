// Flap damping: a service whose active keeps failing backs off instead of bouncing between nodes.
// Each promotion is remembered for a window; once a service has been promoted `threshold` times
// within it, the next promotion waits an exponentially growing pause (capped). The state is a
// value the leader keeps per service and shows in `phalanx service NAME` (`explainDamping`).
// Pure: times are the leader's clock in milliseconds.

/** Settings of flap damping. */
export interface FlapParams {
  /** Promotions are remembered this long. */
  readonly windowMs: number;
  /** Promotions within the window that are still free of any pause. */
  readonly threshold: number;
  /** Pause after the first promotion beyond the threshold; doubles with each further one. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

/** Defaults: three failovers in ten minutes are normal, the fourth waits 10 s, then 20 s, … up to 5 min. */
export const DEFAULT_FLAP_PARAMS: FlapParams = { windowMs: 600_000, threshold: 3, backoffBaseMs: 10_000, backoffMaxMs: 300_000 };

/** Bound on the promotions remembered per service (older ones are dropped). */
export const MAX_REMEMBERED_PROMOTIONS = 64;

/** The promotions of one service within the window, oldest first. */
export interface FlapState {
  readonly promotionsAtMs: readonly number[];
}

/** A service never promoted. */
export const NO_FLAPS: FlapState = { promotionsAtMs: [] };

/** The state after a promotion at `nowMs`. */
export function recordPromotion(state: FlapState, nowMs: number, p: FlapParams): FlapState {
  const kept = state.promotionsAtMs.filter((t) => t > nowMs - p.windowMs);
  kept.push(nowMs);
  return { promotionsAtMs: kept.slice(-MAX_REMEMBERED_PROMOTIONS) };
}

/** The earliest time the next promotion may happen (≤ nowMs when it may happen now). */
export function nextPromotionAllowedAtMs(state: FlapState, nowMs: number, p: FlapParams): number {
  const recent = state.promotionsAtMs.filter((t) => t > nowMs - p.windowMs);
  const beyond = recent.length - p.threshold;
  if (beyond < 0) return nowMs;
  const last = recent[recent.length - 1] as number;
  const pauseMs = Math.min(p.backoffMaxMs, p.backoffBaseMs * 2 ** Math.min(beyond, 30));
  return last + pauseMs;
}

/** One line for `phalanx service NAME`: why the service is (or is not) held back. */
export function explainDamping(state: FlapState, nowMs: number, p: FlapParams): string {
  const recent = state.promotionsAtMs.filter((t) => t > nowMs - p.windowMs).length;
  const at = nextPromotionAllowedAtMs(state, nowMs, p);
  if (at <= nowMs) return `${recent} promotion(s) in the last ${p.windowMs / 1000} s: not damped`;
  return `${recent} promotion(s) in the last ${p.windowMs / 1000} s (threshold ${p.threshold} reached): next promotion held back for ${Math.ceil((at - nowMs) / 1000)} s`;
}
