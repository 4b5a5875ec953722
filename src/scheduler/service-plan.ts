// One service's part of a plan: sort its instances into kept, to replace and lost, then decide the
// starts and stops of this round within the roll-out limits (README.md, "One round for a service").
import { matchesLabels, type ClusterView } from "./cluster.js";
import type { InstanceView, PlanProblem, SchedulerOptions, ServiceDemand, StartAction, StartReason, StopAction } from "./types.js";

/** Why a live instance must eventually give way to a new one. */
type ReplaceReason = "drain" | "placement" | "rollout";

interface Outdated {
  readonly instance: InstanceView;
  readonly reason: ReplaceReason;
}

export interface ServicePlan {
  readonly start: StartAction[];
  readonly stop: StopAction[];
  readonly keep: string[];
  readonly problems: PlanProblem[];
}

/** Plans one service; `instances` are the service's own, sorted by id. Records starts in `cluster`. */
export function planService(svc: ServiceDemand, instances: readonly InstanceView[], cluster: ClusterView, options: SchedulerOptions): ServicePlan {
  const plan: ServicePlan = { start: [], stop: [], keep: [], problems: [] };
  const stop = (i: InstanceView, reason: StopAction["reason"]): void => {
    plan.stop.push({ service: svc.name, instance: i.id, node: i.node, reason });
  };
  const sorted = classify(svc, instances, cluster, stop);
  let good = dropOverNodeLimit(svc, sorted.good, cluster, (i) => stop(i, "over_node_limit"));
  if (good.length > svc.count) good = dropSurplus(svc, good, cluster, (i) => stop(i, "scale_down"));
  const { outdated, lost } = sorted;

  const failedNew = instances.filter((i) => i.state === "failed" && i.revision === svc.revision).length;
  const blocked = rolloutProblem(svc, outdated, failedNew);
  if (blocked !== null) plan.problems.push(blocked);

  planStarts(svc, good, outdated, startReasons(lost, outdated, failedNew), blocked === null, cluster, options, plan);
  planOutdatedStops(svc, good, outdated, blocked === null, stop, plan);
  for (const i of good) plan.keep.push(i.id);
  return plan;
}

/** Step 1: live instances sorted into good and outdated; lost ones are stopped on the spot. */
function classify(svc: ServiceDemand, instances: readonly InstanceView[], cluster: ClusterView, stop: (i: InstanceView, reason: StopAction["reason"]) => void): { good: InstanceView[]; outdated: Outdated[]; lost: number } {
  const good: InstanceView[] = [];
  const outdated: Outdated[] = [];
  let lost = 0;
  for (const i of instances) {
    if (i.state !== "starting" && i.state !== "running") continue;
    const node = cluster.nodes.get(i.node);
    if (node === undefined || node.state === "down") {
      stop(i, "node_lost");
      if (i.revision === svc.revision) cluster.release(svc, i.node);
      lost++;
      continue;
    }
    const reason: ReplaceReason | null = node.state === "draining" ? "drain" : !matchesLabels(node, svc.labels) ? "placement" : i.revision !== svc.revision ? "rollout" : null;
    if (reason === null) {
      good.push(i);
      continue;
    }
    outdated.push({ instance: i, reason });
    // It is leaving: its slot must not count against the node's limit or its zone's spread.
    if (i.revision === svc.revision) cluster.release(svc, i.node);
  }
  return { good, outdated, lost };
}

/**
 * Step 2: a halted revision starts nothing; a roll-out whose new instances failed starts none of
 * them and keeps the old ones serving. Returns the problem to report, or null when starts may go on.
 */
function rolloutProblem(svc: ServiceDemand, outdated: readonly Outdated[], failedNew: number): PlanProblem | null {
  if (svc.haltedRevision === svc.revision) {
    return { service: svc.name, code: "rollout_halted", message: `Roll-out of ${svc.name} to revision ${svc.revision} is halted after its new instances failed`, hint: `fix the spec and apply it again, or undo the roll-out of ${svc.name}` };
  }
  if (failedNew > 0 && outdated.some((o) => o.reason === "rollout")) {
    return { service: svc.name, code: "rollout_failed", message: `Roll-out of ${svc.name} to revision ${svc.revision} failed: ${failedNew} new instance(s) failed past their restart policy`, hint: `see the instances' logs; fix the spec and apply it again, or undo the roll-out of ${svc.name}` };
  }
  return null;
}

