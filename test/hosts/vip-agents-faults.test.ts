// A service's `vip:` on real agents under a frozen holder and a partitioned holder. Three
// `phalanx agent`s on hosts in network namespaces run an active-standby service with a virtual IP
// (the same set-up as vip-agents.test.ts); a client in its own namespace is served through it.
// - freeze: SIGSTOP of the holder's agent alone → its VipWatchdog (a separate process) removes the
//   address before the lease lets another host take it; the client is served by another host;
//   SIGCONT → the old agent does not take the VIP back.
// - partition: the holder's host cut off from the other two (the client stays with the majority)
//   → the isolated host drops the VIP at its fencing point, the majority side takes it, the client
//   is served; heal → the VIP stays where it is (no holder change in an observation window).
// An overlap sampler reads every host's addresses throughout and must see no instant with the VIP
// on two hosts. The partition runs with the harness's timings and with `profile: fast` (with fast,
// the majority's holder may fence itself for a moment under load — the profile's documented cost —
// but no other host may ever hold the VIP). Needs root and arping (skips otherwise, see README.md).
import assert from "node:assert/strict";
import { test } from "node:test";
import { OverlapSampler } from "./vip-overlap.js";
import { until } from "./vip-hosts.js";
import { HOSTS, SERVED_DEADLINE_MS, startVipCluster } from "./vip-service-cluster.js";

/**
 * After a thaw or a heal, how long the test watches for the VIP moving (it must not). Not a
 * synchronisation: this window is the property checked — "no change during it" — and it spans
 * several keep-alive intervals and the announcements that follow a resume.
 */
const STABLE_WINDOW_MS = 5_000;

/**
 * With the harness's timings the VIP must not change at all during a window (checked by the
 * caller); with `profile: fast` a holder on this loaded machine may fence itself for a moment and
 * come back (its documented cost, docs/failover.md "Timing profiles"), so only this is required:
 * no other host ever holds it (every set seen is `host` or empty).
 */
function assertStaysOn(sets: readonly string[], host: string, when: string): void {
  const others = sets.filter((s) => s !== "" && s !== host);
  assert.deepEqual(others, [], `the VIP was on another host than ${host} ${when}: ${sets.join(" | ")}`);
}

/**
 * The holder sets the sampler saw, one per complete round from read index `from` on, and how many
 * times that set changed from one round to the next.
 */
function holderChanges(sampler: OverlapSampler, from: number): { changes: number; sets: string[] } {
  const start = Math.ceil(from / HOSTS.length) * HOSTS.length;
  const sets: string[] = [];
  for (let i = start; i + HOSTS.length <= sampler.reads.length; i += HOSTS.length) {
    sets.push(sampler.reads.slice(i, i + HOSTS.length).filter((r) => r.held).map((r) => r.host).sort().join(","));
  }
  let changes = 0;
  for (let i = 1; i < sets.length; i++) if (sets[i] !== sets[i - 1]) changes++;
  return { changes, sets };
}

test("agents with a service's vip: SIGSTOP of the holder's agent → its watchdog drops the VIP, another host serves, no overlap; SIGCONT → it does not take the VIP back", { timeout: 240_000 }, async (t) => {
  const c = await startVipCluster(t);
  if (c === null) return;
  const { net, agents, sampler, holders, first } = c;
  const agent = agents.process(first);

  const beforeFreeze = sampler.reads.length;
  await net.freeze(agent);
  let frozen = true;
  t.after(async () => {
    if (frozen) await net.thaw(agent).catch(() => undefined);
  });
  // The frozen agent cannot remove the address itself: only its VipWatchdog can.
  await until(`${first} without the VIP while its agent is frozen`, SERVED_DEADLINE_MS, async () => ((await holders()).includes(first) ? undefined : true));
  const second = await until(`the client served through the VIP by a host other than ${first}`, SERVED_DEADLINE_MS, () => c.servedThroughVip(first), c.lastServed);
  await until(`${second} alone holding the VIP`, 10_000, async () => (JSON.stringify(await holders()) === JSON.stringify([second]) ? true : undefined));
  await sampler.waitRounds(5);

  // The change counter used below sees a move (so its 0 after the thaw means something).
  assert.ok(holderChanges(sampler, beforeFreeze).changes >= 1, "the sampler saw no move of the VIP");
  await net.thaw(agent);
  frozen = false;
  // The resumed agent is running again once it answers on /healthz (it learns it lost the role).
  await until(`${first}'s agent answering after SIGCONT`, SERVED_DEADLINE_MS, async () => ((await agents.health(first)) === null ? undefined : true));
  const afterThaw = sampler.reads.length;
  const end = performance.now() + STABLE_WINDOW_MS;
  while (performance.now() < end) await sampler.waitRounds(1); // the observation window (see STABLE_WINDOW_MS)
  const { changes, sets } = holderChanges(sampler, afterThaw);
  assert.ok(sets.length > 10, `the sampler looked only ${sets.length} times after the thaw`);
  assert.equal(changes, 0, `the VIP moved after the thaw: ${sets.join(" | ")}`);
  assert.equal(sets.at(-1), second, `the VIP is not on ${second} alone after the thaw`);
  assert.equal(await c.servedThroughVip(), second, `the client is not served by ${second} after the thaw (last: ${c.lastServed()})`);

  const overlaps = await sampler.stop();
  assert.ok(sampler.rounds > 20, `the sampler looked only ${sampler.rounds} times`);
  assert.deepEqual(overlaps, [], `overlap instants: ${JSON.stringify(overlaps)}`);
});

