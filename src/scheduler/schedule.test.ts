// The scheduler on hand-written tables of inputs: placement, spreading, replacement of lost and
// failed instances, drains, roll-outs and their limits, scale-down, deletion, and stability.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isEmptyPlan, schedule } from "./schedule.js";
import { applyPlan, demand, instance, node, settle } from "./testkit.js";
import type { InstanceView, Plan, SchedulerInput } from "./types.js";

const starts = (p: Plan) => p.start.map((s) => `${s.service}@${s.node}:${s.reason}`);
const stops = (p: Plan) => p.stop.map((s) => `${s.instance}@${s.node}:${s.reason}`);

/** Runs the scheduler round after round, every start becoming healthy between rounds. */
function converge(input: SchedulerInput, rounds = 20): { instances: InstanceView[]; history: Plan[] } {
  let instances = [...input.instances];
  let nextId = 1;
  const history: Plan[] = [];
  for (let r = 0; r < rounds; r++) {
    const plan = schedule({ ...input, instances });
    history.push(plan);
    if (isEmptyPlan(plan)) return { instances, history };
    ({ instances, nextId } = applyPlan(instances, plan, nextId));
    instances = settle(instances);
  }
  assert.fail(`no fixed point after ${rounds} rounds`);
}

test("a new service gets one instance per node, on the least loaded nodes, in name order on ties", () => {
  const plan = schedule({
    services: [demand("web", 3)],
    nodes: [node("n3"), node("n1"), node("n2"), node("n4")],
    instances: [instance("db-1", "db", "n1")],
  });
  assert.deepEqual(starts(plan), ["web@n2:missing", "web@n3:missing", "web@n4:missing"]);
  assert.deepEqual(stops(plan), ["db-1@n1:service_deleted"]);
});

test("a cluster that meets its demand gets an empty plan that keeps every instance", () => {
  const input: SchedulerInput = {
    services: [demand("web", 2)],
    nodes: [node("n1"), node("n2"), node("n3")],
    instances: [instance("w1", "web", "n1"), instance("w2", "web", "n2", { healthy: false, restarts: 4 })],
  };
  const plan = schedule(input);
  assert.ok(isEmptyPlan(plan), JSON.stringify(plan));
  assert.deepEqual(plan.keep, ["w1", "w2"], "an unhealthy instance is the agent's to restart, not the scheduler's to replace");
  assert.deepEqual(plan.problems, []);
});

test("placement labels restrict the nodes; a demand that cannot be met says why", () => {
  const plan = schedule({
    services: [demand("api", 3, { labels: { role: "app" } })],
    nodes: [node("n1", { role: "app" }), node("n2", { role: "db" }), node("n3", { role: "app" }), node("n4", { role: "app" }, "draining")],
    instances: [],
  });
  assert.deepEqual(starts(plan), ["api@n1:missing", "api@n3:missing"]);
  assert.deepEqual(plan.problems, [{
    service: "api",
    code: "unplaceable",
    message: "api wants 3 instance(s) and has 2; no node can take another: 3 node(s) up and not draining, 2 with role=app, 0 of those below maxPerNode 1",
    hint: "add or undrain nodes with the labels, relax placement.labels, or raise placement.maxPerNode",
  }]);
});

test("maxPerNode above 1 allows sharing a node, spread evenly first", () => {
  const plan = schedule({ services: [demand("w", 5, { maxPerNode: 2 })], nodes: [node("a"), node("b"), node("c")], instances: [] }, { maxStartingPerService: 10 });
  assert.deepEqual(starts(plan).map((s) => s.split(":")[0]), ["w@a", "w@b", "w@c", "w@a", "w@b"]);
});

test("spreadBy spreads over a label's values before nodes", () => {
  const nodes = [node("n1", { zone: "a" }), node("n2", { zone: "a" }), node("n3", { zone: "b" }), node("n4", { zone: "c" })];
  const plan = schedule({ services: [demand("w", 3, { spreadBy: "zone" })], nodes, instances: [instance("w1", "w", "n1")] });
  assert.deepEqual(starts(plan), ["w@n3:missing", "w@n4:missing"], "zone a already has one");
});

test("instances on a down node do not count toward their zone's spread", () => {
  const nodes = [node("a1", { zone: "a" }), node("a2", { zone: "a" }, "down"), node("b1", { zone: "b" })];
  const plan = schedule({ services: [demand("w", 1, { spreadBy: "zone" })], nodes, instances: [instance("w1", "w", "a2")] });
  assert.deepEqual(starts(plan), ["w@a1:replace_lost"], "zones a and b are both empty: the name breaks the tie");
});

