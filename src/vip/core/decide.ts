// When must this node hold the virtual IP, drop it, or announce it? The VIP follows the active role
// of a service (docs/failover.md): only the node the active record names, on its current lease,
// may hold it, and only until its fencing point — the same local instant at which ActiveGuard
// starts demoting the instance — so the address is gone from this host before the lease that
// grants it can expire at the leader and a successor can be chosen. Pure: times are readings of
// the agent's monotonic clock in milliseconds.

/** How a holder announces, and when it may (re)take the address. */
export interface VipParams {
  /** Gratuitous ARPs (unsolicited NAs) sent after each acquire or resume. */
  readonly announceRepeats: number;
  /**
   * Spacing of the announcements. Linux ignores an ARP update for an entry changed within
   * `locktime` (1 s by default), so repeats must span more than that to reach every neighbour.
   */
  readonly announceIntervalMs: number;
  /**
   * Taking the address needs the fencing point at least this far ahead (the keep-alive interval,
   * as ActiveGuard's resume does), so a holder whose renewals barely make it does not flap.
   */
  readonly acquireHeadroomMs: number;
}

export const DEFAULT_VIP_PARAMS: VipParams = { announceRepeats: 4, announceIntervalMs: 400, acquireHeadroomMs: 500 };

/** What the node knows at one instant. */
export interface VipView {
  readonly nowMs: number;
  /** The store names this node as the holder of the role, on its current lease. */
  readonly holder: boolean;
  /** The local instant at which acting must start to stop (fencingDeadlines().fenceAtMs); null with no lease. */
  readonly fenceAtMs: number | null;
  /** The address is on the interface (as far as this node's shell knows). */
  readonly held: boolean;
  /** Announcements still owed (set to announceRepeats on acquire and on resume/heal). */
  readonly announcesOwed: number;
  /** When the last announcement was sent; null if none since the last acquire. */
  readonly lastAnnounceMs: number | null;
}

/** One decision. */
export type VipAction =
  | { readonly kind: "acquire" }
  | { readonly kind: "release"; readonly reason: string }
  | { readonly kind: "announce" }
  /** Nothing to do before `untilMs` (null: until the view changes). */
  | { readonly kind: "hold"; readonly untilMs: number | null }
  | { readonly kind: "idle" };

/**
 * Releasing comes first and never waits for anything: at the fencing point, or as soon as the
 * store names another holder or the lease is gone. Acquiring needs headroom before the fencing
 * point. A holder then owes announcements, spaced announceIntervalMs apart.
 */
export function decideVip(v: VipView, p: VipParams): VipAction {
  if (v.held) {
    if (!v.holder) return { kind: "release", reason: "this node no longer holds the active role" };
    if (v.fenceAtMs === null) return { kind: "release", reason: "no node lease" };
    if (v.nowMs >= v.fenceAtMs) return { kind: "release", reason: `fencing point passed (${v.fenceAtMs.toFixed(0)} ms): no keep-alive acknowledged in time` };
    if (v.announcesOwed > 0) {
      const dueMs = v.lastAnnounceMs === null ? v.nowMs : v.lastAnnounceMs + p.announceIntervalMs;
      if (v.nowMs >= dueMs) return { kind: "announce" };
      return { kind: "hold", untilMs: Math.min(dueMs, v.fenceAtMs) };
    }
    return { kind: "hold", untilMs: v.fenceAtMs };
  }
  if (v.holder && v.fenceAtMs !== null && v.nowMs + p.acquireHeadroomMs < v.fenceAtMs) return { kind: "acquire" };
  return { kind: "idle" };
}
