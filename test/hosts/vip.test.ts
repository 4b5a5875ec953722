// Virtual IPs on real network stacks: a VipFollower/VipOwner (src/vip/) runs inside each host's
// namespace (testdata/vip-host.ts, with a tiny HTTP server answering its host name); a client in
// c1 is served through the VIP; moving the VIP redirects the client by gratuitous ARP, not by ARP
// timeouts; an overlap sampler watches every host's addresses throughout. Needs root (skips
// otherwise, see README.md).
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { HostNet } from "./harness.js";
import { Prober } from "./probe.js";
import { OverlapSampler } from "./vip-overlap.js";
import { moveAndFollow, servedBy, VipHost } from "./vip-host-driver.js";
import { arpingOrSkip, until } from "./vip-hosts.js";

const VIP = "10.231.0.200";
const VIP_CIDR = `${VIP}/24`;
const URL_VIA_VIP = `http://${VIP}:8080/`;
async function setup(t: TestContext): Promise<{ net: HostNet; hosts: VipHost[]; client: Prober; sampler: OverlapSampler } | null> {
  if (!arpingOrSkip(t)) return null;
  const net = await HostNet.startOrSkip(t, { hosts: 3, clients: 1 });
  if (net === null) return null;
  const hosts = await Promise.all(["h1", "h2", "h3"].map((h) => VipHost.start(net, h, VIP_CIDR)));
  const client = await Prober.start(net, "c1");
  const sampler = new OverlapSampler(net, ["h1", "h2", "h3"], VIP);
  // The harness's close (registered first) may kill a read in flight: tests that check overlaps
  // call stop() themselves before that.
  t.after(() => sampler.stop().catch(() => undefined));
  return { net, hosts, client, sampler };
}

test("a VIP moved h1 → h2 → h3 → h1: the client's ARP entry follows by gratuitous ARP before it sends anything, and no two hosts ever hold it", async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const { net, hosts, client, sampler } = s;
  const [h1, h2, h3] = hosts as [VipHost, VipHost, VipHost];
  await h1.role(true);
  await servedBy(client, URL_VIA_VIP, "h1", 10_000);
  assert.equal((await net.neighbour("c1", VIP))?.mac, await net.macAddress("h1"));

  for (const [from, to] of [[h1, h2], [h2, h3], [h3, h1]] as const) {
    await sampler.waitRounds(2);
    await moveAndFollow(net, client, from, to, VIP, URL_VIA_VIP);
  }
  await sampler.waitRounds(2);
  const overlaps = await sampler.stop();
  assert.ok(sampler.rounds > 10, `the sampler looked only ${sampler.rounds} times`);
  assert.deepEqual(overlaps, [], `two hosts held ${VIP} at once: ${JSON.stringify(overlaps.slice(0, 5))}`);
});

test("a holder whose keep-alives stop drops the VIP at its fencing point by itself, and a resumed holder announces again", async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const { net, hosts, client } = s;
  const [h1, h2] = hosts as [VipHost, VipHost, VipHost];
  // The fencing point 3 s ahead and no keep-alive after it: nothing but the follower's own timer
  // can remove the address.
  await h1.role(true, 3_000);
  await until("h1 to hold the VIP", 5_000, async () => ((await h1.held()) ? true : undefined));
  await until("h1 to drop the VIP at its fencing point", 10_000, async () => ((await h1.held()) ? undefined : true));
  assert.equal((await net.addresses("h1")).includes(VIP), false);

  // A successor takes it; the old holder resumes (healed) and is told it no longer holds the role.
  await h2.role(true);
  await servedBy(client, URL_VIA_VIP, "h2", 10_000);
  await h1.role(false);
  assert.equal(await h1.held(), false);
  // The holder is told to announce again (a heal): c1's entry, pointed elsewhere meanwhile by
  // hand, comes back to h2 without c1 sending anything.
  await net.exec("c1", "ip", ["neigh", "replace", VIP, "lladdr", await net.macAddress("h1"), "dev", "eth0", "nud", "stale"]);
  await h2.ask("reannounce");
  const h2Mac = await net.macAddress("h2");
  await until(`c1's neighbour entry to point at h2 (${h2Mac}) again`, 5_000, async () => ((await net.neighbour("c1", VIP))?.mac === h2Mac ? true : undefined));
});

test("a holder killed -9 loses the VIP anyway: its watchdog removes the address by the deadline of the last keep-alive", async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const { net, hosts, client, sampler } = s;
  const [h1, h2] = hosts as [VipHost, VipHost, VipHost];
  await h1.role(true, 3_000);
  await servedBy(client, URL_VIA_VIP, "h1", 10_000);
  const watchdogPid = Number(await h1.ask("watchdog"));
  assert.ok(watchdogPid > 1, `no watchdog pid: ${watchdogPid}`);
  // The follower dies holding the address: only the watchdog (a process of its own) can remove it.
  await net.kill(h1.proc);
  assert.equal((await net.addresses("h1")).includes(VIP), true, "the address went away with the process: the test would prove nothing");
  await until("h1's watchdog to remove the VIP", 10_000, async () => ((await net.addresses("h1")).includes(VIP) ? undefined : true));
  // What the successor does once the old holder's lease has expired at the leader.
  await h2.role(true);
  await servedBy(client, URL_VIA_VIP, "h2", 10_000);
  const overlaps = await sampler.stop();
  assert.deepEqual(overlaps, [], `two hosts held ${VIP} at once: ${JSON.stringify(overlaps.slice(0, 5))}`);
});

test("a holder frozen (SIGSTOP of its agent) loses the VIP through its watchdog and, thawed past its fencing point, does not take it back", async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const { net, hosts, client, sampler } = s;
  const [h1, h2] = hosts as [VipHost, VipHost, VipHost];
  await h1.role(true, 3_000);
  await servedBy(client, URL_VIA_VIP, "h1", 10_000);
  await net.freeze(h1.proc);
  await until("h1's watchdog to remove the VIP", 10_000, async () => ((await net.addresses("h1")).includes(VIP) ? undefined : true));
  await h2.role(true);
  await servedBy(client, URL_VIA_VIP, "h2", 10_000);
  await net.thaw(h1.proc);
  // Thawed, h1 still believes it holds the role (no update reached it): its own fencing point has
  // passed, so the decision is "release", never "announce" or "acquire".
  assert.equal(await h1.held(), false);
  await sampler.waitRounds(3);
  await servedBy(client, URL_VIA_VIP, "h2", 5_000);
  const overlaps = await sampler.stop();
  assert.deepEqual(overlaps, [], `two hosts held ${VIP} at once: ${JSON.stringify(overlaps.slice(0, 5))}`);
});

test("the overlap sampler catches a planted bug: acquire on the new holder before releasing on the old one", async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const { hosts, sampler } = s;
  const [h1, h2] = hosts as [VipHost, VipHost, VipHost];
  await h1.ask("acquire");
  await sampler.waitRounds(2);
  // The mutant move: take the address on h2 first, release h1 only after the sampler has looked.
  await h2.ask("acquire");
  await sampler.waitRounds(2);
  await h1.ask("release");
  await sampler.waitRounds(2);
  const overlaps = await sampler.stop();
  assert.ok(overlaps.length > 0, "the sampler missed two hosts holding the VIP");
  assert.ok(overlaps.every((o) => [...o.hosts].sort().join() === "h1,h2"), JSON.stringify(overlaps));
});
