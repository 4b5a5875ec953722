// The scheduler: (service demands, nodes, instances) → plan. A pure function: no clock, randomness
// or I/O; the same input (in any order) gives the same plan, and an input that already meets every
// demand gives an empty one. The leader's controller runs it whenever an input changes and carries
// the plan out; see README.md for the model and the decisions.
import { ClusterView } from "./cluster.js";
import { planService } from "./service-plan.js";
import { SCHEDULER_DEFAULTS, type InstanceView, type Plan, type PlanProblem, type SchedulerInput, type SchedulerOptions, type StartAction, type StopAction } from "./types.js";

/** Computes the plan that moves the cluster one round closer to every service's demand. */
export function schedule(input: SchedulerInput, options: SchedulerOptions = SCHEDULER_DEFAULTS): Plan {
  const services = [...input.services].sort(byName);
  const nodes = [...input.nodes].sort(byName);
  const instances = [...input.instances].sort((a, b) => compare(a.id, b.id));
  assertUnique(services.map((s) => s.name), "service");
  assertUnique(nodes.map((n) => n.name), "node");
  assertUnique(instances.map((i) => i.id), "instance");
  if (!(options.maxStartingPerService >= 1)) throw new Error(`Scheduler option maxStartingPerService must be at least 1, got ${options.maxStartingPerService}`);

  const demands = new Map(services.map((s) => [s.name, s]));
  const cluster = new ClusterView(nodes, instances, demands);
  const byService = new Map<string, InstanceView[]>();
  for (const i of instances) {
    const list = byService.get(i.service);
    if (list === undefined) byService.set(i.service, [i]);
    else list.push(i);
  }

  const start: StartAction[] = [];
  const stop: StopAction[] = [];
  const keep: string[] = [];
  const problems: PlanProblem[] = [];
  for (const svc of services) {
    const part = planService(svc, byService.get(svc.name) ?? [], cluster, options);
    start.push(...part.start);
    stop.push(...part.stop);
    keep.push(...part.keep);
    problems.push(...part.problems);
  }
  // Instances of services no longer declared are stopped wherever they are.
  for (const i of instances) {
    if (!demands.has(i.service) && (i.state === "starting" || i.state === "running")) {
      stop.push({ service: i.service, instance: i.id, node: i.node, reason: "service_deleted" });
    }
  }
  stop.sort((a, b) => compare(a.service, b.service) || compare(a.instance, b.instance));
  keep.sort(compare);
  return { start, stop, keep, problems };
}

/** True when the plan changes nothing: the cluster meets every demand it can. */
export function isEmptyPlan(plan: Plan): boolean {
  return plan.start.length === 0 && plan.stop.length === 0;
}

function byName(a: { name: string }, b: { name: string }): number {
  return compare(a.name, b.name);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function assertUnique(names: readonly string[], what: string): void {
  for (let k = 1; k < names.length; k++) {
    if (names[k] === names[k - 1]) throw new Error(`Scheduler input names ${what} "${names[k]}" twice: the controller must pass each once`);
  }
}