test("a lost node's instances are dropped and replaced on other nodes in the same plan", () => {
  const plan = schedule({
    services: [demand("web", 3)],
    nodes: [node("n1"), node("n2", {}, "down"), node("n4")],
    instances: [instance("w1", "web", "n1"), instance("w2", "web", "n2"), instance("w3", "web", "n3")],
  });
  assert.deepEqual(stops(plan), ["w2@n2:node_lost", "w3@n3:node_lost"]);
  assert.deepEqual(starts(plan), ["web@n4:replace_lost"]);
  assert.equal(plan.problems[0]?.code, "unplaceable", "only one free node is left for two lost instances");
});

test("a failed instance is replaced on another node, not on the one it failed on", () => {
  const plan = schedule({
    services: [demand("web", 2)],
    nodes: [node("n1"), node("n2"), node("n3")],
    instances: [instance("w1", "web", "n1"), instance("w2", "web", "n2", { state: "failed", healthy: false, restarts: 5 })],
  });
  assert.deepEqual(starts(plan), ["web@n3:replace_failed"]);
  assert.deepEqual(plan.keep, ["w1"]);
});

test("a drain starts the replacement first and stops the old instance only once it is healthy", () => {
  const input: SchedulerInput = {
    services: [demand("web", 2, { maxSurge: 0, maxUnavailable: 1 })],
    nodes: [node("n1", {}, "draining"), node("n2"), node("n3")],
    instances: [instance("w1", "web", "n1"), instance("w2", "web", "n2")],
  };
  const first = schedule(input);
  assert.deepEqual(starts(first), ["web@n3:move"], "a drain gets room for one even with maxSurge 0");
  assert.deepEqual(stops(first), [], "maxUnavailable does not apply to drains");
  const placed = applyPlan(input.instances, first, 1).instances;
  assert.deepEqual(stops(schedule({ ...input, instances: placed })), [], "the replacement is not healthy yet");
  const second = schedule({ ...input, instances: settle(placed) });
  assert.deepEqual(stops(second), ["w1@n1:drain"]);
  assert.deepEqual(starts(second), []);
});

test("a drain that has nowhere to go keeps the instance and says so", () => {
  const plan = schedule({
    services: [demand("web", 2)],
    nodes: [node("n1", {}, "draining"), node("n2")],
    instances: [instance("w1", "web", "n1"), instance("w2", "web", "n2")],
  });
  assert.deepEqual(stops(plan), []);
  assert.deepEqual(plan.keep, ["w1", "w2"]);
  assert.equal(plan.problems[0]?.code, "unplaceable");
});

test("a rolling update with maxSurge 1, maxUnavailable 0 replaces one at a time, new healthy before old stops", () => {
  const input: SchedulerInput = {
    services: [demand("web", 3, { revision: "r2" })],
    nodes: [node("n1"), node("n2"), node("n3")],
    instances: [instance("w1", "web", "n1"), instance("w2", "web", "n2"), instance("w3", "web", "n3")],
  };
  const { instances, history } = converge(input);
  const steps = history.map((p) => [...starts(p), ...stops(p)].join(" "));
  assert.deepEqual(steps, [
    "web@n1:rollout",
    "w1@n1:rollout",
    "web@n2:rollout",
    "w2@n2:rollout",
    "web@n3:rollout",
    "w3@n3:rollout",
    "",
  ]);
  assert.deepEqual(instances.map((i) => `${i.node}:${i.revision}`).sort(), ["n1:r2", "n2:r2", "n3:r2"]);
});

test("a rolling update with maxSurge 0, maxUnavailable 1 stops one old instance, then starts its successor", () => {
  const input: SchedulerInput = {
    services: [demand("web", 2, { revision: "r2", maxSurge: 0, maxUnavailable: 1 })],
    nodes: [node("n1"), node("n2")],
    instances: [instance("w1", "web", "n1"), instance("w2", "web", "n2")],
  };
  const { history } = converge(input);
  assert.deepEqual(history.map((p) => [...starts(p), ...stops(p)].join(" ")), [
    "w1@n1:rollout",
    "web@n1:rollout",
    "w2@n2:rollout",
    "web@n2:missing", // this round sees no old instance left: one is simply missing
    "",
  ]);
});

