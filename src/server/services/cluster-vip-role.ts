// This node's side of the cluster VIP (cluster-vip.ts): an ActiveGuard over the role-only record
// /phalanx/active/@cluster-vip, with nothing to run, whose observer drives a ServiceVip — the same
// follower, owner and watchdog as a service's `vip:`. The FailoverAgent feeds it exactly as it feeds
// a service's guard (fencing-lease grants, acknowledged keep-alives, a lost lease, the record), so
// the address is added only with headroom on the fencing lease and removed at its fencing point.
import type { Logger } from "pino";
import type { VipConfig } from "../../config/vip.js";
import type { FencingParams } from "../../failover/fencing.js";
import { ActiveGuard, type SeenHolder } from "../../failover/runtime/active-guard.js";
import { ServiceVip } from "./service-vip.js";

export class ClusterVipRole {
  readonly guard: ActiveGuard;
  private readonly vip: ServiceVip;

  constructor(o: { readonly nodeId: number; readonly config: VipConfig; readonly params: FencingParams; readonly logger: Logger }) {
    const log = o.logger.child({ role: "cluster-vip" });
    this.vip = new ServiceVip(o.config, o.params, log);
    this.guard = new ActiveGuard({
      nodeId: o.nodeId,
      params: o.params,
      // No process: nothing for the fencing watchdog to kill; the VipWatchdog covers a hung agent.
      watchdog: null,
      logger: log,
      observer: (view) => this.vip.observe(view),
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

  /** The record as this node's store applied it. */
  recordSeen(holder: SeenHolder | null): void {
    this.guard.recordSeen(holder);
  }

  /** Announces again if holding (healed partition, resumed process). */
  reannounce(): void {
    this.vip.reannounce();
  }

  /** Removes the address and ends the watchdog. */
  async close(): Promise<void> {
    this.guard.close();
    await this.vip.close();
  }
}
