import { test } from "node:test";
import assert from "node:assert/strict";
import type { Plan, StartAction } from "../../scheduler/types.js";
import { REPLACE_BACKOFF_INITIAL_MS, REPLACE_BACKOFF_MAX_MS, ReplacementBackoff } from "./replacement-backoff.js";

const start = (reason: StartAction["reason"], service = "web"): StartAction => ({ service, revision: "r1", node: "1", reason });
const plan = (...s: StartAction[]): Plan => ({ start: s, stop: [], keep: [], problems: [] });

test("hold() lets the first replacement of a failed instance through and makes later ones wait twice as long each time", () => {
  const b = new ReplacementBackoff();
  let now = 0;
  const run = (): number => {
    const r = b.hold(plan(start("replace_failed")), now);
    b.record(r.plan, now);
    return r.plan.start.length;
  };
  assert.equal(run(), 1, "first at once");
  now += REPLACE_BACKOFF_INITIAL_MS - 1;
  assert.equal(run(), 0, "second waits the initial pause");
  now += 1;
  assert.equal(run(), 1);
  now += 2 * REPLACE_BACKOFF_INITIAL_MS - 1;
  assert.equal(run(), 0, "third waits twice as long");
  now += 1;
  assert.equal(run(), 1);
  for (let k = 0; k < 10; k++) {
    now += REPLACE_BACKOFF_MAX_MS;
    assert.equal(run(), 1, "the pause is capped");
  }
});

test("hold() never holds other starts or other services", () => {
  const b = new ReplacementBackoff();
  b.record(plan(start("replace_failed")), 0);
  const r = b.hold(plan(start("missing"), start("rollout"), start("replace_lost"), start("replace_failed", "api"), start("replace_failed")), 1);
  assert.deepEqual(r.plan.start.map((s) => `${s.service}:${s.reason}`), ["web:missing", "web:rollout", "web:replace_lost", "api:replace_failed"]);
  assert.equal(r.held, 1);
});
