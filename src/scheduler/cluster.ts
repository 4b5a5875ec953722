// The cluster as placement sees it while one plan is being made: which nodes may take an instance
// of a service, and which of them is the best choice. Planned starts are recorded as they are made,
// so later choices (of this service and of services planned after it) see them.
import type { InstanceView, NodeView, ServiceDemand } from "./types.js";

function isLive(i: InstanceView): boolean {
  return i.state === "starting" || i.state === "running";
}

/** True when `node` carries every label of `labels` with the same value. */
export function matchesLabels(node: NodeView, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(labels).every(([key, value]) => node.labels[key] === value);
}

/** Mutable per-plan occupancy of the nodes. */
export class ClusterView {
  readonly nodes: ReadonlyMap<string, NodeView>;
  /** Live instances (every service) and planned starts per node: the load tie-breaker. */
  private readonly load = new Map<string, number>();
  /** Fixed ports held per node by live or stopping instances and planned starts. */
  private readonly ports = new Map<string, Set<number>>();
  /** Live current-revision instances and planned starts, per service, per node. */
  private readonly current = new Map<string, Map<string, number>>();
  /** Live instances of any revision and planned starts, per service, per node. */
  private readonly any = new Map<string, Map<string, number>>();
  /** Failed records of the current revision, per service, per node: nodes to avoid. */
  private readonly failed = new Map<string, Map<string, number>>();

  constructor(nodes: readonly NodeView[], instances: readonly InstanceView[], services: ReadonlyMap<string, ServiceDemand>) {
    this.nodes = new Map(nodes.map((n) => [n.name, n]));
    for (const i of instances) {
      const demand = services.get(i.service);
      if (i.state === "failed") {
        if (demand?.revision === i.revision) bump(this.failed, i.service, i.node);
        continue;
      }
      // Live and stopping instances hold their ports (a stopping process may not have let go yet).
      for (const port of demand?.fixedPorts ?? []) this.portsOf(i.node).add(port);
      if (!isLive(i)) continue;
      this.load.set(i.node, (this.load.get(i.node) ?? 0) + 1);
      bump(this.any, i.service, i.node);
      if (demand?.revision === i.revision) bump(this.current, i.service, i.node);
    }
  }

  /** Records a planned start of `svc` on `node`. */
  place(svc: ServiceDemand, node: string): void {
    this.load.set(node, (this.load.get(node) ?? 0) + 1);
    bump(this.any, svc.name, node);
    bump(this.current, svc.name, node);
    for (const port of svc.fixedPorts) this.portsOf(node).add(port);
  }

  /** Forgets a live current-revision instance that the plan stops (it frees its per-node slot). */
  release(svc: ServiceDemand, node: string): void {
    bump(this.current, svc.name, node, -1);
  }

  /** Instances of `svc` of the current revision on `node` (live or planned). */
  currentOn(svc: string, node: string): number {
    return this.current.get(svc)?.get(node) ?? 0;
  }

  /** The best node for one more instance of `svc`, or null when none may take it. */
  choose(svc: ServiceDemand): string | null {
    let best: { node: string; score: number[] } | null = null;
    for (const node of this.nodes.values()) {
      if (!this.canTake(svc, node)) continue;
      const score = this.score(svc, node);
      if (best === null || lessThan(score, best.score)) best = { node: node.name, score };
    }
    return best?.node ?? null;
  }

  /** Why no node can take another instance of `svc`, counted step by step for the operator. */
  explainUnplaceable(svc: ServiceDemand): string {
    const up = [...this.nodes.values()].filter((n) => n.state === "up");
    const labelled = up.filter((n) => matchesLabels(n, svc.labels));
    const roomy = labelled.filter((n) => this.currentOn(svc.name, n.name) < svc.maxPerNode);
    const parts = [`${up.length} node(s) up and not draining`];
    if (Object.keys(svc.labels).length > 0) parts.push(`${labelled.length} with ${formatLabels(svc.labels)}`);
    parts.push(`${roomy.length} of those below maxPerNode ${svc.maxPerNode}`);
    if (svc.fixedPorts.length > 0) parts.push(`${roomy.filter((n) => this.portsFree(svc, n.name)).length} with port(s) ${svc.fixedPorts.join(", ")} free`);
    return parts.join(", ");
  }

  private canTake(svc: ServiceDemand, node: NodeView): boolean {
    return node.state === "up" && matchesLabels(node, svc.labels) && this.currentOn(svc.name, node.name) < svc.maxPerNode && this.portsFree(svc, node.name);
  }

  private portsFree(svc: ServiceDemand, node: string): boolean {
    const held = this.ports.get(node);
    return held === undefined || svc.fixedPorts.every((p) => !held.has(p));
  }

  /**
   * Lower is better, compared element by element; the node name breaks the last tie (by its rank,
   * since names sort as strings). Order: avoid nodes where this revision failed; spread over the
   * spreadBy label's values, then over nodes; prefer a node without an old instance (no overlap
   * during a roll-out); then the least loaded node.
   */
  private score(svc: ServiceDemand, node: NodeView): number[] {
    const zone = svc.spreadBy === undefined ? 0 : this.zoneCount(svc, node.labels[svc.spreadBy] ?? "");
    return [
      this.failed.get(svc.name)?.get(node.name) ?? 0,
      zone,
      this.currentOn(svc.name, node.name),
      this.any.get(svc.name)?.get(node.name) ?? 0,
      this.load.get(node.name) ?? 0,
    ];
  }

  private zoneCount(svc: ServiceDemand, zone: string): number {
    let n = 0;
    for (const node of this.nodes.values()) {
      if ((node.labels[svc.spreadBy ?? ""] ?? "") === zone) n += this.currentOn(svc.name, node.name);
    }
    return n;
  }

  private portsOf(node: string): Set<number> {
    let set = this.ports.get(node);
    if (set === undefined) this.ports.set(node, (set = new Set()));
    return set;
  }
}

function bump(map: Map<string, Map<string, number>>, svc: string, node: string, by = 1): void {
  let inner = map.get(svc);
  if (inner === undefined) map.set(svc, (inner = new Map()));
  inner.set(node, (inner.get(node) ?? 0) + by);
}

/** Element-wise comparison; equal scores keep the earlier node (nodes are visited in name order). */
function lessThan(a: readonly number[], b: readonly number[]): boolean {
  for (let k = 0; k < a.length; k++) {
    const x = a[k] ?? 0;
    const y = b[k] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** `role=app, zone=a`, sorted, for messages. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(", ");
}
