// The runtime end to end with the real HTTP frontend: all backends down gives a fast 503, a live
// reconfig keeps an established keep-alive connection, a planned drain under load fails nothing,
// and kill -9 of a backend under load fails only requests that could not be retried.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { Agent, request, type IncomingMessage } from "node:http";
import { connect, createServer, type AddressInfo } from "node:net";
import { pino } from "pino";
import { parseProxyConfig } from "../../config/loadProxy.js";
import { formatIssue } from "../../config/errors.js";
import type { ProxyConfig } from "../../config/proxy.js";
import { BUILTIN_FRONTEND_FACTORIES as factories } from "./factories.js";
import { ProxyRuntime } from "./runtime.js";
import { spawnBackend, startBackend, startLoad, waitFor, type LoadResult } from "./testkit.js";


const silent = pino({ level: "silent" });

function config(yaml: string): ProxyConfig {
  const parsed = parseProxyConfig(yaml, "integration.yaml");
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.issues.map(formatIssue).join("\n"));
  return parsed.value;
}

async function startRuntime(t: TestContext, yaml: string): Promise<{ runtime: ProxyRuntime; port: number }> {
  const runtime = new ProxyRuntime({ logger: silent, factories, drainGraceMs: 2000 });
  t.after(() => runtime.stop(500));
  const result = await runtime.apply(config(yaml));
  assert.deepEqual(result.failures, []);
  const address = runtime.frontendAddress("web");
  assert.ok(address);
  return { runtime, port: address.port };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function get(port: number, path: string, agent?: Agent): Promise<{ status: number; body: string; localPort: number | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: agent ?? false }, (res: IncomingMessage) => {
      const localPort = res.socket.localPort;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, localPort, reused: req.reusedSocket }));
    });
    req.on("error", reject);
    req.end();
  });
}

function summarise(results: readonly LoadResult[]): string {
  const failed = results.filter((r) => r.status !== 200);
  return `${results.length} requests, ${failed.length} failed: ${JSON.stringify(failed.slice(0, 5))}`;
}

test("when every backend is down the proxy answers 503 at once", async (t) => {
  const [p1, p2] = [await freePort(), await freePort()];
  const { runtime, port } = await startRuntime(t, `
frontends:
  - name: web
    listen: 127.0.0.1:0
    routes: [{ pathPrefix: /empty, pool: empty }, { pool: dead }]
pools:
  - name: empty
  - name: dead
    backends: [{ id: a, address: 127.0.0.1:${p1} }, { id: b, address: 127.0.0.1:${p2} }]
    healthCheck: { type: tcp, intervalMs: 20, timeoutMs: 20, fall: 1, rise: 1 }
`);
  await waitFor(() => runtime.pool("dead")!.snapshot().every((m) => m.health === "down"), "both backends to be marked down");
  for (const path of ["/", "/empty/x"]) {
    const started = performance.now();
    const r = await get(port, path);
    const elapsedMs = performance.now() - started;
    assert.equal(r.status, 503, path);
    assert.ok(r.body.length > 0, "the 503 carries a body saying why");
    assert.ok(elapsedMs < 500, `503 took ${elapsedMs} ms`);
  }
});

test("a live reconfig keeps an established keep-alive connection working", async (t) => {
  const one = await startBackend("one");
  const two = await startBackend("two");
  t.after(() => Promise.all([one.close(), two.close()]));
  const yaml = (pool: string): string => `
frontends:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: ${pool} }] }
pools:
  - { name: p1, backends: [{ id: one, address: 127.0.0.1:${one.port} }] }
  - { name: p2, backends: [{ id: two, address: 127.0.0.1:${two.port} }] }
`;
  const { runtime, port } = await startRuntime(t, yaml("p1"));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const first = await get(port, "/", agent);
  assert.equal(first.body, "one");
  const socketPort = first.localPort;
  assert.ok(socketPort);
  // Routes move to another pool, and p1 loses its backend.
  const next = config(yaml("p2").replace(`[{ id: one, address: 127.0.0.1:${one.port} }]`, "[]"));
  await runtime.apply(next);
  const second = await get(port, "/", agent);
  assert.equal(second.body, "two");
  assert.equal(second.reused, true, "the request went over the established connection");
  assert.equal(second.localPort, socketPort);
});

