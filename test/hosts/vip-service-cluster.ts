// The set-up of the VIP agent tests (vip-agents.test.ts, vip-agents-faults.test.ts): three real
// agents on hosts h1–h3, an active-standby service "web" with `vip:`, a client c1, an overlap
// sampler running throughout, and the client served through the VIP by its only holder.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { HostAgents } from "./agents.js";
import { HostNet } from "./harness.js";
import { Prober } from "./probe.js";
import { OverlapSampler } from "./vip-overlap.js";
import { arpingOrSkip, until, vipWebService } from "./vip-hosts.js";

export const VIP = "10.231.0.200";
export const HOSTS = ["h1", "h2", "h3"];
/** Agents elect, place, promote; a loaded CI machine included. */
export const SERVED_DEADLINE_MS = 60_000;
const SERVICE = vipWebService(VIP);

export interface VipCluster {
  net: HostNet;
  agents: HostAgents;
  sampler: OverlapSampler;
  holders: () => Promise<string[]>;
  servedThroughVip: (notBy?: string) => Promise<string | undefined>;
  lastServed: () => string;
  /** The host serving the client through the VIP once the service is up (the only holder). */
  first: string;
}

/** Builds the hosts, the agents, the service with its VIP and the sampler; null when skipped. */
export async function startVipCluster(t: TestContext, profile?: "fast"): Promise<VipCluster | null> {
  if (!arpingOrSkip(t)) return null;
  const net = await HostNet.startOrSkip(t, { hosts: 3, clients: 1 });
  if (net === null) return null;
  const c1 = await Prober.start(net, "c1");
  const agents = await HostAgents.start(net, c1, profile === undefined ? {} : { profile });
  t.after(() => agents.close());
  const sampler = new OverlapSampler(net, HOSTS, VIP);
  t.after(() => sampler.stop().catch(() => undefined));

  const leader = await agents.waitLeader(HOSTS, SERVED_DEADLINE_MS);
  const applied = await agents.apply(leader, SERVICE);
  assert.ok(typeof applied !== "string" && applied.status === 200, `apply failed: ${JSON.stringify(applied)}`);

  const holders = async (): Promise<string[]> => (await Promise.all(HOSTS.map(async (h) => ((await net.addresses(h)).includes(VIP) ? h : null)))).filter((h): h is string => h !== null);
  let lastServed = "";
  const servedThroughVip = async (notBy?: string): Promise<string | undefined> => {
    const r = await c1.http(`http://${VIP}:8080/`, 1_000);
    lastServed = r.ok ? `${r.status} ${r.body}` : r.error;
    if (!r.ok || r.status !== 200) return undefined;
    const host = HOSTS.find((h) => net.node(h).address === r.body);
    return host !== undefined && host !== notBy ? host : undefined;
  };
  // Served by the host that alone holds the VIP (polled: a holder on a loaded host with the fast
  // profile may fence itself for a moment and come back — no overlap, but not yet stable).
  const first = await until("the client served through the VIP by its only holder", SERVED_DEADLINE_MS, async () => {
    const by = await servedThroughVip();
    return by !== undefined && JSON.stringify(await holders()) === JSON.stringify([by]) ? by : undefined;
  }, () => lastServed).catch(async (err: Error) => {
    // Say why: who holds the VIP now, and each agent's last lines (placement, health, fencing).
    const tails = HOSTS.map((h) => `--- ${h}:\n${agents.process(h).output().split("\n").slice(-30).join("\n")}`).join("\n");
    throw new Error(`${err.message}; holders now: [${(await holders()).join(", ")}]\n${tails}`);
  });
  await sampler.waitRounds(5);
  return { net, agents, sampler, holders, servedThroughVip, lastServed: () => lastServed, first };
}
