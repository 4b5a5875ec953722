// Active checks against real tiny servers: rise and fall through the pool, http statuses, tcp.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import type { AddressInfo } from "node:net";
import { healthCheckSchema } from "../../config/health.js";
import { Pool } from "../pool/pool.js";
import { seededRandomInt } from "../balance/create.js";
import { probe, startActiveCheck } from "./activeCheck.js";
import type { PoolSpec } from "../../config/proxy.js";

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("http probe accepts 2xx/3xx by default, or exactly the configured statuses", async (t) => {
  let status = 200;
  const server = createServer((req, res) => {
    res.statusCode = req.url === "/healthz" ? status : 404;
    res.end("x");
  });
  const port = await listen(server);
  t.after(() => server.close());
  const target = { id: "a", host: "127.0.0.1", port, weight: 1 };
  const spec = healthCheckSchema.parse({ type: "http", path: "/healthz" });
  assert.deepEqual(await probe(spec, target), { ok: true, detail: "HTTP 200" });
  status = 302;
  assert.equal((await probe(spec, target)).ok, true);
  status = 500;
  assert.deepEqual(await probe(spec, target), { ok: false, detail: "HTTP 500" });
  const only503 = healthCheckSchema.parse({ type: "http", path: "/healthz", expectStatuses: [503] });
  status = 503;
  assert.equal((await probe(only503, target)).ok, true);
});

test("tcp probe succeeds on connect and fails on a closed port; http probe times out on a silent server", async (t) => {
  const tcp = createTcpServer((s) => s.destroy());
  const port = await listen(tcp);
  const silent = createTcpServer(() => {});
  const silentPort = await listen(silent);
  t.after(() => {
    tcp.close();
    silent.close();
  });
  const spec = healthCheckSchema.parse({ type: "tcp", timeoutMs: 200, intervalMs: 200 });
  assert.equal((await probe(spec, { id: "a", host: "127.0.0.1", port, weight: 1 })).ok, true);
  tcp.close();
  await new Promise((r) => tcp.once("close", r));
  assert.equal((await probe(spec, { id: "a", host: "127.0.0.1", port, weight: 1 })).ok, false);
  const http = healthCheckSchema.parse({ type: "http", timeoutMs: 100, intervalMs: 100 });
  const r = await probe(http, { id: "s", host: "127.0.0.1", port: silentPort, weight: 1 });
  assert.deepEqual(r, { ok: false, detail: "no response within 100 ms" });
});

test("a pool takes a backend out after `fall` failed checks and back after `rise` good ones", async (t) => {
  let healthy = true;
  const server = createServer((_req, res) => {
    res.statusCode = healthy ? 200 : 503;
    res.end();
  });
  const port = await listen(server);
  t.after(() => server.close());
  const spec: PoolSpec = {
    name: "p",
    algorithm: "round-robin",
    hashOn: { kind: "none" },
    backends: [{ id: "a", host: "127.0.0.1", port, weight: 1 }],
    healthCheck: healthCheckSchema.parse({ type: "http", path: "/", intervalMs: 20, timeoutMs: 20, rise: 2, fall: 3 }),
    outlier: null,
    retry: { budgetPercent: 20, minRetriesPerSecond: 3, maxAttempts: 3 },
  };
  const changes: string[] = [];
  const pool = new Pool(spec, {
    now: () => performance.now(),
    randomInt: seededRandomInt(1),
    startCheck: startActiveCheck,
    observer: {
      backendHealthChanged: (_p, id, up) => changes.push(`${id} ${up ? "up" : "down"}`),
      backendEjected: () => {},
      backendEjectionRefused: () => {},
      backendReturned: () => {},
      backendRemoved: () => {},
    },
  });
  t.after(() => pool.close());
  const req = { clientIp: "10.0.0.1" };
  assert.equal(pool.pick(req)?.id, "a");
  healthy = false;
  await until(() => pool.pick(req) === null, "the backend to go down");
  assert.deepEqual(changes, ["a down"]);
  healthy = true;
  await until(() => pool.pick(req) !== null, "the backend to come back");
  assert.deepEqual(changes, ["a down", "a up"]);
});
