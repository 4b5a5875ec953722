// The node's `clusterVip:` at start (docs/cluster-vip.md): parsed, and checked against what this
// process can do. A node that cannot add the address (no CAP_NET_ADMIN) must not be a candidate:
// the leader would hand it the role and the cluster would have no address until its lease ended,
// which it never does while the agent runs. So it does not publish the VIP at all (and says why).
// Listeners that cannot answer on the VIP and a missing interface are warned about only.
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import type { Logger } from "pino";
import { parseVipAddress, type VipAddress } from "../vip/core/address.js";
import type { NodeConfig } from "./node-config.js";
import { ServerError } from "./errors.js";

/** Linux capability numbers (linux/capability.h). */
export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

/** Whether the effective set in /proc/self/status text has capability `bit`; null when the text has no CapEff line. */
export function hasEffectiveCapability(procStatus: string, bit: number): boolean | null {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(procStatus);
  if (m === null) return null;
  return ((BigInt(`0x${m[1]}`) >> BigInt(bit)) & 1n) === 1n;
}

/** A listener bound to `host` receives connections to `address` (when the address is on this host). */
export function answersOn(host: string, address: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "" || host === address;
}

/** Listeners of `config` by field, that should answer on the cluster VIP. */
function listeners(config: NodeConfig): [string, string][] {
  const out: [string, string][] = [["node.clientListen", config.node.clientListen.host]];
  if (config.proxy.enabled && config.proxy.bindHost !== undefined) out.push(["proxy.bindHost", config.proxy.bindHost]);
  if (config.fronts.resp.enabled) out.push(["fronts.resp.listen", config.fronts.resp.listen.host]);
  if (config.fronts.memcached.enabled) out.push(["fronts.memcached.listen", config.fronts.memcached.listen.host]);
  return out;
}

/**
 * The cluster VIP this node may hold, or null: none configured, or this process cannot add
 * addresses (logged as an error naming the fix). Warns of listeners that cannot answer on it.
 */
export function clusterVipOfNode(config: NodeConfig, log: Logger, procStatus: () => string = () => readFileSync("/proc/self/status", "utf8")): VipAddress | null {
  if (config.clusterVip === undefined) return null;
  const vip = parseVipAddress(config.clusterVip.address);
  // The schema refused anything else already.
  if ("error" in vip) throw new ServerError("bad_request", `clusterVip.address ${config.clusterVip.address} in ${config.file}: ${vip.error}`);
  const dev = config.clusterVip.interface;
  let status = "";
  try {
    status = procStatus();
  } catch {
    // Not Linux (no /proc): the `ip` commands fail on their own with their message.
  }
  if (hasEffectiveCapability(status, CAP_NET_ADMIN) === false) {
    log.error({ clusterVip: vip.cidr }, `clusterVip in ${config.file}: this process lacks CAP_NET_ADMIN, so it cannot add ${vip.cidr} to ${dev}; this node will not hold the cluster VIP. Run the agent as root or with AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW (docs/cluster-vip.md, "Permissions")`);
    return null;
  }
  if (hasEffectiveCapability(status, CAP_NET_RAW) === false) {
    log.warn({ clusterVip: vip.cidr }, "this process lacks CAP_NET_RAW: announcing the cluster VIP (arping) works only if arping has it itself");
  }
  if (networkInterfaces()[dev] === undefined) {
    log.warn({ clusterVip: vip.cidr, interface: dev }, `clusterVip.interface ${dev} has no address on this host (or does not exist): check the name in ${config.file}`);
  }
  for (const [name, host] of listeners(config)) {
    if (!answersOn(host, vip.address)) log.warn({ listener: name, host, clusterVip: vip.cidr }, `${name} listens on ${host} only: it does not answer on the cluster VIP; listen on 0.0.0.0 (or ::) to serve there`);
  }
  return vip;
}
