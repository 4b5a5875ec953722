// The node's proxy for exposed services, live: an in-process 3-node cluster, the layout's keys
// written straight into the store through the leader (no control plane needed), real HTTP backends
// that count what they serve, and the proxy of a follower node (so every change travels through
// Raft before it reaches the proxy). Each test asserts on the backends' own counts.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { pino } from "pino";
import { serviceObjectSchema, toServiceSpec } from "../config/service.js";
import { prefixRange } from "../kv/keys.js";
import type { Command } from "../kv/store.js";
import { startBackend, startLoad, waitFor, type TestBackend } from "../proxy/runtime/testkit.js";
import { LocalCluster } from "./testing.js";
import type { Replica } from "./replica.js";
import { startNodeProxy, type NodeProxy } from "./node-proxy.js";

const enc = new TextEncoder();

interface Rig {
  readonly leader: Replica;
  readonly follower: Replica;
  readonly proxy: NodeProxy;
  propose(command: Command): Promise<unknown>;
  put(key: string, value: unknown, lease?: number): Promise<void>;
  grantLease(ttlMs: number): Promise<number>;
  /** Registers node `node` on a new lease and returns the lease. */
  registerNode(node: number): Promise<number>;
  putInstance(node: number, lease: number, backend: TestBackend, fields?: { healthy?: boolean; state?: string; service?: string }): Promise<void>;
  putSpec(service: string, expose: Record<string, unknown>, replicas?: number, listenHost?: string): Promise<void>;
  /** The port the proxy serves `service` on. */
  port(service: string): number;
  /** Waits until the proxy's node has applied everything the leader applied so far, and the proxy has taken it in. */
  caughtUp(): Promise<void>;
}

async function rig(t: TestContext): Promise<Rig> {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  const leader = await cluster.waitForLeader();
  const followerId = [...cluster.members.keys()].find((id) => id !== leader.id);
  assert.ok(followerId !== undefined);
  const follower = cluster.replica(followerId);
  const proxy = await startNodeProxy(follower, { enabled: true, drainGraceMs: 200 }, pino({ level: "silent" }));
  assert.ok(proxy !== null);
  t.after(() => proxy.stop());
  const propose = (command: Command): Promise<unknown> => leader.propose(command);
  const put = async (key: string, value: unknown, lease?: number): Promise<void> => {
    await propose({ type: "put", key, value: enc.encode(JSON.stringify(value)), ...(lease !== undefined ? { lease } : {}) });
  };
  const grantLease = async (ttlMs: number): Promise<number> => {
    const r = (await propose({ type: "leaseGrant", id: 0, ttlMs })) as { id: number };
    return r.id;
  };
  const caughtUp = async (): Promise<void> => {
    const target = leader.kv.revision;
    await waitFor(() => follower.kv.revision >= target, `node ${follower.id} to apply revision ${target}`);
    // The watch hands the batch over on the next turn; the runtime applies it after that.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    await proxy.settled();
  };
  return {
    leader,
    follower,
    proxy,
    propose,
    put,
    grantLease,
    caughtUp,
    async registerNode(node) {
      const lease = await grantLease(60_000);
      await put(`/phalanx/nodes/${node}`, { id: node, name: `n${node}`, labels: {}, host: "127.0.0.1", clientAddress: "127.0.0.1:1", startedAtMs: Date.now(), version: "test" }, lease);
      return lease;
    },
    async putInstance(node, lease, backend, fields = {}) {
      const healthy = fields.healthy ?? true;
      await put(`/phalanx/instances/${node}/${backend.name}`, {
        service: fields.service ?? "web", instanceId: backend.name, node, host: "127.0.0.1", revision: "r1",
        state: fields.state ?? (healthy ? "healthy" : "unhealthy"), healthy, ports: { http: backend.port }, restarts: 0, startedAtMs: Date.now(), message: null,
      }, lease);
    },
    async putSpec(service, expose, replicas = 3, listenHost = "127.0.0.1") {
      const spec = toServiceSpec(serviceObjectSchema.parse({ name: service, run: { command: "app" }, replicas, ports: [{ name: "http" }], expose: { listen: `${listenHost}:9`, ...expose } }));
      // Port 0: the test's frontends take ephemeral ports (a real spec must name one).
      const stored = { ...spec, expose: spec.expose === null ? null : { ...spec.expose, listen: { host: listenHost, port: 0 } } };
      await put(`/phalanx/specs/${service}`, { spec: stored, revision: `${service}-r`, appliedAtMs: Date.now() });
    },
    port(service) {
      const a = proxy.runtime.frontendAddress(service);
      assert.ok(a !== undefined, `the proxy serves ${service}`);
      return a.port;
    },
  };
}