/** Step 3: starts up to the count, within maxSurge over it and the bound on instances starting. */
function planStarts(svc: ServiceDemand, good: readonly InstanceView[], outdated: readonly Outdated[], reasons: readonly StartReason[], allowed: boolean, cluster: ClusterView, options: SchedulerOptions, plan: ServicePlan): void {
  // A drain starts the replacement first, so it needs room for one even when maxSurge is 0.
  const surge = outdated.some((o) => o.reason !== "rollout") ? Math.max(svc.maxSurge, 1) : svc.maxSurge;
  const starting = good.filter((i) => i.state === "starting").length;
  const wanted = Math.max(0, svc.count - good.length);
  const room = allowed ? Math.max(0, Math.min(wanted, svc.count + surge - good.length - outdated.length, options.maxStartingPerService - starting)) : 0;
  for (let k = 0; k < room; k++) {
    const node = cluster.choose(svc);
    if (node === null) break;
    cluster.place(svc, node);
    plan.start.push({ service: svc.name, revision: svc.revision, node, reason: reasons[k] ?? "missing" });
  }
  // Short of the count and no node could take one more (whether or not the limits let us try
  // this round): the operator must hear it, or a stuck service would look like a slow one.
  const placed = good.length + plan.start.length;
  if (placed < svc.count && cluster.choose(svc) === null) {
    plan.problems.push({
      service: svc.name,
      code: "unplaceable",
      message: `${svc.name} wants ${svc.count} instance(s) and has ${placed}; no node can take another: ${cluster.explainUnplaceable(svc)}`,
      hint: "add or undrain nodes with the labels, relax placement.labels, or raise placement.maxPerNode",
    });
  }
}

/**
 * Step 4: stops of outdated instances while enough healthy ones remain: a roll-out may dip to
 * count - maxUnavailable, a drain or placement move never below count (replacement first). A
 * blocked roll-out stops none of its old instances.
 */
function planOutdatedStops(svc: ServiceDemand, good: readonly InstanceView[], outdated: readonly Outdated[], rolloutMayStop: boolean, stop: (i: InstanceView, reason: StopAction["reason"]) => void, plan: ServicePlan): void {
  let available = good.filter((i) => i.healthy).length + outdated.filter((o) => o.instance.healthy).length;
  for (const o of [...outdated].sort(stopOrder)) {
    const floor = o.reason === "rollout" ? svc.count - svc.maxUnavailable : svc.count;
    const mayStop = o.reason === "rollout" && !rolloutMayStop ? false : !o.instance.healthy || available - 1 >= floor;
    if (!mayStop) {
      plan.keep.push(o.instance.id);
      continue;
    }
    if (o.instance.healthy) available--;
    stop(o.instance, o.reason);
  }
}

/** Keeps at most maxPerNode current instances per node: the healthiest, oldest-named first. */
function dropOverNodeLimit(svc: ServiceDemand, good: InstanceView[], cluster: ClusterView, drop: (i: InstanceView) => void): InstanceView[] {
  const perNode = new Map<string, number>();
  const kept: InstanceView[] = [];
  for (const i of [...good].sort(keepOrder)) {
    const n = perNode.get(i.node) ?? 0;
    if (n >= svc.maxPerNode) {
      drop(i);
      cluster.release(svc, i.node);
      continue;
    }
    perNode.set(i.node, n + 1);
    kept.push(i);
  }
  return kept.sort(byId);
}

/** Scale down: stops the least useful instances, one at a time from the most crowded node. */
function dropSurplus(svc: ServiceDemand, good: InstanceView[], cluster: ClusterView, drop: (i: InstanceView) => void): InstanceView[] {
  const kept = [...good];
  while (kept.length > svc.count) {
    let worst = 0;
    for (let k = 1; k < kept.length; k++) {
      if (worse(kept[k]!, kept[worst]!, cluster, svc)) worst = k;
    }
    const [victim] = kept.splice(worst, 1);
    drop(victim!);
    cluster.release(svc, victim!.node);
  }
  return kept;
}

/** True when `a` is a better instance to stop than `b`. */
function worse(a: InstanceView, b: InstanceView, cluster: ClusterView, svc: ServiceDemand): boolean {
  if (a.healthy !== b.healthy) return !a.healthy;
  if (a.state !== b.state) return a.state === "starting";
  const crowdA = cluster.currentOn(svc.name, a.node);
  const crowdB = cluster.currentOn(svc.name, b.node);
  if (crowdA !== crowdB) return crowdA > crowdB;
  return a.id > b.id;
}

/** Healthy, running, then by id: the order in which instances deserve to stay. */
function keepOrder(a: InstanceView, b: InstanceView): number {
  if (a.healthy !== b.healthy) return a.healthy ? -1 : 1;
  if (a.state !== b.state) return a.state === "running" ? -1 : 1;
  return byId(a, b);
}

const REASON_RANK: Record<ReplaceReason, number> = { drain: 0, placement: 1, rollout: 2 };

/** Unhealthy first (stopping them costs nothing), then drains, placement moves, roll-outs; by id. */
function stopOrder(a: Outdated, b: Outdated): number {
  if (a.instance.healthy !== b.instance.healthy) return a.instance.healthy ? 1 : -1;
  if (a.reason !== b.reason) return REASON_RANK[a.reason] - REASON_RANK[b.reason];
  return byId(a.instance, b.instance);
}

function byId(a: InstanceView, b: InstanceView): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Labels for the starts, in the order they are made: lost ones first, then replacements. */
function startReasons(lost: number, outdated: readonly Outdated[], failed: number): StartReason[] {
  const out: StartReason[] = [];
  for (let k = 0; k < lost; k++) out.push("replace_lost");
  for (const o of [...outdated].sort(stopOrder)) out.push(o.reason === "rollout" ? "rollout" : "move");
  for (let k = 0; k < failed; k++) out.push("replace_failed");
  return out;
}
