// Properties of the scheduler on many seeded random clusters (nodes up, draining and down; services
// with labels, spread, maxPerNode, fixed ports, roll-outs; instances in every state, some on lost
// nodes or of deleted services). A failing seed is printed and replays exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../kv/testkit.js";
import { matchesLabels } from "./cluster.js";
import { isEmptyPlan, schedule } from "./schedule.js";
import { applyPlan, ClusterGenerator, settle } from "./testkit.js";
import type { InstanceView, Plan, SchedulerInput } from "./types.js";

const SEEDS = 300;
const MAX_ROUNDS = 40;

const live = (i: InstanceView) => i.state === "starting" || i.state === "running";

/** Checks what every single plan must respect, whatever the input. */
function checkPlan(input: SchedulerInput, plan: Plan): void {
  const nodes = new Map(input.nodes.map((n) => [n.name, n]));
  const services = new Map(input.services.map((s) => [s.name, s]));
  const byId = new Map(input.instances.map((i) => [i.id, i]));
  const stopped = new Set(plan.stop.map((s) => s.instance));

  for (const s of plan.start) {
    const svc = services.get(s.service);
    const n = nodes.get(s.node);
    assert.ok(svc && n, `start of ${s.service} on ${s.node} names something unknown`);
    assert.equal(n.state, "up", `start on ${s.node}, which is ${n.state}`);
    assert.ok(matchesLabels(n, svc.labels), `start of ${s.service} on ${s.node} without its labels`);
    assert.equal(s.revision, svc.revision, "starts are always of the current revision");
  }
  for (const s of plan.stop) {
    const i = byId.get(s.instance);
    assert.ok(i && live(i), `stop of ${s.instance}, which is not a live instance`);
    assert.ok(!plan.keep.includes(s.instance), `${s.instance} is both kept and stopped`);
  }
  // Every live instance is either kept or stopped; nothing else is.
  const liveIds = input.instances.filter(live).map((i) => i.id).sort();
  assert.deepEqual([...plan.keep, ...stopped].sort(), liveIds);

  for (const svc of input.services) {
    // At most maxPerNode instances of the current revision per node, once the plan is carried out.
    const perNode = new Map<string, number>();
    for (const i of input.instances) {
      if (i.service === svc.name && live(i) && i.revision === svc.revision && !stopped.has(i.id)) perNode.set(i.node, (perNode.get(i.node) ?? 0) + 1);
    }
    for (const s of plan.start) if (s.service === svc.name) perNode.set(s.node, (perNode.get(s.node) ?? 0) + 1);
    for (const [n, count] of perNode) {
      if (nodes.get(n)?.state === "up" && matchesLabels(nodes.get(n)!, svc.labels)) assert.ok(count <= svc.maxPerNode, `${count} of ${svc.name} on ${n}, maxPerNode ${svc.maxPerNode}`);
    }
    // Never more than count + surge live instances of the service on live nodes after starting.
    const onLiveNodes = input.instances.filter((i) => i.service === svc.name && live(i) && nodes.get(i.node) !== undefined && nodes.get(i.node)!.state !== "down");
    const newCount = plan.start.filter((s) => s.service === svc.name).length;
    if (newCount > 0) assert.ok(onLiveNodes.length + newCount <= svc.count + Math.max(svc.maxSurge, 1), `${svc.name} surges past its limit`);
    // Healthy instances are stopped only down to the roll-out floor (count - maxUnavailable).
    const healthyStopped = plan.stop.filter((s) => s.service === svc.name && byId.get(s.instance)!.healthy && (s.reason === "rollout" || s.reason === "drain" || s.reason === "placement"));
    if (healthyStopped.length > 0) {
      const healthyLeft = onLiveNodes.filter((i) => i.healthy && !stopped.has(i.id)).length;
      assert.ok(healthyLeft >= svc.count - svc.maxUnavailable, `${svc.name}: ${healthyLeft} healthy left after stopping ${healthyStopped.length}, floor ${svc.count - svc.maxUnavailable}`);
    }
  }
  // A start never lands on a node where another occupying instance holds one of its fixed ports.
  for (const s of plan.start) {
    const ports = services.get(s.service)!.fixedPorts;
    if (ports.length === 0) continue;
    const holders = input.instances.filter((i) => i.node === s.node && i.state !== "failed" && services.get(i.service)?.fixedPorts.some((p) => ports.includes(p)));
    assert.deepEqual(holders.map((i) => i.id), [], `${s.service} started on ${s.node} where its port is held`);
    const others = plan.start.filter((o) => o !== s && o.node === s.node && services.get(o.service)!.fixedPorts.some((p) => ports.includes(p)));
    assert.deepEqual(others, [], `two starts on ${s.node} share a fixed port`);
  }
}

