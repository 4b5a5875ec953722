// This node's side of the cluster VIP (cluster-vip.ts): an ActiveGuard over the role-only record
// /phalanx/active/@cluster-vip, with nothing to run, whose observer drives a ServiceVip — the same
// follower, owner and watchdog as a service's `vip:`. The FailoverAgent feeds it exactly as it feeds
// a service's guard (fencing-lease grants, acknowledged keep-alives, a lost lease, the record), so
// the address is added only with headroom on the fencing lease and removed at its fencing point.
// A drained holder, or the holder of a planned switchover to another node (`phalanx failover
// @cluster-vip --to N`), gives the role up: withhold (never act), remove the address and wait until
// it is gone, THEN release the record (a txn guarded by the token), so the leader's next holder
// cannot add the address while this host still has it.
import type { Logger } from "pino";
import type { VipConfig } from "../../config/vip.js";
import type { FencingParams } from "../../failover/fencing.js";
import { ActiveGuard, type SeenHolder } from "../../failover/runtime/active-guard.js";
import { parseVipAddress } from "../../vip/core/address.js";
import { VipOwner } from "../../vip/vip-owner.js";
import { ServiceVip } from "./service-vip.js";

/** A release that failed (no leader, say) is tried again this much later while the node stays drained. */
export const CLUSTER_VIP_RELEASE_RETRY_MS = 200;

export interface ClusterVipRoleOptions {
  readonly nodeId: number;
  readonly config: VipConfig;
  readonly params: FencingParams;
  readonly logger: Logger;
  /** Releases the record if it still has `token` (POST /v3/phalanx/agent/release); rejects when the store cannot be asked. */
  readonly release: (token: number) => Promise<void>;
}

export class ClusterVipRole {
  readonly guard: ActiveGuard;
  /** Null while giving the role up (closed before the record is released) until the withhold lifts. */
  private vip: ServiceVip | null;
  private withheld = false;
  /** The generation (token) this node gives up; cleared once the record no longer has it. */
  private releaseToken: number | null = null;
  private holder: SeenHolder | null = null;
  private releasing = false;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly log: Logger;
  /** Removes the address once more before a release: `ip addr del` is idempotent, and a failed close must not let the record go. */
  private readonly owner: VipOwner;

  constructor(private readonly o: ClusterVipRoleOptions) {
    const log = o.logger.child({ role: "cluster-vip" });
    this.log = log;
    const vip = parseVipAddress(o.config.address);
    // The schema refused anything else already.
    if ("error" in vip) throw new Error(`clusterVip.address ${o.config.address}: ${vip.error}`);
    this.owner = new VipOwner({ vip, interfaceName: o.config.interface });
    this.vip = this.newVip();
    this.guard = new ActiveGuard({
      nodeId: o.nodeId,
      params: o.params,
      // No process: nothing for the fencing watchdog to kill; the VipWatchdog covers a hung agent.
      watchdog: null,
      logger: log,
      observer: (view) => this.vip?.observe(view),
      instance: {
        promote: (token) => log.info({ token }, "this node holds the cluster VIP"),
        // Nothing runs, so the role has stopped acting as soon as it is demoted (the address follows the observer).
        demote: (reason) => {
          log.warn({ reason }, "this node gives the cluster VIP up");
          queueMicrotask(() => this.guard.instanceStopped());
        },
        processGroup: () => null,
      },
    });
  }

  /**
   * The record as this node's store applied it, whether this node is drained, and the target of a
   * pending switchover request (null without one).
   */
  seen(holder: SeenHolder | null, drained: boolean, switchoverTo: number | null): void {
    this.holder = holder;
    const mine = holder?.node === this.o.nodeId;
    if (mine && (drained || (switchoverTo !== null && switchoverTo !== this.o.nodeId))) this.releaseToken = holder.token;
    // The released generation is gone: this node may be chosen again (unless drained).
    else if (this.releaseToken !== null && holder?.token !== this.releaseToken) this.releaseToken = null;
    const withhold = drained || this.releaseToken !== null;
    if (withhold && !this.withheld) {
      // Withhold before the guard sees a record naming this node: it must not act on it.
      this.withheld = true;
      this.guard.withhold(true);
    }
    this.guard.recordSeen(holder);
    if (!withhold && this.withheld) {
      // Lifted only after the guard saw the record: a fresh follower, then the guard may act again.
      this.withheld = false;
      if (this.vip === null) this.vip = this.newVip();
      this.guard.withhold(false);
    }
    if (this.releaseToken !== null && holder?.token === this.releaseToken) void this.giveUp(holder.token);
  }

  /** Announces again if holding (healed partition, resumed process). */
  reannounce(): void {
    this.vip?.reannounce();
  }

  /** Removes the address and ends the watchdog. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.guard.close();
    const vip = this.vip;
    this.vip = null;
    await vip?.close();
  }

  private newVip(): ServiceVip {
    return new ServiceVip(this.o.config, this.o.params, this.log);
  }

  /** Giving the role up: address off (awaited), then the record released; retried while it still has that token. */
  private async giveUp(token: number): Promise<void> {
    if (this.releasing || this.closed) return;
    this.releasing = true;
    try {
      const vip = this.vip;
      this.vip = null;
      await vip?.close().catch((err: unknown) => this.log.warn({ err }, "closing the cluster VIP's follower failed; removing the address again"));
      await this.owner.release();
      await this.o.release(token);
      this.log.info({ token }, "the cluster VIP is off this host and its record released (drain or planned switchover)");
    } catch (err) {
      this.log.warn({ err }, "cannot release the cluster VIP's record yet; retrying (the address is already off)");
      this.retry = setTimeout(() => {
        this.retry = null;
        const h = this.holder;
        if (this.releaseToken !== null && h?.token === this.releaseToken) void this.giveUp(h.token);
      }, CLUSTER_VIP_RELEASE_RETRY_MS);
      this.retry.unref();
    } finally {
      this.releasing = false;
    }
  }
}
