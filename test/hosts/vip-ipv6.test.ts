// An IPv6 virtual IP on real network stacks: the same VipFollower/VipOwner as vip.test.ts, with a
// unique-local VIP. The owner adds it without duplicate-address detection (usable at once) and
// announces it with an unsolicited neighbour advertisement (src/vip/unsolicited-na.ts), so the
// client's neighbour entry follows a move before the client sends anything; the overlap sampler
// reads every host's IPv6 addresses throughout. Needs root (skips otherwise, see README.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { HostNet } from "./harness.js";
import { Prober } from "./probe.js";
import { OverlapSampler } from "./vip-overlap.js";
import { moveAndFollow, servedBy, VipHost } from "./vip-host-driver.js";

const VIP = "fd00:231::200";
const VIP_CIDR = `${VIP}/64`;
/** The client's own address in the VIP's prefix (the hosts need none: the VIP is all they serve). */
const CLIENT_CIDR = "fd00:231::c1/64";
const URL_VIA_VIP = `http://[${VIP}]:8080/`;
/** The announcement is a Perl script (perl-base is Essential in Debian; other systems may lack it). */
const hasPerl = spawnSync("sh", ["-c", "command -v perl"]).status === 0;

test("an IPv6 VIP moved h1 → h2 → h3: the client's neighbour entry follows by unsolicited neighbour advertisement, and no two hosts ever hold it", async (t) => {
  if (!hasPerl) {
    if (process.env["PHALANX_HOSTS_REQUIRED"] === "1") throw new Error("VIP host tests required (PHALANX_HOSTS_REQUIRED=1) but perl is missing: apt-get install perl-base");
    t.skip("needs perl for unsolicited neighbour advertisements: apt-get install perl-base");
    return;
  }
  const net = await HostNet.startOrSkip(t, { hosts: 3, clients: 1 });
  if (net === null) return;
  const names = ["h1", "h2", "h3"] as const;
  const [h1, h2, h3] = await Promise.all(names.map((h) => VipHost.start(net, h, VIP_CIDR)));
  // nodad: the client's address must be usable at once, like the VIP's.
  await net.exec("c1", "ip", ["-6", "addr", "add", CLIENT_CIDR, "dev", "eth0", "nodad"]);
  const client = await Prober.start(net, "c1");
  const sampler = new OverlapSampler(net, [...names], VIP);
  t.after(() => sampler.stop().catch(() => undefined));

  await h1!.role(true);
  await servedBy(client, URL_VIA_VIP, "h1", 10_000);
  assert.equal((await net.neighbour("c1", VIP))?.mac, await net.macAddress("h1"));
  assert.ok((await net.addresses("h1", 6)).includes(VIP), "h1 holds the VIP as an IPv6 address");

  for (const [from, to] of [[h1!, h2!], [h2!, h3!]] as const) {
    await sampler.waitRounds(2);
    await moveAndFollow(net, client, from, to, VIP, URL_VIA_VIP);
  }
  await sampler.waitRounds(2);
  const overlaps = await sampler.stop();
  assert.ok(sampler.rounds > 10, `the sampler looked only ${sampler.rounds} times`);
  assert.deepEqual(overlaps, [], `two hosts held ${VIP} at once: ${JSON.stringify(overlaps.slice(0, 5))}`);
});
