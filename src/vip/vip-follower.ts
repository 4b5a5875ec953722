// Keeps the VIP in step with this node's view of the active role: the caller (the agent, next to
// its ActiveGuard) reports what the store says and the fencing point of its lease; the follower
// asks core/decide.ts what to do and does it through a VipOwner, with a timer for the fencing point
// and the spaced announcements — releasing never waits for any reply from the store. One operation
// runs at a time; a view that arrives meanwhile is decided on when it ends.
import type { Logger } from "pino";
import { decideVip } from "./core/decide.js";
import type { VipParams } from "./core/decide.js";
import type { VipOwner } from "./vip-owner.js";
import type { VipWatchdog } from "./vip-watchdog.js";

/** The role as this node sees it. */
export interface VipRoleView {
  /** The store names this node as the holder, on its current lease. */
  readonly holder: boolean;
  /** fencingDeadlines(...).fenceAtMs of the last acknowledged keep-alive; null with no lease. */
  readonly fenceAtMs: number | null;
  /**
   * fencingDeadlines(...).actingEndsAtMs: the watchdog removes the address by then if this process
   * cannot (killed, frozen). fenceAtMs when left out.
   */
  readonly actingEndsAtMs?: number | null;
}

export interface VipFollowerOptions {
  readonly owner: VipOwner;
  readonly params: VipParams;
  /** The monotonic clock the fencing deadlines are read on (ActiveGuard's monotonicNowMs). */
  readonly nowMs: () => number;
  readonly logger: Logger;
  /** Removes the address from a process of its own if this one stops feeding it; null in unit tests. */
  readonly watchdog?: VipWatchdog | null;
}

export class VipFollower {
  private role: VipRoleView = { holder: false, fenceAtMs: null };
  private held = false;
  private announcesOwed = 0;
  private lastAnnounceMs: number | null = null;
  private busy: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  /** Removals the watchdog reported; an acquire that saw one while in flight does not count as held. */
  private watchdogRemovals = 0;

  constructor(private readonly o: VipFollowerOptions) {
    // The watchdog removes the address on its own when a deadline passes unfed (a stalled agent,
    // a self-fence). If the role comes back on the same lease (same token), the follower must not
    // go on believing it holds an address the kernel no longer has: it would announce an address
    // nobody holds, and the VIP would stay down (seen with profile fast under load).
    o.watchdog?.onRemoved(() => {
      this.watchdogRemovals++;
      this.held = false;
      this.announcesOwed = 0;
      this.step();
    });
  }

  /** A new view of the role (record seen, keep-alive acknowledged, lease lost). */
  update(role: VipRoleView): void {
    this.role = role;
    if (this.held) this.feedWatchdog();
    this.step();
  }

  /** After a partition heals or the process resumes from a freeze: announce again if holding. */
  reannounce(): void {
    if (this.held) this.announcesOwed = this.o.params.announceRepeats;
    this.lastAnnounceMs = null;
    this.step();
  }

  /** Whether the follower believes it holds the address. */
  get holding(): boolean {
    return this.held;
  }

  /** Stops deciding and removes the address (await it before exiting). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // An acquire in flight would otherwise add the address after this release.
    await this.busy;
    await this.o.owner.release();
    this.held = false;
    this.o.watchdog?.disarm();
  }

  /** Arms the watchdog with the latest instant the address may stay (now, with no lease). */
  private feedWatchdog(): void {
    const watchdog = this.o.watchdog;
    if (watchdog === undefined || watchdog === null) return;
    const endsAtMs = this.role.actingEndsAtMs ?? this.role.fenceAtMs;
    const nowMs = this.o.nowMs();
    const inMs = endsAtMs === null ? 0 : Math.max(0, endsAtMs - nowMs);
    watchdog.arm(process.hrtime.bigint() + BigInt(Math.round(inMs * 1e6)));
  }

  private step(): void {
    if (this.closed || this.busy !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const nowMs = this.o.nowMs();
    const action = decideVip({ nowMs, ...this.role, held: this.held, announcesOwed: this.announcesOwed, lastAnnounceMs: this.lastAnnounceMs }, this.o.params);
    if (action.kind === "idle") return;
    if (action.kind === "hold") {
      if (action.untilMs !== null) this.timer = setTimeout(() => this.step(), Math.max(0, Math.ceil(action.untilMs - nowMs)));
      return;
    }
    this.busy = this.act(action).finally(() => {
      this.busy = null;
      this.step();
    });
  }

  private async act(action: { kind: "acquire" } | { kind: "release"; reason: string } | { kind: "announce" }): Promise<void> {
    const { owner, logger } = this.o;
    try {
      if (action.kind === "acquire") {
        // Armed before the address exists: dying between the two must not leave it unguarded.
        this.feedWatchdog();
        const removalsBefore = this.watchdogRemovals;
        await owner.acquire();
        // The watchdog fired meanwhile (its old deadline): the address may be gone again; decide anew.
        if (this.watchdogRemovals !== removalsBefore) return;
        this.held = true;
        this.announcesOwed = this.o.params.announceRepeats;
        this.lastAnnounceMs = null;
        logger.info({ vip: owner.vip.cidr }, "virtual IP acquired");
      } else if (action.kind === "release") {
        // Only a delete that succeeded clears `held`: a failed one is retried (see catch).
        await owner.release();
        this.held = false;
        this.o.watchdog?.disarm();
        this.announcesOwed = 0;
        logger.warn({ vip: owner.vip.cidr, reason: action.reason }, "virtual IP released");
      } else {
        const first = this.announcesOwed === this.o.params.announceRepeats;
        this.lastAnnounceMs = this.o.nowMs();
        this.announcesOwed--;
        await owner.announce();
        // The first one redirects the neighbours: a takeover's last step (bench:vip times it).
        if (first) logger.info({ vip: owner.vip.cidr }, "virtual IP announced");
      }
    } catch (err) {
      logger.error({ err, vip: owner.vip.cidr, action: action.kind }, "virtual IP operation failed");
      // A failed release must be retried: never report the address gone while it may be there.
      if (action.kind === "release") await new Promise((r) => setTimeout(r, 50));
    }
  }
}