test("removing a backend from the config under load fails zero requests", async (t) => {
  const a = await startBackend("a", 2);
  const b = await startBackend("b", 2);
  t.after(() => Promise.all([a.close(), b.close()]));
  const yaml = (ids: string[]): string => `
frontends:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  - name: app
    algorithm: least-connections
    backends: [${ids.map((id) => `{ id: ${id}, address: 127.0.0.1:${id === "a" ? a.port : b.port} }`).join(", ")}]
`;
  const { runtime, port } = await startRuntime(t, yaml(["a", "b"]));
  const load = startLoad(port, { concurrency: 8, postEvery: 4 });
  await waitFor(() => load.count() >= 200, "load to get going");
  assert.ok(b.served() > 0, "b served before the drain");
  await runtime.apply(config(yaml(["a"])));
  await runtime.pool("app")!.drained();
  // The drained backend goes away entirely, as in a rolling restart.
  await b.close();
  const servedByB = b.served();
  const before = load.count();
  await waitFor(() => load.count() >= before + 200, "load to continue after the drain");
  const results = await load.stop();
  assert.ok(results.every((r) => r.status === 200), summarise(results));
  assert.equal(b.served(), servedByB);
  assert.ok(results.slice(-100).every((r) => r.body === "a"));
});

test("kill -9 of a backend under load fails only requests that could not be retried", async (t) => {
  // Only the victim needs a process of its own; the survivor can live in this one.
  const [victim, survivor] = await Promise.all([spawnBackend("victim", 5), startBackend("survivor", 5)]);
  t.after(() => Promise.all([victim.kill("SIGKILL"), survivor.close()]));
  const { runtime, port } = await startRuntime(t, `
frontends:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  - name: app
    backends: [{ id: victim, address: 127.0.0.1:${victim.port} }, { id: survivor, address: 127.0.0.1:${survivor.port} }]
    outlier: { consecutiveFailures: 3, baseEjectionMs: 30000 }
    retry: { budgetPercent: 50, minRetriesPerSecond: 20, maxAttempts: 3 }
`);
  const concurrency = 8;
  const load = startLoad(port, { concurrency, postEvery: 3 });
  await waitFor(() => load.count() >= 200, "load to get going");
  await victim.kill("SIGKILL");
  const before = load.count();
  await waitFor(() => load.count() >= before + 200, "load to continue after the kill");
  const results = await load.stop();
  const failed = results.filter((r) => r.status !== 200);
  t.diagnostic(`kill -9: ${results.length} requests, ${failed.length} failed (POSTs in flight on the killed backend)`);
  // Only POSTs already sent to the victim may fail (a POST cannot be replayed safely), at most
  // one per client connection; every GET is retried on the survivor.
  assert.ok(failed.every((r) => r.method === "POST"), summarise(results));
  assert.ok(failed.length <= concurrency, summarise(results));
  assert.ok(results.slice(-100).every((r) => r.body === "survivor"), "the dead backend no longer gets traffic");
  assert.ok(runtime.pool("app")!.snapshot().find((m) => m.id === "victim")?.ejected, "the dead backend is ejected");
});

test("a tcp frontend keeps an established connection through a reconfig that moves its pool", async (t) => {
  const echo = (tag: string) => createServer((s) => s.on("data", (d) => s.write(`${tag}:${d.toString()}`)));
  const first = echo("one");
  const second = echo("two");
  const ports: number[] = [];
  for (const server of [first, second]) {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    ports.push((server.address() as AddressInfo).port);
  }
  t.after(() => {
    first.close();
    second.close();
  });
  const yaml = (poolName: string): string => `
frontends:
  - { name: db, listen: 127.0.0.1:0, protocol: tcp, pool: ${poolName} }
pools:
  - { name: p1, backends: [{ id: one, address: 127.0.0.1:${ports[0]} }] }
  - { name: p2, backends: [{ id: two, address: 127.0.0.1:${ports[1]} }] }
`;
  const runtime = new ProxyRuntime({ logger: silent, factories, drainGraceMs: 500 });
  t.after(() => runtime.stop(200));
  await runtime.apply(config(yaml("p1")));
  const port = runtime.frontendAddress("db")!.port;
  const talk = async (): Promise<{ send: (text: string) => Promise<string>; end: () => void }> => {
    const socket = connect({ host: "127.0.0.1", port });
    t.after(() => socket.destroy());
    await new Promise((resolve) => socket.once("connect", resolve));
    return {
      send: (text) =>
        new Promise((resolve) => {
          socket.once("data", (d) => resolve(d.toString()));
          socket.write(text);
        }),
      end: () => socket.end(),
    };
  };
  const old = await talk();
  assert.equal(await old.send("a"), "one:a");
  await runtime.apply(config(yaml("p2").replace(`[{ id: one, address: 127.0.0.1:${ports[0]} }]`, "[]")));
  assert.equal(await old.send("b"), "one:b", "the established connection still reaches its backend");
  const fresh = await talk();
  assert.equal(await fresh.send("c"), "two:c", "new connections go to the new pool");
  old.end();
  fresh.end();
});
