// A service's `vip:` end to end on real agents: three `phalanx agent`s on hosts in network
// namespaces run an active-standby service with a virtual IP; a client in its own namespace is
// served through the VIP by the active's host; kill -9 of that host's agent moves the role and the
// address (the dead agent's VipWatchdog removes it there), and the client is served again by the
// new holder. An overlap sampler reads every host's addresses throughout and must see no instant
// with the VIP on two hosts. Runs with the harness's timings and with `profile: fast`. Needs root
// and arping (skips otherwise, see README.md).
import assert from "node:assert/strict";
import { test } from "node:test";
import { until } from "./vip-hosts.js";
import { SERVED_DEADLINE_MS, startVipCluster } from "./vip-service-cluster.js";

// The harness's own timings, then the node config's `profile: fast` (shorter leases, faster Raft):
// the same guarantees must hold with either.
for (const profile of [undefined, "fast"] as const) {
  test(`agents with an active-standby service's vip${profile === undefined ? "" : ` (profile ${profile})`}: the client is served through the VIP; kill -9 of the holder's agent moves it, served again, no overlap`, { timeout: 240_000 }, async (t) => {
    const c = await startVipCluster(t, profile);
    if (c === null) return;
    const { net, agents, sampler, holders, servedThroughVip, lastServed, first } = c;

    await net.kill(agents.process(first));
    const second = await until(`the client served through the VIP by a host other than ${first}`, SERVED_DEADLINE_MS, () => servedThroughVip(first), lastServed);
    assert.notEqual(second, first);
    // The dead agent's VipWatchdog took the address off its host.
    await until(`${first} without the VIP`, 10_000, async () => ((await holders()).includes(first) ? undefined : true));
    // With the harness's timings the new holder keeps it. With `profile: fast` on a loaded machine
    // the new holder may fence itself for a moment and the role move on (the profile's documented
    // cost, docs/failover.md "Timing profiles"): then one live host, any, must end up alone with it.
    let lastHolders = "";
    const settled = async (): Promise<true | undefined> => {
      const h = await holders();
      lastHolders = `holders [${h.join(", ")}]`;
      return h.length === 1 && (profile === undefined ? h[0] === second : h[0] !== first) ? true : undefined;
    };
    await until(profile === undefined ? `${second} alone holding the VIP` : `one host other than ${first} alone holding the VIP`, 10_000, settled, () => lastHolders);
    await sampler.waitRounds(5);

    const overlaps = await sampler.stop();
    assert.ok(sampler.rounds > 20, `the sampler looked only ${sampler.rounds} times`);
    assert.deepEqual(overlaps, [], `overlap instants: ${JSON.stringify(overlaps)}`);
  });
}