function keysUnder(replica: Replica, prefix: string): number {
  const r = replica.kv.range(prefixRange(prefix));
  assert.ok(r.ok, "the local range works");
  return r.kvs.length;
}

function get(port: number, agent?: Agent, host = "127.0.0.1"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/", ...(agent !== undefined ? { agent } : {}) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function backends(t: TestContext, ...names: string[]): Promise<TestBackend[]> {
  const list = await Promise.all(names.map((n) => startBackend(n)));
  t.after(() => Promise.all(list.map((b) => b.close())));
  return list;
}

/** Sends `n` requests one after another; returns the bodies (backend names). */
async function spray(port: number, n: number, host = "127.0.0.1"): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const bodies: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await get(port, agent, host);
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
      bodies.push(r.body);
    }
    return bodies;
  } finally {
    agent.destroy();
  }
}

test("instances that appear are routed to; one reported unhealthy gets no new request", async (t) => {
  const r = await rig(t);
  const [a, b] = await backends(t, "a", "b");
  const lease1 = await r.registerNode(1);
  const lease2 = await r.registerNode(2);
  await r.putSpec("web", {});
  await r.putInstance(1, lease1, a!);
  await r.putInstance(2, lease2, b!);
  await r.caughtUp();
  const bodies = await spray(r.port("web"), 20);
  assert.ok(bodies.includes("a") && bodies.includes("b"), `both instances serve: ${bodies.join(",")}`);

  await r.putInstance(1, lease1, a!, { healthy: false });
  await r.caughtUp();
  const servedByA = a!.served();
  const after = await spray(r.port("web"), 20);
  assert.equal(a!.served(), servedByA, "no request reached the unhealthy instance");
  assert.deepEqual(new Set(after), new Set(["b"]));
});

test("an instance whose node lease is revoked or expires gets no request once its key is gone", async (t) => {
  const r = await rig(t);
  const [a, b, c] = await backends(t, "a", "b", "c");
  const lease1 = await r.registerNode(1);
  const lease2 = await r.registerNode(2);
  // Node 3 keeps a short lease alive itself, as an agent does, until it "dies".
  const lease3 = await r.grantLease(600);
  await r.put("/phalanx/nodes/3", { id: 3, name: "n3", labels: {}, host: "127.0.0.1" }, lease3);
  const keepAlive = setInterval(() => void r.leader.keepAlive(lease3).catch(() => undefined), 100);
  t.after(() => clearInterval(keepAlive));
  await r.putSpec("web", {});
  await r.putInstance(1, lease1, a!);
  await r.putInstance(2, lease2, b!);
  await r.putInstance(3, lease3, c!);
  await r.caughtUp();
  assert.deepEqual(new Set(await spray(r.port("web"), 30)), new Set(["a", "b", "c"]));

  await r.propose({ type: "leaseRevoke", id: lease1 });
  await r.caughtUp();
  assert.equal(keysUnder(r.follower, "/phalanx/instances/1/"), 0, "the revoke deleted node 1's instance key");
  const servedByA = a!.served();
  await spray(r.port("web"), 30);
  assert.equal(a!.served(), servedByA, "no request reached the instance of the revoked lease");

  clearInterval(keepAlive);
  await waitFor(() => keysUnder(r.follower, "/phalanx/instances/3/") === 0, "node 3's lease to expire", 10_000);
  await r.caughtUp();
  const servedByC = c!.served();
  const after = await spray(r.port("web"), 30);
  assert.equal(c!.served(), servedByC, "no request reached the instance of the expired lease");
  assert.deepEqual(new Set(after), new Set(["b"]));
});

