// Instance health: rise and fall thresholds, the start grace period, recovery.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decideHealth, initialHealth, type HealthState } from "./health.js";

const t = { rise: 2, fall: 3, startGraceMs: 1000 };

function feed(state: HealthState, results: boolean[], atMs: number): { state: HealthState; changes: string[] } {
  const changes: string[] = [];
  for (const ok of results) {
    const r = decideHealth(state, { ok, detail: ok ? "HTTP 200" : "HTTP 500" }, atMs, t);
    state = r.state;
    changes.push(r.change);
  }
  return { state, changes };
}

test("rise passes in a row make a starting instance healthy", () => {
  const { state, changes } = feed(initialHealth(0), [true, true, true], 10);
  assert.deepEqual(changes, ["none", "became_healthy", "none"]);
  assert.equal(state.phase, "healthy");
  assert.equal(state.view.consecutiveSuccesses, 2);
});

test("fall failures in a row make a healthy instance unhealthy; a pass in between resets the count", () => {
  let s = feed(initialHealth(0), [true, true], 10).state;
  const r = feed(s, [false, false, true, false, false, false], 5000);
  assert.deepEqual(r.changes, ["none", "none", "none", "none", "none", "became_unhealthy"]);
  s = r.state;
  assert.equal(s.phase, "unhealthy");
  assert.equal(s.view.lastDetail, "HTTP 500");
});

test("failures inside the start grace do not count; after it they do", () => {
  const inGrace = feed(initialHealth(0), [false, false, false, false], 999);
  assert.equal(inGrace.state.phase, "starting");
  assert.equal(inGrace.state.view.consecutiveFailures, 0);
  const after = feed(inGrace.state, [false, false, false], 1000);
  assert.deepEqual(after.changes, ["none", "none", "became_unhealthy"]);
});

test("an unhealthy instance that passes rise checks is healthy again", () => {
  const down = feed(initialHealth(0), [false, false, false], 2000).state;
  assert.equal(down.phase, "unhealthy");
  const up = feed(down, [true, true], 3000);
  assert.deepEqual(up.changes, ["none", "became_healthy"]);
});
