// The virtual IP of one active-standby instance placed on this node (docs/service-spec.md `vip`):
// a VipFollower (src/vip/) with its own watchdog process, fed from the instance's ActiveGuard
// observer, so the address is added only while this node holds the role with headroom and is
// removed at the very fencing point at which the instance is demoted.
import type { Logger } from "pino";
import type { VipConfig } from "../../config/vip.js";
import type { FencingParams } from "../../failover/fencing.js";
import type { ActiveGuardView } from "../../failover/runtime/active-guard.js";
import { monotonicNowMs } from "../../failover/runtime/active-guard.js";
import { parseVipAddress } from "../../vip/core/address.js";
import { DEFAULT_VIP_PARAMS } from "../../vip/core/decide.js";
import { GarpSender } from "../../vip/garp-sender.js";
import { VipFollower } from "../../vip/vip-follower.js";
import { VipOwner } from "../../vip/vip-owner.js";
import { VipWatchdog } from "../../vip/vip-watchdog.js";

export class ServiceVip {
  readonly config: VipConfig;
  private readonly follower: VipFollower;
  private readonly watchdog: VipWatchdog;
  private readonly garp: GarpSender | null;

  constructor(config: VipConfig, params: FencingParams, logger: Logger) {
    const vip = parseVipAddress(config.address);
    // The schema refused anything else already.
    if ("error" in vip) throw new Error(`vip.address ${config.address}: ${vip.error}`);
    this.config = config;
    const log = logger.child({ vip: vip.cidr, dev: config.interface });
    this.watchdog = new VipWatchdog(vip, config.interface, log);
    // A standby's first announcement is on a takeover's critical path: the resident helper (or at
    // least the arping flavour) is ready before the role arrives.
    this.garp = vip.family === 4 ? new GarpSender({ interfaceName: config.interface, address: vip.address }) : null;
    const owner = new VipOwner({ vip, interfaceName: config.interface, garp: this.garp });
    void owner.prepare();
    this.follower = new VipFollower({
      owner,
      // Taking the address needs the same headroom as ActiveGuard's resume (one keep-alive interval).
      params: { ...DEFAULT_VIP_PARAMS, acquireHeadroomMs: params.renewIntervalMs },
      nowMs: monotonicNowMs,
      logger: log,
      watchdog: this.watchdog,
    });
  }

  /** The ActiveGuard's observer. */
  observe(view: ActiveGuardView): void {
    this.follower.update({ holder: view.isHolder, fenceAtMs: view.deadlines?.fenceAtMs ?? null, actingEndsAtMs: view.deadlines?.actingEndsAtMs ?? null });
  }

  /** Keep-alives recovered or the process resumed from a freeze: announce again if holding. */
  reannounce(): void {
    this.follower.reannounce();
  }

  /** Removes the address and ends the watchdog. */
  async close(): Promise<void> {
    try {
      await this.follower.close();
    } finally {
      this.watchdog.close();
      this.garp?.close();
    }
  }
}
