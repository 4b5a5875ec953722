// The host harness itself, proven with real traffic between namespaces: every fault it offers
// must stop what it claims to stop and nothing else, heal must restore, and nothing it created
// may outlive it. Needs root (skips with the reason otherwise; PHALANX_HOSTS_REQUIRED=1 fails).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { HostNet, SUBNET_PREFIX, hostSupport } from "./harness.js";
import type { HostNetOptions } from "./harness.js";
import { cleanupStale, listNamespaces, pidAlive, processState, run } from "./netns.js";
import { PROBE_PORT, Prober } from "./probe.js";

/** How long a probe that must be served may take (a loaded CI machine included). */
const SERVED_MS = 10_000;
/** How long a probe that must NOT be served is given: on one bridge a round trip takes < 1 ms. */
const BLOCKED_MS = 1_500;

async function start(t: TestContext, options: HostNetOptions, probeOn: readonly string[]): Promise<{ net: HostNet; probes: Map<string, Prober> } | null> {
  const net = await HostNet.startOrSkip(t, options);
  if (net === null) return null;
  const probes = new Map<string, Prober>();
  for (const name of probeOn) probes.set(name, await Prober.start(net, name));
  return { net, probes };
}

/** Asserts that `from` is served by `to`'s probe over TCP (`served`) or is not. */
async function assertTcp(net: HostNet, from: Prober, to: string, served: boolean, port = PROBE_PORT): Promise<void> {
  const r = await from.tcpEcho(net.node(to).address, served ? SERVED_MS : BLOCKED_MS, port);
  assert.equal(r.ok, served, `TCP ${from.node} → ${to}:${port} should be ${served ? "served" : "blocked"}, got ${JSON.stringify(r)}`);
}

/**
 * Asserts that `from` is served by `to` over TCP within SERVED_MS, retrying: right after a heal a
 * neighbour entry that failed during the fault can refuse the first attempt (EHOSTUNREACH) until
 * ARP resolves again, as on any real network.
 */
async function assertTcpRecovers(net: HostNet, from: Prober, to: string): Promise<void> {
  const until = Date.now() + SERVED_MS;
  let last: unknown;
  while (Date.now() < until) {
    const r = await from.tcpEcho(net.node(to).address, Math.max(1, until - Date.now()));
    if (r.ok) return;
    last = r;
  }
  assert.fail(`TCP ${from.node} → ${to} not served again within ${SERVED_MS} ms after heal, last ${JSON.stringify(last)}`);
}

async function assertUdp(net: HostNet, from: Prober, to: string, served: boolean, port = PROBE_PORT): Promise<void> {
  const r = await from.udpEcho(net.node(to).address, served ? SERVED_MS : BLOCKED_MS, port);
  assert.equal(r.ok, served, `UDP ${from.node} → ${to}:${port} should be ${served ? "served" : "blocked"}, got ${JSON.stringify(r)}`);
}

const probe = (probes: Map<string, Prober>, name: string): Prober => {
  const p = probes.get(name);
  assert.ok(p, `no probe on ${name}`);
  return p;
};

async function rootLinkNames(): Promise<Set<string>> {
  const out = await run("ip", ["-o", "link", "show"]);
  return new Set(out.split("\n").map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined));
}

test("a probe on one host is served across the switch from a client and from another host", async (t) => {
  const s = await start(t, { hosts: 2, clients: 1 }, ["h1", "h2", "c1"]);
  if (s === null) return;
  const { net, probes } = s;
  await assertUdp(net, probe(probes, "c1"), "h1", true);
  await assertTcp(net, probe(probes, "c1"), "h1", true);
  await assertTcp(net, probe(probes, "h2"), "h1", true);
  await assertUdp(net, probe(probes, "h1"), "h2", true);
  // The test range exists only inside the namespaces, never in the machine's own stack.
  const rootAddrs = await run("ip", ["-o", "addr", "show"]);
  assert.ok(!rootAddrs.includes(SUBNET_PREFIX), `the machine's own namespace must not hold ${SUBNET_PREFIX}x:\n${rootAddrs}`);
  const inH1 = await run("ip", ["-n", net.node("h1").namespace, "-o", "addr", "show", "dev", "eth0"]);
  assert.match(inH1, new RegExp(`inet ${net.node("h1").address.replace(/\./g, "\\.")}/24`));
});

