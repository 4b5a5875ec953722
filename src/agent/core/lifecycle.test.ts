// The instance state machine: events in, state and effects out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { beginLife, statusChanged, statusOf, stepLife, type InstanceLife, type LifeEffect, type LifeEvent } from "./lifecycle.js";
import type { InstanceSpec } from "./types.js";

const check = { type: "http" as const, path: "/", intervalMs: 100, timeoutMs: 50, rise: 2, fall: 2, startGraceMs: 0 };

function spec(over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: "web", instanceId: "web-1", run: { command: "node", args: ["app.js"] }, env: {}, ports: [{ name: "http" }],
    restart: { policy: "always", backoffInitialMs: 10, backoffMultiplier: 2, backoffMaxMs: 40, resetAfterMs: 1000, maxRestarts: 4 },
    stop: { signal: "SIGTERM", timeoutMs: 100 },
    ...over,
  };
}

/** Runs events in order at the given times; returns the last life and every effect kind seen per step. */
function run(life: InstanceLife, events: Array<[LifeEvent, number]>): { life: InstanceLife; effects: LifeEffect[][]; states: string[] } {
  const effects: LifeEffect[][] = [];
  const states: string[] = [];
  for (const [event, at] of events) {
    const step = stepLife(life, event, at);
    life = step.life;
    effects.push([...step.effects]);
    states.push(life.state);
  }
  return { life, effects, states };
}

const spawned = (pid: number): LifeEvent => ({ kind: "spawned", pid, wallMs: 1_000_000 });
const exited = (code: number | null, signal: string | null = null): LifeEvent => ({ kind: "exited", code, signal, wallMs: 1_000_001 });

test("a checked instance starts, becomes healthy after rise passes, and reports it", () => {
  const begin = beginLife(spec({ healthCheck: check }), { http: 9000 });
  assert.deepEqual(begin.effects, [{ kind: "spawn" }]);
  const r = run(begin.life, [[spawned(42), 0], [{ kind: "check", ok: true, detail: "HTTP 200" }, 100], [{ kind: "check", ok: true, detail: "HTTP 200" }, 200]]);
  assert.deepEqual(r.states, ["starting", "starting", "healthy"]);
  assert.deepEqual(r.effects[0], [{ kind: "start_checks" }]);
  const status = statusOf(r.life);
  assert.equal(status.pid, 42);
  assert.deepEqual(status.ports, { http: 9000 });
  assert.equal(status.health?.consecutiveSuccesses, 2);
});

test("an instance without a check is running as soon as it is spawned", () => {
  const r = run(beginLife(spec(), {}).life, [[spawned(1), 0]]);
  assert.deepEqual(r.states, ["running"]);
  assert.deepEqual(r.effects[0], []);
});

test("a crash loop backs off 10, 20, 40, 40 ms, counting restarts, then fails after maxRestarts", () => {
  let life = beginLife(spec(), {}).life;
  const backoffs: number[] = [];
  for (let i = 0; i < 5; i++) {
    life = stepLife(life, spawned(100 + i), i * 10).life;
    const end = stepLife(life, exited(1), i * 10 + 5);
    life = end.life;
    if (life.state !== "backoff") break;
    backoffs.push(life.backoffMs ?? -1);
    assert.deepEqual(end.effects.at(-1), { kind: "arm_restart_timer", afterMs: life.backoffMs });
    assert.ok(end.effects.some((e) => e.kind === "kill_leftovers"), "leftovers of the group are killed after a crash");
    life = stepLife(life, { kind: "restart_due" }, i * 10 + 6).life;
    assert.equal(life.restarts, i + 1);
  }
  assert.deepEqual(backoffs, [10, 20, 40, 40]);
  assert.equal(life.state, "failed");
  assert.match(life.message, /exited with code 1; restarted 4 times in a row/);
  assert.deepEqual(life.lastExit, { code: 1, signal: null, atMs: 1_000_001 });
});

