// Helpers that drive the scheduler the way the cluster would, for its tests and the simulator:
// carry a plan out on an instance list, let started instances become healthy, and generate random
// but reproducible clusters from a seed.
import type { InstanceView, NodeState, NodeView, Plan, SchedulerInput, ServiceDemand } from "./types.js";

/**
 * Carries `plan` out at once: stopped instances vanish, started ones appear as `starting` and not
 * yet healthy, with ids `<service>-<n>` from `nextId`. Returns the new instances and the next id.
 */
export function applyPlan(instances: readonly InstanceView[], plan: Plan, nextId: number): { instances: InstanceView[]; nextId: number } {
  const stopped = new Set(plan.stop.map((s) => s.instance));
  const out = instances.filter((i) => !stopped.has(i.id));
  let id = nextId;
  for (const s of plan.start) {
    out.push({ id: `${s.service}-${String(id++).padStart(4, "0")}`, service: s.service, revision: s.revision, node: s.node, state: "starting", healthy: false, restarts: 0 });
  }
  return { instances: out, nextId: id };
}

/** Every starting instance passes its checks: it is now running and healthy. */
export function settle(instances: readonly InstanceView[]): InstanceView[] {
  return instances.map((i) => (i.state === "starting" ? { ...i, state: "running", healthy: true } : i));
}

/** A node for tests. */
export function node(name: string, labels: Record<string, string> = {}, state: NodeState = "up"): NodeView {
  return { name, state, labels };
}

/** A service demand for tests, with the spec defaults (one per node, maxSurge 1, maxUnavailable 0). */
export function demand(name: string, count: number, more: Partial<ServiceDemand> = {}): ServiceDemand {
  return { name, revision: "r1", count, labels: {}, maxPerNode: 1, fixedPorts: [], maxSurge: 1, maxUnavailable: 0, ...more };
}

/** A running, healthy instance for tests. */
export function instance(id: string, service: string, nodeName: string, more: Partial<InstanceView> = {}): InstanceView {
  return { id, service, revision: "r1", node: nodeName, state: "running", healthy: true, restarts: 0, ...more };
}

/** Draws random scheduler inputs from a seeded `random` (see kv/testkit.ts seededRandom). */
export class ClusterGenerator {
  constructor(private readonly random: () => number) {}

  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.random() < p;
  }

  /** A cluster of 1-7 nodes, 1-4 services and up to 12 instances in every state, some on lost nodes. */
  input(options: { failedRecords: boolean }): SchedulerInput {
    const nodes: NodeView[] = [];
    const nodeCount = 1 + this.int(7);
    for (let k = 0; k < nodeCount; k++) {
      const labels: Record<string, string> = { zone: this.pick(["a", "b", "c"]) };
      if (this.chance(0.6)) labels.role = "app";
      nodes.push(node(`n${k}`, labels, this.pick(["up", "up", "up", "up", "draining", "down"] as const)));
    }
    const services: ServiceDemand[] = [];
    const serviceCount = 1 + this.int(4);
    for (let k = 0; k < serviceCount; k++) {
      const maxPerNode = this.chance(0.7) ? 1 : 2;
      const maxSurge = this.int(3);
      services.push(demand(`s${k}`, this.int(6), {
        revision: this.pick(["r1", "r2"]),
        labels: this.chance(0.4) ? { role: "app" } : {},
        ...(this.chance(0.3) ? { spreadBy: "zone" } : {}),
        maxPerNode,
        fixedPorts: maxPerNode === 1 && this.chance(0.3) ? [8080] : [],
        maxSurge,
        maxUnavailable: maxSurge === 0 ? 1 + this.int(2) : this.int(2),
      }));
    }
    const instances: InstanceView[] = [];
    const instanceCount = this.int(13);
    const states = options.failedRecords ? (["starting", "running", "running", "running", "stopping", "failed"] as const) : (["starting", "running", "running", "running", "stopping"] as const);
    for (let k = 0; k < instanceCount; k++) {
      const state = this.pick(states);
      instances.push(instance(`i${String(k).padStart(2, "0")}`, `s${this.int(serviceCount + 1)}`, `n${this.int(nodeCount + 1)}`, {
        revision: this.pick(["r1", "r2"]),
        state,
        healthy: state === "running" && this.chance(0.8),
        restarts: this.int(3),
      }));
    }
    return { services, nodes, instances };
  }

  /** The same input with every list shuffled (the scheduler must not care about order). */
  shuffled(input: SchedulerInput): SchedulerInput {
    return { services: this.shuffle(input.services), nodes: this.shuffle(input.nodes), instances: this.shuffle(input.instances) };
  }

  private shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let k = out.length - 1; k > 0; k--) {
      const j = this.int(k + 1);
      [out[k], out[j]] = [out[j] as T, out[k] as T];
    }
    return out;
  }
}