for (let seed = 1; seed <= SEEDS; seed++) {
  test(`seed ${seed}: every plan respects placement and limits, is order-independent, and the cluster converges without churn`, () => {
    const gen = new ClusterGenerator(seededRandom(seed));
    const start = gen.input({ failedRecords: seed % 3 === 0 });
    const first = schedule(start);
    checkPlan(start, first);
    assert.deepEqual(schedule(gen.shuffled(start)), first, "the plan depends on the input's order");

    // Drive it: carry out each plan, let starts become healthy (and some fail to), repeat.
    let instances: InstanceView[] = start.instances.filter((i) => i.state !== "failed");
    let nextId = 1;
    let plan: Plan = schedule({ ...start, instances });
    // The world is quiet when nothing is unhealthy or still stopping: only then must the plan be empty.
    const quiet = () => instances.every((i) => i.state === "running" && i.healthy);
    for (let round = 0; round < MAX_ROUNDS && !(isEmptyPlan(plan) && quiet()); round++) {
      checkPlan({ ...start, instances }, plan);
      ({ instances, nextId } = applyPlan(instances, plan, nextId));
      // Starts pass their checks; an unhealthy instance recovers sooner or later (the agent
      // restarts it); an instance that was stopping is gone sooner or later.
      instances = settle(instances).map((i) => {
        if (i.state === "running" && !i.healthy && gen.chance(0.5)) return { ...i, healthy: true };
        if (i.state === "stopping" && gen.chance(0.5)) return { ...i, state: "failed" as const };
        return i;
      });
      instances = instances.filter((i) => i.state !== "failed");
      plan = schedule({ ...start, instances });
    }
    assert.ok(isEmptyPlan(plan), `no fixed point after ${MAX_ROUNDS} rounds: ${JSON.stringify(plan)}`);
    assert.deepEqual(schedule({ ...start, instances }), plan, "a converged cluster's plan is stable");

    // At the fixed point each service has its count, or a problem says why not.
    const nodes = new Map(start.nodes.map((n) => [n.name, n]));
    for (const svc of start.services) {
      const mine = instances.filter((i) => i.service === svc.name && live(i));
      const good = mine.filter((i) => i.revision === svc.revision && nodes.get(i.node)?.state === "up" && matchesLabels(nodes.get(i.node)!, svc.labels));
      const explained = plan.problems.some((p) => p.service === svc.name);
      if (!explained) {
        assert.equal(good.length, svc.count, `${svc.name} has ${good.length} good instances, wants ${svc.count}, and no problem is reported`);
        assert.equal(mine.length, good.length, `${svc.name} keeps instances it should have replaced`);
      } else assert.ok(good.length <= svc.count);
    }
    assert.ok(instances.every((i) => start.services.some((s) => s.name === i.service) || !live(i)), "an instance of a deleted service survived");

    // Health checks that flap on a settled cluster move nothing: no start, no stop (no storm).
    if (plan.problems.length === 0) {
      for (let round = 0; round < 5; round++) {
        const flapping = instances.map((i) => ({ ...i, healthy: gen.chance(0.5) }));
        const flapPlan = schedule({ ...start, instances: flapping });
        assert.ok(isEmptyPlan(flapPlan), `flapping health changed the plan: ${JSON.stringify(flapPlan)}`);
      }
    }
  });
}