test("addresses, MAC and neighbour entries are read from inside each node", async (t) => {
  const s = await start(t, { hosts: 2, clients: 1 }, ["h1", "c1"]);
  if (s === null) return;
  const { net, probes } = s;
  assert.deepEqual(await net.addresses("h1"), [net.node("h1").address]);
  const extra = `${SUBNET_PREFIX}250`;
  await net.exec("h2", "ip", ["addr", "add", `${extra}/32`, "dev", "eth0"]);
  assert.deepEqual((await net.addresses("h2")).sort(), [net.node("h2").address, extra].sort());
  assert.deepEqual(await net.addresses("h1"), [net.node("h1").address], "an address added on h2 is not on h1");
  await assertUdp(net, probe(probes, "c1"), "h1", true);
  const entry = await net.neighbour("c1", net.node("h1").address);
  assert.equal(entry?.mac, await net.macAddress("h1"), `c1's ARP entry for h1 points at h1's MAC, got ${JSON.stringify(entry)}`);
  assert.notEqual(await net.macAddress("h1"), await net.macAddress("h2"));
});

test("a symmetric partition blocks both directions, leaves each side whole, and heal restores", async (t) => {
  const s = await start(t, { hosts: 3 }, ["h1", "h2", "h3"]);
  if (s === null) return;
  const { net, probes } = s;
  await assertTcp(net, probe(probes, "h1"), "h2", true); // the control: served before the cut
  await net.partition(["h1"], ["h2", "h3"]);
  await assertTcp(net, probe(probes, "h1"), "h2", false);
  await assertTcp(net, probe(probes, "h2"), "h1", false);
  await assertUdp(net, probe(probes, "h3"), "h1", false);
  await assertUdp(net, probe(probes, "h1"), "h3", false);
  await assertTcp(net, probe(probes, "h2"), "h3", true);
  await net.heal();
  assert.doesNotMatch(await net.listFaultTable(), /phalanx_faults/, "heal deletes the fault table");
  await assertTcpRecovers(net, probe(probes, "h1"), "h2");
  await assertTcpRecovers(net, probe(probes, "h3"), "h1");
});

test("a partition drops ARP too: a node across it never learns the other's MAC", async (t) => {
  const s = await start(t, { hosts: 1, clients: 1 }, ["h1", "c1"]);
  if (s === null) return;
  const { net, probes } = s;
  await net.partition(["h1"], ["c1"]);
  await net.exec("c1", "ip", ["neigh", "flush", "all"]);
  await assertUdp(net, probe(probes, "c1"), "h1", false); // c1 asks for h1's MAC meanwhile
  // A filter in the hosts' own IP stacks would let ARP through and leave h1's MAC here.
  const entry = await net.neighbour("c1", net.node("h1").address);
  assert.ok(entry !== null && entry.mac === null, `c1 must not learn h1's MAC across a partition, got ${JSON.stringify(entry)}`);
});

test("a one-way cut drops A → B while B → A still arrives, even with cold neighbour caches", async (t) => {
  const s = await start(t, { hosts: 2 }, ["h1", "h2"]);
  if (s === null) return;
  const { net, probes } = s;
  const [a, b] = [probe(probes, "h1"), probe(probes, "h2")];
  await net.cutOneWay(["h1"], ["h2"]);
  // B must resolve A's MAC afresh: the cut lets ARP through so only IP is one-way.
  for (const n of ["h1", "h2"]) await run("ip", ["-n", net.node(n).namespace, "neigh", "flush", "all"]);
  await Promise.all([a.udpSend(net.node("h2").address, "a-to-b"), b.udpSend(net.node("h1").address, "b-to-a")]);
  const [bToA, aToB] = await Promise.all([a.received("b-to-a", SERVED_MS), b.received("a-to-b", BLOCKED_MS)]);
  assert.equal(bToA, true, "B → A must pass a cut of A → B");
  assert.equal(aToB, false, "A → B must be dropped");
  await net.heal();
  const until = Date.now() + SERVED_MS;
  let healed = false;
  while (!healed && Date.now() < until) {
    await a.udpSend(net.node("h2").address, "a-to-b-healed");
    healed = await b.received("a-to-b-healed", 200);
  }
  assert.equal(healed, true, `heal restores A → B within ${SERVED_MS} ms`);
});

