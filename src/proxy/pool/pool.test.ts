// The pool over a live backend set, driven by a fake clock: draining, health filtering, outlier
// ejection and return, exclusion for retries, membership changes and the retry budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandomInt } from "../balance/create.js";
import type { PoolSpec } from "../../config/proxy.js";
import type { BackendEndpoint } from "../types.js";
import { Pool } from "./pool.js";
import { RetryBudget } from "./retryBudget.js";

const ep = (id: string, weight = 1): BackendEndpoint => ({ id, host: "127.0.0.1", port: 1000 + id.charCodeAt(0), weight });
const req = { clientIp: "10.0.0.1" };

function makePool(backends: BackendEndpoint[], overrides: Partial<PoolSpec> = {}): { pool: Pool; clock: { ms: number }; events: string[] } {
  const clock = { ms: 0 };
  const events: string[] = [];
  const spec: PoolSpec = {
    name: "p",
    algorithm: "round-robin",
    hashOn: { kind: "none" },
    backends,
    healthCheck: null,
    outlier: { consecutiveFailures: 2, baseEjectionMs: 1000, maxEjectionMs: 8000, maxEjectionPercent: 50 },
    retry: { budgetPercent: 20, minRetriesPerSecond: 0, maxAttempts: 3 },
    ...overrides,
  };
  const pool = new Pool(spec, {
    now: () => clock.ms,
    randomInt: seededRandomInt(9),
    observer: {
      backendHealthChanged: (_p, id, up) => events.push(`${id} ${up ? "up" : "down"}`),
      backendEjected: (_p, id, ms) => events.push(`${id} ejected ${ms}`),
      backendEjectionRefused: (_p, id) => events.push(`${id} refused`),
      backendReturned: (_p, id) => events.push(`${id} returned`),
      backendRemoved: (_p, id) => events.push(`${id} removed`),
    },
  });
  return { pool, clock, events };
}

function picks(pool: Pool, n: number): string[] {
  return Array.from({ length: n }, () => pool.pick(req)?.id ?? "none");
}

test("pick returns null when the pool is empty", () => {
  assert.equal(makePool([]).pool.pick(req), null);
});

test("a removed backend gets no new picks, finishes its in-flight attempts, then is dropped", async () => {
  const { pool, events } = makePool([ep("a"), ep("b")]);
  const finishA1 = pool.begin("a");
  const finishA2 = pool.begin("a");
  pool.setBackends([ep("b")]);
  assert.deepEqual(picks(pool, 4), ["b", "b", "b", "b"]);
  assert.deepEqual(pool.snapshot().find((m) => m.id === "a"), { id: "a", active: 2, draining: true, health: "up", ejected: false });
  let drained = false;
  void pool.drained().then(() => (drained = true));
  finishA1("success", 1);
  await Promise.resolve();
  assert.equal(drained, false);
  finishA2("success", 1);
  finishA2("success", 1); // a second call is ignored
  await pool.drained();
  assert.equal(drained, true);
  assert.deepEqual(pool.snapshot().map((m) => m.id), ["b"]);
  assert.deepEqual(events, ["a removed"]);
});

test("a draining backend that comes back into the config serves again", () => {
  const { pool } = makePool([ep("a"), ep("b")]);
  const finish = pool.begin("a");
  pool.setBackends([ep("b")]);
  pool.setBackends([ep("a"), ep("b")]);
  assert.deepEqual(picks(pool, 4).sort(), ["a", "a", "b", "b"]);
  finish("success", 1);
  assert.equal(pool.snapshot().length, 2);
});

test("weight changes apply to new picks without touching in-flight counts", () => {
  const { pool } = makePool([ep("a"), ep("b")], { algorithm: "weighted-round-robin" });
  const finish = pool.begin("a");
  pool.setBackends([ep("a", 3), ep("b", 1)]);
  const counts = picks(pool, 8).reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
  assert.deepEqual([counts.get("a"), counts.get("b")], [6, 2]);
  assert.equal(pool.snapshot().find((m) => m.id === "a")?.active, 1);
  finish("success", 1);
});

test("consecutive failures eject a backend until its time is up, with backoff", () => {
  const { pool, clock, events } = makePool([ep("a"), ep("b"), ep("c"), ep("d")]);
  for (let i = 0; i < 2; i++) pool.begin("a")("connect_error", 1);
  assert.ok(!picks(pool, 6).includes("a"));
  clock.ms = 999;
  assert.ok(!picks(pool, 6).includes("a"));
  clock.ms = 1000;
  assert.ok(picks(pool, 4).includes("a"));
  for (let i = 0; i < 2; i++) pool.begin("a")("http_5xx", 1);
  clock.ms = 2999;
  assert.ok(!picks(pool, 6).includes("a"));
  clock.ms = 3000;
  assert.ok(picks(pool, 4).includes("a"));
  assert.deepEqual(events, ["a ejected 1000", "a returned", "a ejected 2000", "a returned"]);
});

test("turning outlier detection off returns ejected backends at once", () => {
  const { pool } = makePool([ep("a"), ep("b")]);
  for (let i = 0; i < 2; i++) pool.begin("a")("connect_error", 1);
  assert.deepEqual(picks(pool, 2), ["b", "b"]);
  pool.update({ ...pool.settings, outlier: null });
  assert.deepEqual(picks(pool, 4).sort(), ["a", "a", "b", "b"]);
});

