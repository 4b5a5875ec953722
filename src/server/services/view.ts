// What the store says about services right now, read from one node's local store, and the
// scheduler's input built from it. The controller, the dry-run and the read-only routes share it.
import type { KeyValue } from "../../kv/store.js";
import { ServerError } from "../errors.js";
import { toServiceDemand } from "../../config/service-demand.js";
import type { InstanceView, NodeView, SchedulerInput, InstanceState as SchedulerState } from "../../scheduler/types.js";
import type { InstanceState } from "../../agent/core/types.js";
import {
  decodeRecord, DRAIN_PREFIX, INSTANCE_PREFIX, NODE_PREFIX, PLACEMENT_PREFIX, ROLLOUT_PREFIX, SPEC_PREFIX, splitNodeKey,
  type DrainRecord, type InstanceRecord, type NodeRecord, type PlacementRecord, type RolloutRecord, type SpecRecord,
} from "./layout.js";

/** A record with the key revisions a guarded write compares against. */
export interface Stored<T> {
  readonly key: string;
  readonly modRevision: number;
  readonly value: T;
}

export interface ServicesView {
  /** Store revision the view was read at. */
  readonly revision: number;
  readonly specs: ReadonlyMap<string, Stored<SpecRecord>>;
  readonly nodes: ReadonlyMap<number, Stored<NodeRecord>>;
  readonly drains: ReadonlyMap<number, Stored<DrainRecord>>;
  /** By instance id. */
  readonly placements: ReadonlyMap<string, Stored<PlacementRecord> & { readonly node: number }>;
  /** By instance id (a stale id on two nodes keeps the live node's). */
  readonly instances: ReadonlyMap<string, Stored<InstanceRecord>>;
  readonly rollouts: ReadonlyMap<string, Stored<RolloutRecord>>;
}

/** Reads prefixes of a local store (Replica.localPrefix). */
export type PrefixReader = (prefix: string) => readonly KeyValue[];

/** Reads every services key into a view. */
export function readServicesView(read: PrefixReader, revision: number): ServicesView {
  const each = <T>(prefix: string): Stored<T>[] => read(prefix).flatMap((kv) => {
    const value = decodeRecord<T>(kv);
    return value === null ? [] : [{ key: kv.key, modRevision: kv.modRevision, value }];
  });
  const specs = new Map(each<SpecRecord>(SPEC_PREFIX).map((s) => [s.key.slice(SPEC_PREFIX.length), s]));
  const nodes = new Map(each<NodeRecord>(NODE_PREFIX).map((s) => [Number(s.key.slice(NODE_PREFIX.length)), s]));
  const drains = new Map(each<DrainRecord>(DRAIN_PREFIX).map((s) => [Number(s.key.slice(DRAIN_PREFIX.length)), s]));
  const placements = new Map<string, Stored<PlacementRecord> & { node: number }>();
  for (const p of each<PlacementRecord>(PLACEMENT_PREFIX)) {
    const at = splitNodeKey(p.key, PLACEMENT_PREFIX);
    if (at !== null) placements.set(at.rest, { ...p, node: at.node });
  }
  const instances = new Map<string, Stored<InstanceRecord>>();
  for (const i of each<InstanceRecord>(INSTANCE_PREFIX)) {
    const at = splitNodeKey(i.key, INSTANCE_PREFIX);
    if (at === null) continue;
    const placedOn = placements.get(at.rest)?.node;
    if (!instances.has(at.rest) || placedOn === at.node) instances.set(at.rest, i);
  }
  const rollouts = new Map(each<RolloutRecord>(ROLLOUT_PREFIX).map((s) => [s.key.slice(ROLLOUT_PREFIX.length), s]));
  return { revision, specs, nodes, drains, placements, instances, rollouts };
}

/** True when an agent's report means the instance serves: healthy by its checks, or running without checks. */
export function reportHealthy(state: InstanceState, hasCheck: boolean): boolean {
  return state === "healthy" || (state === "running" && !hasCheck);
}

/** The scheduler's word for an agent's state. */
export function schedulerState(state: InstanceState): SchedulerState {
  switch (state) {
    case "starting":
    case "backoff":
      return "starting";
    case "running":
    case "healthy":
    case "unhealthy":
      return "running";
    case "stopping":
    case "stopped":
      return "stopping";
    case "failed":
      return "failed";
  }
}

function placedState(state: InstanceState): SchedulerState {
  const s = schedulerState(state);
  return s === "stopping" ? "starting" : s;
}

/** The scheduler's input: declared specs, live nodes (draining ones marked), placed and reported instances. */
export function schedulerInput(view: ServicesView): SchedulerInput {
  const services = [...view.specs.entries()].map(([name, s]) => {
    const halted = view.rollouts.get(name)?.value.haltedRevision ?? null;
    return toServiceDemand(s.value.spec, { revision: s.value.revision, ...(halted !== null ? { haltedRevision: halted } : {}) });
  });
  const nodes: NodeView[] = [...view.nodes.values()].map((n) => ({
    name: String(n.value.id),
    state: view.drains.has(n.value.id) ? "draining" : "up",
    labels: n.value.labels,
  }));
  const instances: InstanceView[] = [];
  for (const [id, p] of view.placements) {
    const report = view.instances.get(id);
    const reported = report !== undefined && report.value.node === p.node ? report.value : null;
    instances.push({
      id,
      service: p.value.service,
      revision: p.value.revision,
      node: String(p.node),
      // Placed but stopping: the agent is restarting it (failed checks, then backoff), not giving it up.
      state: reported === null ? "starting" : placedState(reported.state),
      healthy: reported?.healthy ?? false,
      restarts: reported?.restarts ?? 0,
    });
  }
  // A report without a placement: the agent is stopping it (it still holds its ports).
  for (const [id, i] of view.instances) {
    if (view.placements.has(id)) continue;
    instances.push({ id, service: i.value.service, revision: i.value.revision, node: String(i.value.node), state: "stopping", healthy: false, restarts: i.value.restarts });
  }
  return { services, nodes, instances };
}

/** A node given by name or id (drain, failover --to): its id; a number is taken as an id even if not registered. */
export function resolveNode(given: number | string, v: ServicesView): number {
  const byName = [...v.nodes.values()].find((n) => n.value.name === String(given));
  if (byName !== undefined) return byName.value.id;
  const id = Number(given);
  if (Number.isInteger(id) && id > 0) return id;
  throw new ServerError("not_found", `No registered node named ${JSON.stringify(given)}: \`phalanx status\` lists the nodes`);
}
