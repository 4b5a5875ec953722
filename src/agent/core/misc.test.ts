// Convergence plans, port assignment and output line splitting.
import { test } from "node:test";
import assert from "node:assert/strict";
import { planConvergence, sameSpec } from "./converge.js";
import { assignPorts, checkPort, instanceEnv } from "./ports.js";
import { splitLines } from "./lines.js";
import type { InstanceSpec } from "./types.js";

function spec(id: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: "web", instanceId: id, run: { command: "node", args: ["app.js"] }, env: {}, ports: [{ name: "http" }],
    restart: { policy: "always", backoffInitialMs: 10, backoffMultiplier: 2, backoffMaxMs: 40, resetAfterMs: 1000, maxRestarts: 3 },
    stop: { signal: "SIGTERM", timeoutMs: 100 },
    ...over,
  };
}

test("planConvergence starts the missing, replaces the changed, stops the removed, keeps the same", () => {
  const present = new Map([["a", spec("a")], ["b", spec("b")], ["c", spec("c", { env: { X: "1", Y: "2" } })]]);
  const desired = [spec("b", { env: { V: "2" } }), spec("c", { env: { Y: "2", X: "1" } }), spec("d")];
  const r = planConvergence(present, desired);
  assert.ok(r.ok);
  assert.deepEqual(r.plan.start.map((s) => s.instanceId), ["d"]);
  assert.deepEqual(r.plan.replace.map((s) => s.instanceId), ["b"]);
  assert.deepEqual(r.plan.stop, ["a"]);
  assert.ok(sameSpec(spec("c", { env: { X: "1", Y: "2" } }), spec("c", { env: { Y: "2", X: "1" } })), "env key order does not matter");
});

test("planConvergence refuses a desired set with a duplicate instance id", () => {
  const r = planConvergence(new Map(), [spec("a"), spec("a")]);
  assert.equal(r.ok, false);
  assert.match(r.ok ? "" : r.message, /Instance id a appears twice/);
});

test("assignPorts gives free ports round-robin, keeps previous numbers, honours fixed ones", () => {
  const range = { from: 9000, to: 9003 };
  const two = spec("a", { ports: [{ name: "http" }, { name: "admin-api" }] });
  const r = assignPorts(two, range, { taken: new Map([[9000, "x"]]), busy: new Set([9001]), cursor: 9000 });
  assert.ok(r.ok);
  assert.deepEqual(r.ports, { http: 9002, "admin-api": 9003 });
  assert.equal(r.cursor, 9000, "the cursor wraps around");
  const again = assignPorts(two, range, { taken: new Map(), busy: new Set(), cursor: 9000 }, r.ports);
  assert.deepEqual(again.ok && again.ports, { http: 9002, "admin-api": 9003 });
  const fixed = assignPorts(spec("b", { ports: [{ name: "http", port: 8080 }] }), range, { taken: new Map(), busy: new Set(), cursor: 9000 });
  assert.deepEqual(fixed.ok && fixed.ports, { http: 8080 });
});

test("assignPorts explains a fixed-port clash and an exhausted range", () => {
  const clash = assignPorts(spec("b", { ports: [{ name: "http", port: 8080 }] }), { from: 9000, to: 9001 }, { taken: new Map([[8080, "a"]]), busy: new Set(), cursor: 9000 });
  assert.match(clash.ok ? "" : clash.message, /Port 8080 \("http"\) of instance b is already held by instance a/);
  const full = assignPorts(spec("c"), { from: 9000, to: 9000 }, { taken: new Map([[9000, "a"]]), busy: new Set(), cursor: 9000 });
  assert.match(full.ok ? "" : full.message, /No free port left in 9000-9000/);
});

test("instanceEnv passes PORT for the first port and PORT_<NAME> for the others, over the spec's env", () => {
  const s = spec("a", { env: { MODE: "x" }, ports: [{ name: "http" }, { name: "admin-api" }, { name: "m", env: "METRICS" }] });
  const env = instanceEnv(s, { http: 1, "admin-api": 2, m: 3 }, { PATH: "/bin" });
  assert.deepEqual(env, { PATH: "/bin", MODE: "x", PHALANX_SERVICE: "web", PHALANX_INSTANCE: "a", PORT: "1", PORT_ADMIN_API: "2", METRICS: "3" });
});

test("checkPort uses the check's own port, else the first port", () => {
  const base = { intervalMs: 100, timeoutMs: 50, rise: 1, fall: 1, startGraceMs: 0 };
  assert.equal(checkPort(spec("a", { healthCheck: { type: "tcp", ...base } }), { http: 7000 }), 7000);
  assert.equal(checkPort(spec("a", { healthCheck: { type: "tcp", port: 7100, ...base } }), { http: 7000 }), 7100);
  assert.equal(checkPort(spec("a", { healthCheck: { type: "exec", command: "true", args: [], ...base } }), { http: 7000 }), null);
});

test("splitLines keeps the unfinished tail and cuts over-long lines", () => {
  const a = splitLines("", "one\r\ntw", 8);
  assert.deepEqual(a, { lines: ["one"], carry: "tw" });
  const b = splitLines(a.carry, "o\nxxxxxxxxxxxx", 8);
  assert.deepEqual(b, { lines: ["two", "xxxxxxxx"], carry: "xxxx" });
});