test("stop sends the spec's signal and arms the kill timer; the timeout escalates to SIGKILL; exit finishes", () => {
  const r = run(beginLife(spec({ stop: { signal: "SIGINT", timeoutMs: 250 } }), {}).life, [
    [spawned(7), 0], [{ kind: "stop", reason: "removed" }, 10], [{ kind: "stop_timeout" }, 260], [exited(null, "SIGKILL"), 261],
  ]);
  assert.deepEqual(r.states, ["running", "stopping", "stopping", "stopped"]);
  assert.deepEqual(r.effects[1], [{ kind: "stop_checks" }, { kind: "signal", signal: "SIGINT" }, { kind: "arm_stop_timer", afterMs: 250 }]);
  assert.deepEqual(r.effects[2], [{ kind: "signal", signal: "SIGKILL" }]);
  assert.deepEqual(r.effects[3]?.map((e) => e.kind), ["stop_checks", "cancel_timers", "kill_leftovers", "finished"]);
  assert.equal(r.life.restarts, 0, "a requested stop is not a restart");
});

test("failing fall checks makes a healthy instance unhealthy, kills it, and the restart policy restarts it", () => {
  const failing: LifeEvent = { kind: "check", ok: false, detail: "HTTP 503" };
  const ok: LifeEvent = { kind: "check", ok: true, detail: "HTTP 200" };
  const r = run(beginLife(spec({ healthCheck: check }), {}).life, [
    [spawned(7), 0], [ok, 1], [ok, 2], [failing, 3], [failing, 4], [exited(null, "SIGTERM"), 5],
  ]);
  assert.deepEqual(r.states, ["starting", "starting", "healthy", "healthy", "unhealthy", "backoff"]);
  assert.deepEqual(r.effects[4], [{ kind: "stop_checks" }, { kind: "signal", signal: "SIGTERM" }, { kind: "arm_stop_timer", afterMs: 100 }]);
  assert.match(r.life.message, /failed 2 health checks in a row: HTTP 503/);
});

test("with restart policy never an unhealthy instance is reported, not killed", () => {
  const never = spec({ healthCheck: check, restart: { ...spec().restart, policy: "never" } });
  const failing: LifeEvent = { kind: "check", ok: false, detail: "refused" };
  const r = run(beginLife(never, {}).life, [[spawned(7), 0], [failing, 1], [failing, 2]]);
  assert.equal(r.life.state, "unhealthy");
  assert.deepEqual(r.effects[2], []);
});

test("stop during backoff cancels the restart and finishes at once", () => {
  const r = run(beginLife(spec(), {}).life, [[spawned(7), 0], [exited(3), 1], [{ kind: "stop", reason: "shutdown" }, 2]]);
  assert.deepEqual(r.states, ["running", "backoff", "stopped"]);
  assert.deepEqual(r.effects[2], [{ kind: "cancel_timers" }, { kind: "finished" }]);
  assert.equal(r.life.backoffMs, null);
});

test("a spawn that fails (command not found) goes through the restart policy with the reason", () => {
  const r = run(beginLife(spec(), {}).life, [[{ kind: "spawn_failed", message: "spawn nope ENOENT", wallMs: 5 }, 0]]);
  assert.equal(r.life.state, "backoff");
  assert.match(r.life.message, /could not start: spawn nope ENOENT/);
  assert.ok(!r.effects[0]?.some((e) => e.kind === "kill_leftovers"), "there is no group to kill");
});

test("a stop asked while the spawn is under way ends the process once it is spawned", () => {
  const r = run(beginLife(spec(), {}).life, [[{ kind: "stop", reason: "replaced" }, 0], [spawned(9), 1], [exited(0), 2]]);
  assert.deepEqual(r.states, ["stopping", "stopping", "stopped"]);
  assert.deepEqual(r.effects[0], []);
  assert.ok(r.effects[1]?.some((e) => e.kind === "signal"));
  assert.equal(r.life.message, "stopped (replaced)");
});

test("statusChanged ignores health counters moving within a phase", () => {
  let life = stepLife(beginLife(spec({ healthCheck: { ...check, rise: 3 } }), {}).life, spawned(1), 0).life;
  const before = statusOf(life);
  life = stepLife(life, { kind: "check", ok: true, detail: "HTTP 200" }, 1).life;
  assert.equal(statusChanged(before, statusOf(life)), false);
  assert.equal(statusChanged(undefined, before), true);
  const stopped = stepLife(life, { kind: "stop", reason: "removed" }, 2).life;
  assert.equal(statusChanged(statusOf(life), statusOf(stopped)), true);
});
