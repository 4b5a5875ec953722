// The dry-run printer: what a person reads and what a script parses, from the same plan.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describePlan } from "./print.js";
import { schedule } from "./schedule.js";
import { demand, instance, node } from "./testkit.js";
import type { SchedulerInput } from "./types.js";

test("a roll-out, a drain, a deleted service and an unplaceable demand print as one block per service", () => {
  const input: SchedulerInput = {
    services: [demand("web", 2, { revision: "r2" }), demand("api", 2, { labels: { role: "app" } })],
    nodes: [node("n1", { role: "app" }), node("n2"), node("n3", {}, "draining")],
    instances: [
      instance("w1", "web", "n1"),
      instance("w2", "web", "n3", { revision: "r2", restarts: 1 }),
      instance("a1", "api", "n1", { healthy: false, restarts: 3 }),
      instance("o1", "old", "n2"),
    ],
  };
  const { lines, json } = describePlan(input, schedule(input));
  assert.deepEqual(lines, [
    "api revision r1: wants 2, has 1 (0 healthy)",
    "  = keep a1 on n1 (running, unhealthy, 3 restarts)",
    "  ! api wants 2 instance(s) and has 1; no node can take another: 2 node(s) up and not draining, 1 with role=app, 0 of those below maxPerNode 1 — add or undrain nodes with the labels, relax placement.labels, or raise placement.maxPerNode",
    "old (no longer declared): wants 0, has 1 (1 healthy)",
    "  - stop o1 on n2 (service deleted)",
    "web revision r2: wants 2, has 2 (2 healthy)",
    "  + start on n2 (move)", // the drain of n3 comes before the roll-out of w1
    "  = keep w1 on n1 (running, healthy, 0 restarts, revision r1)",
    "  = keep w2 on n3 (running, healthy, 1 restart)",
    "Plan: 1 to start, 1 to stop, 3 to keep",
    "1 problem needs attention (marked !)",
  ]);
  assert.equal(json.changes, true);
  assert.deepEqual(json.summary, { start: 1, stop: 1, keep: 3, problems: 1 });
  assert.deepEqual(json.services.map((s) => s.name), ["api", "old", "web"]);
  assert.deepEqual(json.services[2]!.start, [{ node: "n2", revision: "r2", reason: "move" }]);
  assert.equal(json.services[1]!.revision, null);
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json, "the JSON plan survives serialisation unchanged");
});

test("a cluster that meets its demand prints that nothing changes", () => {
  const input: SchedulerInput = { services: [demand("web", 1)], nodes: [node("n1")], instances: [instance("w1", "web", "n1")] };
  const { lines, json } = describePlan(input, schedule(input));
  assert.deepEqual(lines.slice(-1), ["No changes: 1 instance kept"]);
  assert.equal(json.changes, false);
});