test("an instance key left by an earlier life of its node's agent (another lease) is not routed to", async (t) => {
  const r = await rig(t);
  const [a, b] = await backends(t, "a", "b");
  const oldLease = await r.registerNode(1);
  const lease2 = await r.registerNode(2);
  await r.putSpec("web", {});
  await r.putInstance(1, oldLease, a!);
  await r.putInstance(2, lease2, b!);
  await r.registerNode(1); // the restarted agent registers on a new lease; the old key lingers
  await r.caughtUp();
  const servedByA = a!.served();
  assert.deepEqual(new Set(await spray(r.port("web"), 20)), new Set(["b"]));
  assert.equal(a!.served(), servedByA);
});

test("a change of a spec's expose (algorithm, listen address) applies live", async (t) => {
  const r = await rig(t);
  const [a, b] = await backends(t, "a", "b");
  const lease1 = await r.registerNode(1);
  await r.putSpec("web", { algorithm: "round-robin" });
  await r.putInstance(1, lease1, a!);
  await r.putInstance(1, lease1, b!);
  await r.caughtUp();
  const oldPort = r.port("web");
  assert.equal(new Set(await spray(oldPort, 10)).size, 2, "round-robin uses both");

  await r.putSpec("web", { sticky: { kind: "clientIp" } });
  await r.caughtUp();
  assert.equal(r.proxy.runtime.pool("web")?.settings.algorithm, "consistent-hash");
  assert.equal(new Set(await spray(oldPort, 20)).size, 1, "one client IP sticks to one instance");

  await r.putSpec("web", { sticky: { kind: "clientIp" } }, 3, "127.0.0.2");
  await r.caughtUp();
  await waitFor(() => r.proxy.runtime.frontendAddress("web")?.host === "127.0.0.2", "the frontend to move");
  const bodies = await spray(r.port("web"), 5, "127.0.0.2");
  assert.equal(bodies.length, 5);
  await assert.rejects(get(oldPort), /ECONNREFUSED/, "the old address no longer accepts");
});

test("a draining node's instance keeps serving until its replacement appears, then gets no new request", async (t) => {
  const r = await rig(t);
  const [a, b, c] = await backends(t, "a", "b", "c");
  const lease1 = await r.registerNode(1);
  const lease2 = await r.registerNode(2);
  const lease3 = await r.registerNode(3);
  await r.putSpec("web", {}, 2);
  await r.putInstance(1, lease1, a!);
  await r.putInstance(2, lease2, b!);
  await r.put("/phalanx/drain/1", { sinceMs: Date.now() });
  await r.caughtUp();
  assert.deepEqual(new Set(await spray(r.port("web"), 20)), new Set(["a", "b"]), "still serving while no replacement is up");

  await r.putInstance(3, lease3, c!, { state: "starting", healthy: false });
  await r.caughtUp();
  assert.deepEqual(new Set(await spray(r.port("web"), 20)), new Set(["a", "b"]), "a replacement that is not healthy yet does not count");

  await r.putInstance(3, lease3, c!);
  await r.caughtUp();
  const servedByA = a!.served();
  assert.deepEqual(new Set(await spray(r.port("web"), 20)), new Set(["b", "c"]));
  assert.equal(a!.served(), servedByA, "no new request went to the drained instance");
});

test("under steady load, an instance that dies and then loses its key fails no request", async (t) => {
  const r = await rig(t);
  const [a, b, c] = await backends(t, "a", "b", "c");
  const lease1 = await r.registerNode(1);
  const lease2 = await r.registerNode(2);
  const lease3 = await r.registerNode(3);
  await r.putSpec("web", {});
  await r.putInstance(1, lease1, a!);
  await r.putInstance(2, lease2, b!);
  await r.putInstance(3, lease3, c!);
  await r.caughtUp();

  const load = startLoad(r.port("web"), { concurrency: 4 });
  let results: Awaited<ReturnType<typeof load.stop>> = [];
  try {
    await waitFor(() => load.count() >= 100, "100 requests before the failure");
    await c!.close(); // the process dies: refused connects and reset keep-alives, retried elsewhere
    const atDeath = load.count();
    await waitFor(() => load.count() >= atDeath + 100, "100 requests with the dead instance still in the store");
    await r.propose({ type: "leaseRevoke", id: lease3 }); // then its node's lease goes
    await r.caughtUp();
    const atRemoval = load.count();
    await waitFor(() => load.count() >= atRemoval + 100, "100 requests after its key vanished");
  } finally {
    results = await load.stop();
  }
  const failed = results.filter((x) => x.status !== 200);
  assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 3))}`);
  assert.ok(results.length >= 300);
});