test("a host in no partition group reaches both sides while the sides cannot reach each other", async (t) => {
  const s = await start(t, { hosts: 3 }, ["h1", "h2", "h3"]);
  if (s === null) return;
  const { net, probes } = s;
  await net.partition(["h1"], ["h2"]);
  await assertTcp(net, probe(probes, "h3"), "h1", true);
  await assertTcp(net, probe(probes, "h3"), "h2", true);
  await assertTcp(net, probe(probes, "h1"), "h3", true);
  await assertTcp(net, probe(probes, "h2"), "h3", true);
  await assertTcp(net, probe(probes, "h1"), "h2", false);
  await assertTcp(net, probe(probes, "h2"), "h1", false);
});

test("100 % loss drops every datagram, 0 % none, and 50 % some but not all", async (t) => {
  const s = await start(t, { hosts: 1, clients: 1 }, ["h1", "c1"]);
  if (s === null) return;
  const { net, probes } = s;
  const c1 = probe(probes, "c1");
  const h1 = net.node("h1").address;
  await net.setLoss("h1", 100);
  assert.equal(await c1.udpCount(h1, 100, BLOCKED_MS), 0);
  await net.setLoss("h1", 0);
  // First the path must come back (ARP for h1 failed under 100 % loss), then nothing may be lost.
  await assertUdp(net, c1, "h1", true);
  assert.equal(await c1.udpCount(h1, 100, SERVED_MS), 100);
  await net.setLoss("h1", 50);
  // Each round trip survives two 50 % draws; only bounds that fail with negligible odds.
  const echoed = await c1.udpCount(h1, 200, 2_000);
  assert.ok(echoed > 0 && echoed < 200, `50 % loss on h1 should let some but not all of 200 round trips through, got ${echoed}`);
});

test("a SIGSTOPped process answers nothing while its neighbour on the host does, and SIGCONT resumes it", async (t) => {
  const s = await start(t, { hosts: 1, clients: 1 }, ["h1", "c1"]);
  if (s === null) return;
  const { net, probes } = s;
  const second = await Prober.start(net, "h1", PROBE_PORT + 1);
  const target = probe(probes, "h1");
  const c1 = probe(probes, "c1");
  await net.freeze(target.process);
  assert.equal(processState(target.process.pid), "T");
  await assertUdp(net, c1, "h1", false);
  await assertTcp(net, c1, "h1", false); // the kernel accepts the connection; nobody echoes
  await assertUdp(net, c1, "h1", true, PROBE_PORT + 1);
  assert.notEqual(processState(second.process.pid), "T");
  await net.thaw(target.process);
  await assertUdp(net, c1, "h1", true);
  await assertTcp(net, c1, "h1", true);
});

test("freezing a host stops every process in its namespace and thawing resumes them all", async (t) => {
  const s = await start(t, { hosts: 2, clients: 1 }, ["h1", "h2", "c1"]);
  if (s === null) return;
  const { net, probes } = s;
  const second = await Prober.start(net, "h1", PROBE_PORT + 1);
  const c1 = probe(probes, "c1");
  const frozen = await net.freezeNode("h1");
  assert.deepEqual(new Set(frozen), new Set([probe(probes, "h1").process.pid, second.process.pid]));
  for (const pid of frozen) assert.equal(processState(pid), "T", `pid ${pid} on h1 should be stopped`);
  await assertUdp(net, c1, "h1", false);
  await assertUdp(net, c1, "h1", false, PROBE_PORT + 1);
  await assertUdp(net, c1, "h2", true);
  assert.deepEqual(new Set(await net.thawNode("h1")), new Set(frozen));
  await assertUdp(net, c1, "h1", true);
  await assertUdp(net, c1, "h1", true, PROBE_PORT + 1);
});

test("kill -9 leaves the process gone from its host and its port refused", async (t) => {
  const s = await start(t, { hosts: 1, clients: 1 }, ["h1", "c1"]);
  if (s === null) return;
  const { net, probes } = s;
  const target = probe(probes, "h1");
  await net.kill(target.process);
  assert.deepEqual(await target.process.exited, { code: null, signal: "SIGKILL" });
  assert.equal(pidAlive(target.process.pid), false);
  assert.ok(!(await run("ip", ["netns", "pids", net.node("h1").namespace])).split(/\s+/).includes(String(target.process.pid)));
  const r = await probe(probes, "c1").tcpEcho(net.node("h1").address, SERVED_MS);
  assert.deepEqual(r, { ok: false, error: "ECONNREFUSED" });
});

