// A service's `vip:` end to end on real agents: three `phalanx agent`s on hosts in network
// namespaces run an active-standby service with a virtual IP; a client in its own namespace is
// served through the VIP by the active's host; kill -9 of that host's agent moves the role and the
// address (the dead agent's VipWatchdog removes it there), and the client is served again by the
// new holder. An overlap sampler reads every host's addresses throughout and must see no instant
// with the VIP on two hosts. Runs with the harness's timings and with `profile: fast`. Needs root
// and arping (skips otherwise, see README.md).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { HostAgents } from "./agents.js";
import { HostNet } from "./harness.js";
import { Prober } from "./probe.js";
import { OverlapSampler } from "./vip-overlap.js";

const VIP = "10.231.0.200";
const HOSTS = ["h1", "h2", "h3"];
/** Agents elect, place, promote; a loaded CI machine included. */
const SERVED_DEADLINE_MS = 60_000;

/** The app: answers every request with its host's own eth0 address (the VIP left out). */
const APP = [
  'const os = require("node:os");',
  `const me = (os.networkInterfaces().eth0 || []).map((a) => a.address).filter((a) => a !== ${JSON.stringify(VIP)} && !a.includes(":"))[0];`,
  'require("node:http").createServer((q, s) => s.end(String(me))).listen(8080, "0.0.0.0");',
].join("\n");

const SERVICE = [
  "services:",
  "  - name: web",
  `    run: { command: ${JSON.stringify(process.execPath)}, args: ["-e", ${JSON.stringify(APP)}] }`,
  "    mode: active-standby",
  "    standbys: 2",
  "    standby: warm",
  `    vip: { address: ${VIP}/24, interface: eth0 }`,
  "",
].join("\n");

const hasArping = spawnSync("sh", ["-c", "command -v arping"]).status === 0;

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function until<T>(what: string, deadlineMs: number, check: () => Promise<T | undefined>, last: () => string = () => ""): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}${last() ? ` (last: ${last()})` : ""}`);
    await new Promise((r) => setTimeout(r, 50)); // poll interval, bounded by the deadline above
  }
}

// The harness's own timings, then the node config's `profile: fast` (shorter leases, faster Raft):
// the same guarantees must hold with either.
for (const profile of [undefined, "fast"] as const) {
  test(`agents with an active-standby service's vip${profile === undefined ? "" : ` (profile ${profile})`}: the client is served through the VIP; kill -9 of the holder's agent moves it, served again, no overlap`, { timeout: 240_000 }, async (t) => {
    if (!hasArping) {
      if (process.env["PHALANX_HOSTS_REQUIRED"] === "1") throw new Error("VIP host tests required (PHALANX_HOSTS_REQUIRED=1) but arping is missing: apt-get install arping");
      t.skip("needs arping for gratuitous ARP: apt-get install arping");
      return;
    }
    const net = await HostNet.startOrSkip(t, { hosts: 3, clients: 1 });
    if (net === null) return;
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
    }, () => lastServed);
    await sampler.waitRounds(5);

    await net.kill(agents.process(first));
    const second = await until(`the client served through the VIP by a host other than ${first}`, SERVED_DEADLINE_MS, () => servedThroughVip(first), () => lastServed);
    assert.notEqual(second, first);
    // The dead agent's VipWatchdog took the address off its host.
    await until(`${first} without the VIP`, 10_000, async () => ((await holders()).includes(first) ? undefined : true));
    await until(`${second} alone holding the VIP`, 10_000, async () => (JSON.stringify(await holders()) === JSON.stringify([second]) ? true : undefined));
    await sampler.waitRounds(5);

    const overlaps = await sampler.stop();
    assert.ok(sampler.rounds > 20, `the sampler looked only ${sampler.rounds} times`);
    assert.deepEqual(overlaps, [], `overlap instants: ${JSON.stringify(overlaps)}`);
  });
}