test("the ejection cap keeps at least half of the pool serving", () => {
  const { pool, events } = makePool([ep("a"), ep("b"), ep("c"), ep("d")]);
  for (const id of ["a", "b", "c"]) for (let i = 0; i < 2; i++) pool.begin(id)("reset", 1);
  assert.deepEqual(events, ["a ejected 1000", "b ejected 1000", "c refused"]);
  assert.deepEqual(picks(pool, 4).sort(), ["c", "c", "d", "d"]);
});

test("excluded backends are skipped and null comes back when all are excluded", () => {
  const { pool } = makePool([ep("a"), ep("b")]);
  assert.deepEqual(Array.from({ length: 3 }, () => pool.pick(req, new Set(["a"]))?.id), ["b", "b", "b"]);
  assert.equal(pool.pick(req, new Set(["a", "b"])), null);
});

test("consistent hashing on a header sticks to one backend and falls back to the client address", () => {
  const { pool } = makePool([ep("a"), ep("b"), ep("c")], { algorithm: "consistent-hash", hashOn: { kind: "header", name: "x-user" } });
  const first = pool.pick({ clientIp: "10.0.0.1", hashKey: "user-7" })?.id;
  for (let i = 0; i < 20; i++) assert.equal(pool.pick({ clientIp: `10.0.0.${i}`, hashKey: "user-7" })?.id, first);
  const byIp = pool.pick({ clientIp: "10.9.9.9" })?.id;
  assert.equal(pool.pick({ clientIp: "10.9.9.9" })?.id, byIp);
});

test("least connections through the pool counts attempts from begin() to finish", () => {
  const { pool } = makePool([ep("a"), ep("b")], { algorithm: "least-connections" });
  const open = [pool.begin("a"), pool.begin("a")];
  assert.deepEqual(picks(pool, 3), ["b", "b", "b"]);
  for (const f of open) f("success", 1);
});

test("the retry budget allows retries up to the percentage of recent requests", () => {
  const budget = new RetryBudget({ budgetPercent: 20, minRetriesPerSecond: 0 });
  for (let i = 0; i < 100; i++) budget.recordRequest(500);
  let granted = 0;
  for (let i = 0; i < 50; i++) {
    if (!budget.tryAcquire(600)) continue;
    granted += 1;
    budget.recordRequest(600); // the retry's own attempt does not enlarge the budget
  }
  assert.equal(granted, 20);
  // The window slides: 10 s later the old requests no longer count.
  assert.equal(budget.tryAcquire(10_600), false);
});

test("the retry budget grants a floor of retries per second even without traffic", () => {
  const budget = new RetryBudget({ budgetPercent: 0, minRetriesPerSecond: 3 });
  const granted = (nowMs: number): number => Array.from({ length: 10 }, () => budget.tryAcquire(nowMs)).filter(Boolean).length;
  assert.equal(granted(0), 3);
  assert.equal(granted(500), 0);
  assert.equal(granted(1000), 3);
});

test("the pool's retry budget counts the attempts begun through it", () => {
  const { pool, clock } = makePool([ep("a")], { retry: { budgetPercent: 50, minRetriesPerSecond: 0, maxAttempts: 3 } });
  assert.equal(pool.tryAcquireRetry(), false);
  for (let i = 0; i < 4; i++) pool.begin("a")("success", 1);
  clock.ms = 10;
  for (let i = 0; i < 2; i++) {
    assert.equal(pool.tryAcquireRetry(), true);
    pool.begin("a")("success", 1);
  }
  assert.equal(pool.tryAcquireRetry(), false);
});

test("the pool exposes its retry.maxAttempts to the frontends, and a reload changes it", () => {
  const { pool } = makePool([ep("a")], { retry: { budgetPercent: 20, minRetriesPerSecond: 0, maxAttempts: 5 } });
  assert.equal(pool.maxAttempts, 5);
  pool.update({ ...pool.settings, retry: { budgetPercent: 20, minRetriesPerSecond: 0, maxAttempts: 1 } });
  assert.equal(pool.maxAttempts, 1);
});

test("close drains every backend", async () => {
  const { pool } = makePool([ep("a"), ep("b")]);
  const finish = pool.begin("b");
  const closed = pool.close();
  assert.equal(pool.pick(req), null);
  finish("success", 1);
  await closed;
  assert.deepEqual(pool.snapshot(), []);
});

test("with health checks, backends of the first config serve at once and later joiners wait for a passing check", () => {
  const results = new Map<string, (ok: boolean, detail: string) => void>();
  const stopped: string[] = [];
  const spec: PoolSpec = {
    name: "p",
    algorithm: "round-robin",
    hashOn: { kind: "none" },
    backends: [ep("a")],
    healthCheck: { type: "tcp", intervalMs: 1000, timeoutMs: 100, rise: 2, fall: 2 },
    outlier: null,
    retry: { budgetPercent: 20, minRetriesPerSecond: 3, maxAttempts: 3 },
  };
  const pool = new Pool(spec, {
    now: () => 0,
    randomInt: seededRandomInt(1),
    startCheck: (_check, target, onResult) => {
      results.set(target.id, onResult);
      return { stop: () => stopped.push(target.id) };
    },
  });
  assert.deepEqual(picks(pool, 2), ["a", "a"]);
  pool.setBackends([ep("a"), ep("b")]);
  assert.deepEqual(picks(pool, 2), ["a", "a"], "b is not picked before its first check");
  results.get("b")!(true, "connected");
  assert.deepEqual(picks(pool, 2).sort(), ["a", "b"]);
  pool.setBackends([ep("b")]);
  assert.deepEqual(stopped, ["a"], "a removed backend's check stops");
  results.get("a")!(false, "late");
  assert.deepEqual(picks(pool, 2), ["b", "b"]);
});