test("close removes every namespace, link, table and process, frozen ones included", async (t) => {
  const support = await hostSupport();
  if (!support.ok) return void t.skip(`needs root and network namespaces: ${support.reason}`);
  const linksBefore = await rootLinkNames();
  const net = await HostNet.start({ hosts: 2, clients: 1 });
  t.after(() => net.close());
  const p = await Prober.start(net, "h1");
  await net.partition(["h1"], ["h2"]);
  await net.setLoss("c1", 30);
  await net.freezeNode("h1");
  const ours = (await listNamespaces()).filter((n) => n.startsWith(net.prefix));
  assert.equal(ours.length, 4, `switch + 3 nodes, got ${ours.join(", ")}`);
  await net.close();
  assert.deepEqual((await listNamespaces()).filter((n) => n.startsWith(net.prefix)), []);
  assert.equal(pidAlive(p.process.pid), false);
  assert.doesNotMatch(await run("nft", ["list", "tables"]), /phalanx_faults/, "no fault table in the machine's own namespace");
  // All links lived inside the namespaces; none may appear in the machine's own.
  const added = [...(await rootLinkNames())].filter((n) => !linksBefore.has(n) && /^(br0|eth0|[hc]\d+)$/.test(n));
  assert.deepEqual(added, []);
});

/** The owner fixture's own prefix: only this process's cleanupStale(OWNER_PREFIX) looks at it. */
const OWNER_PREFIX = `o${process.pid}-`;

/** Starts testdata/hold-net.ts (a harness owner in another process) and reads what it created. */
async function startOwner(t: TestContext): Promise<{ owner: ReturnType<typeof spawn>; prefix: string; pids: number[] }> {
  const fixture = fileURLToPath(new URL("./testdata/hold-net.ts", import.meta.url));
  const owner = spawn(process.execPath, ["--import", "tsx", fixture, OWNER_PREFIX], { stdio: ["pipe", "pipe", "inherit"] });
  t.after(() => owner.kill("SIGKILL"));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("hold-net fixture did not report within 30 s")), 30_000);
    createInterface({ input: owner.stdout! }).once("line", (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    owner.once("exit", (code) => reject(new Error(`hold-net fixture exited with ${code}`)));
  });
  const { prefix, pids } = JSON.parse(line) as { prefix: string; pids: number[] };
  assert.ok(prefix.startsWith(`${OWNER_PREFIX}${owner.pid}-`), `prefix ${prefix} embeds the owner's pid`);
  assert.equal((await listNamespaces()).filter((n) => n.startsWith(prefix)).length, 3);
  return { owner, prefix, pids };
}

const exitOf = (child: ReturnType<typeof spawn>): Promise<unknown> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", r));

test("SIGTERM to the process owning a harness removes its namespaces and processes", async (t) => {
  const support = await hostSupport();
  if (!support.ok) return void t.skip(`needs root and network namespaces: ${support.reason}`);
  const { owner, prefix, pids } = await startOwner(t);
  owner.kill("SIGTERM");
  await exitOf(owner);
  assert.equal(owner.signalCode, "SIGTERM", "the signal still ends the owner after cleanup");
  assert.deepEqual((await listNamespaces()).filter((n) => n.startsWith(prefix)), []);
  for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} outlived its harness`);
});

test("what a SIGKILLed owner leaves behind, cleanupStale removes and nothing else", async (t) => {
  const support = await hostSupport();
  if (!support.ok) return void t.skip(`needs root and network namespaces: ${support.reason}`);
  const live = await HostNet.start({ hosts: 1, namespacePrefix: OWNER_PREFIX });
  t.after(() => live.close());
  const { owner, prefix, pids } = await startOwner(t);
  owner.kill("SIGKILL");
  await exitOf(owner);
  assert.equal((await listNamespaces()).filter((n) => n.startsWith(prefix)).length, 3, "SIGKILL leaves the namespaces (no hook can run)");
  const removed = await cleanupStale(OWNER_PREFIX);
  for (const ns of ["sw", "h1", "h2"]) assert.ok(removed.includes(`${prefix}${ns}`), `cleanupStale should remove ${prefix}${ns}, removed ${removed.join(", ")}`);
  assert.deepEqual((await listNamespaces()).filter((n) => n.startsWith(prefix)), []);
  for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} outlived cleanupStale`);
  assert.equal((await listNamespaces()).filter((n) => n.startsWith(live.prefix)).length, 2, "a live process's harness is left alone");
});