test("a new revision whose instances fail halts the roll-out and keeps the old instances serving", () => {
  const input: SchedulerInput = {
    services: [demand("web", 2, { revision: "r2", maxUnavailable: 1 })],
    nodes: [node("n1"), node("n2"), node("n3")],
    instances: [instance("w1", "web", "n1"), instance("w2", "web", "n2"), instance("w3", "web", "n3", { revision: "r2", state: "failed", healthy: false })],
  };
  const plan = schedule(input);
  assert.ok(isEmptyPlan(plan), JSON.stringify(plan));
  assert.deepEqual(plan.keep, ["w1", "w2"]);
  assert.equal(plan.problems[0]?.code, "rollout_failed");
  const later = schedule({ ...input, services: [{ ...input.services[0]!, haltedRevision: "r2" }], instances: input.instances.slice(0, 2) });
  assert.ok(isEmptyPlan(later), "still halted once the failed record is gone");
  assert.equal(later.problems[0]?.code, "rollout_halted");
  const lostAll = schedule({ ...input, services: [{ ...input.services[0]!, haltedRevision: "r2" }], nodes: [node("n3")], instances: input.instances.slice(0, 2) });
  assert.deepEqual(starts(lostAll), [], "a halted revision is not started even to replace lost instances");
  assert.deepEqual(stops(lostAll), ["w1@n1:node_lost", "w2@n2:node_lost"]);
});

test("scale-down stops unhealthy and starting instances first, then the highest ids", () => {
  const plan = schedule({
    services: [demand("w", 2)],
    nodes: [node("a"), node("b"), node("c"), node("d")],
    instances: [instance("w1", "w", "a"), instance("w2", "w", "b", { healthy: false }), instance("w3", "w", "c"), instance("w4", "w", "d", { state: "starting", healthy: false })],
  });
  assert.deepEqual(stops(plan), ["w2@b:scale_down", "w4@d:scale_down"]);
  assert.deepEqual(plan.keep, ["w1", "w3"]);
});

test("two instances on one node with maxPerNode 1: the healthy one stays, the other is moved", () => {
  const plan = schedule({
    services: [demand("w", 2)],
    nodes: [node("a"), node("b")],
    instances: [instance("w1", "w", "a", { healthy: false }), instance("w2", "w", "a")],
  });
  assert.deepEqual(stops(plan), ["w1@a:over_node_limit"]);
  assert.deepEqual(starts(plan), ["w@b:missing"]);
});

test("a fixed port held on a node (even by an instance still stopping) keeps other services that need it off that node", () => {
  const plan = schedule({
    services: [demand("a", 1, { fixedPorts: [80] }), demand("b", 2, { fixedPorts: [80] }), demand("c", 0, { fixedPorts: [80] })],
    nodes: [node("n1"), node("n2"), node("n3")],
    instances: [instance("c1", "c", "n3", { state: "stopping", healthy: false })],
  });
  assert.deepEqual(starts(plan), ["a@n1:missing", "b@n2:missing"]);
  assert.equal(plan.problems[0]?.code, "unplaceable");
  assert.match(plan.problems[0]!.message, /3 node\(s\) up and not draining, 2 of those below maxPerNode 1, 0 with port\(s\) 80 free$/);
});

test("no more than maxStartingPerService instances of one service start at once", () => {
  const nodes = ["a", "b", "c", "d", "e"].map((n) => node(n));
  const plan = schedule({ services: [demand("w", 5)], nodes, instances: [instance("w1", "w", "a", { state: "starting", healthy: false })] }, { maxStartingPerService: 2 });
  assert.equal(plan.start.length, 1, "one is already starting");
});

test("the input's order does not matter and a repeated input gives the same plan", () => {
  const input: SchedulerInput = {
    services: [demand("b", 2), demand("a", 2, { revision: "r2" })],
    nodes: [node("n2"), node("n1"), node("n3", {}, "draining")],
    instances: [instance("x2", "a", "n2"), instance("x1", "a", "n3"), instance("y1", "b", "n1")],
  };
  const reversed: SchedulerInput = { services: [...input.services].reverse(), nodes: [...input.nodes].reverse(), instances: [...input.instances].reverse() };
  assert.deepEqual(schedule(reversed), schedule(input));
  assert.deepEqual(schedule(input), schedule(input));
});

test("an input naming an instance twice is a bug in the caller and throws", () => {
  assert.throws(() => schedule({ services: [], nodes: [], instances: [instance("x", "a", "n"), instance("x", "a", "n")] }), /instance "x" twice/);
});
