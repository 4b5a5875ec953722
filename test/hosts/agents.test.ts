// Real agents on hosts with real network stacks: the cluster survives losing its leader to a
// partition, a freeze and a kill, and a client in its own namespace is served again each time.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { HostAgents } from "./agents.js";
import { HostNet } from "./harness.js";
import { Prober } from "./probe.js";

/** Longest a new leader may take (elections after 250–500 ms; a loaded CI machine included). */
const FAILOVER_DEADLINE_MS = 30_000;

async function startCluster(t: TestContext): Promise<{ net: HostNet; agents: HostAgents } | null> {
  const net = await HostNet.startOrSkip(t, { hosts: 3, clients: 1 });
  if (net === null) return null;
  const c1 = await Prober.start(net, "c1");
  const agents = await HostAgents.start(net, c1);
  t.after(() => agents.close());
  return { net, agents };
}

const others = (all: readonly string[], one: string): string[] => all.filter((h) => h !== one);

test("agents on three hosts: a leader cut off by a partition is replaced, and after heal all three agree again", async (t) => {
  const s = await startCluster(t);
  if (s === null) return;
  const { net, agents } = s;
  const hosts = net.hosts.map((h) => h.name);
  const old = await agents.waitLeader(hosts, FAILOVER_DEADLINE_MS);
  await net.partition([old], [...others(hosts, old), "c1"]);
  const fresh = await agents.waitLeader(others(hosts, old), FAILOVER_DEADLINE_MS, old);
  assert.notEqual(fresh, old);
  assert.equal(await agents.put(fresh, "after-partition", "1"), 200);
  assert.equal(await agents.health(old, 500), null, "the cut-off host is unreachable from the client");
  await net.heal();
  await agents.waitLeader(hosts, FAILOVER_DEADLINE_MS); // every host, the old leader included, names the same leader
});

test("agents on three hosts: a frozen leader is replaced, and a killed one too", async (t) => {
  const s = await startCluster(t);
  if (s === null) return;
  const { net, agents } = s;
  const hosts = net.hosts.map((h) => h.name);
  const first = await agents.waitLeader(hosts, FAILOVER_DEADLINE_MS);
  await net.freezeNode(first);
  const second = await agents.waitLeader(others(hosts, first), FAILOVER_DEADLINE_MS, first);
  assert.equal(await agents.put(second, "after-freeze", "1"), 200);
  await net.thawNode(first);
  const leader = await agents.waitLeader(hosts, FAILOVER_DEADLINE_MS);
  await net.kill(agents.process(leader));
  const third = await agents.waitLeader(others(hosts, leader), FAILOVER_DEADLINE_MS, leader);
  assert.equal(await agents.put(third, "after-kill", "1"), 200);
});