// With the harness's timings, then with the node config's `profile: fast`.
for (const profile of [undefined, "fast"] as const) {
  test(`agents with a service's vip${profile === undefined ? "" : ` (profile ${profile})`}: the holder's host partitioned from the other two drops the VIP, the majority takes it and serves the client, no overlap; heal → no flapping`, { timeout: 240_000 }, async (t) => {
    const c = await startVipCluster(t, profile);
    if (c === null) return;
    const { net, sampler, holders, first } = c;
    const majority = HOSTS.filter((h) => h !== first);

    const beforeCut = sampler.reads.length;
    // The client stays with the majority: it must be served there, and cannot reach the isolated host.
    await net.partition([first], [...majority, "c1"]);
    await until(`${first} (isolated) without the VIP`, SERVED_DEADLINE_MS, async () => ((await holders()).includes(first) ? undefined : true));
    const second = await until(`the client served through the VIP by a host of ${majority.join(", ")}`, SERVED_DEADLINE_MS, () => c.servedThroughVip(first), c.lastServed);
    assert.ok(majority.includes(second));
    await until(`${second} alone holding the VIP`, 10_000, async () => (JSON.stringify(await holders()) === JSON.stringify([second]) ? true : undefined));
    // The minority side never takes it back while cut off (with the fast profile the holder may
    // fence itself for a moment under load; another host never holds it).
    const duringCut = sampler.reads.length;
    await sampler.waitRounds(20);
    const cut = holderChanges(sampler, duringCut);
    if (profile === undefined) assert.equal(cut.changes, 0, `the VIP moved while the partition lasted: ${cut.sets.join(" | ")}`);
    assertStaysOn(cut.sets, second, "while the partition lasted");

    // The change counter used below sees a move (so its 0 after the heal means something).
    assert.ok(holderChanges(sampler, beforeCut).changes >= 1, "the sampler saw no move of the VIP");
    await net.heal();
    const afterHeal = sampler.reads.length;
    const end = performance.now() + STABLE_WINDOW_MS;
    while (performance.now() < end) await sampler.waitRounds(1); // the observation window (see STABLE_WINDOW_MS)
    const { changes, sets } = holderChanges(sampler, afterHeal);
    assert.ok(sets.length > 10, `the sampler looked only ${sets.length} times after the heal`);
    if (profile === undefined) assert.equal(changes, 0, `the VIP moved after the heal: ${sets.join(" | ")}`);
    assertStaysOn(sets, second, "after the heal");
    await until(`${second} alone holding the VIP after the heal`, 10_000, async () => (JSON.stringify(await holders()) === JSON.stringify([second]) ? true : undefined));
    // Served by the holder after the heal too (the first attempt may meet a neighbour entry that failed during the cut).
    await until(`the client served through the VIP by ${second} after the heal`, 10_000, async () => ((await c.servedThroughVip()) === second ? true : undefined), c.lastServed);

    const overlaps = await sampler.stop();
    assert.ok(sampler.rounds > 20, `the sampler looked only ${sampler.rounds} times`);
    assert.deepEqual(overlaps, [], `overlap instants: ${JSON.stringify(overlaps)}`);
  });
}
