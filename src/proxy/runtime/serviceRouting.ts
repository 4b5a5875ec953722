// Which instances of an exposed service the proxy routes to, decided from the store's records
// (/work/notes layout, src/proxy/README.md "Services"): pure, so the rule is tested with tables.
//
// An instance is routable iff its /phalanx/instances key exists (its node's lease is alive), its
// node's /phalanx/nodes key exists on the same lease (an instance key left by an earlier life of
// the node's agent is not), it reports `healthy: true` in state "healthy" or "running", and it has
// the exposed port. Instances on a draining node stay routable only while the service has fewer
// than `replicas` routable instances elsewhere: a drain keeps serving until its replacements are
// up, then stops new requests to the old copies before their agent stops them.
import type { BackendEndpoint } from "../types.js";

/** The fields of an /phalanx/instances/<node>/<id> value the proxy reads. */
export interface InstanceRecord {
  readonly service: string;
  readonly instanceId: string;
  readonly node: number;
  readonly host: string;
  readonly state: string;
  readonly healthy: boolean;
  readonly ports: Readonly<Record<string, number>>;
}

/** One instance key as held by the source: its node (from the key), record and lease. */
export interface InstanceEntry {
  readonly nodeId: string;
  readonly key: string;
  readonly record: InstanceRecord;
  /** The key's lease; undefined when the store client does not report leases. */
  readonly lease: number | undefined;
}

/** What the routing rule knows about one node. */
export interface NodeEntry {
  readonly lease: number | undefined;
}

/** The store's view the rule reads. */
export interface RoutingView {
  readonly instances: readonly InstanceEntry[];
  /** Registered nodes by id (the /phalanx/nodes key suffix). */
  readonly nodes: ReadonlyMap<string, NodeEntry>;
  /** Ids of draining nodes (/phalanx/drain key suffixes). */
  readonly draining: ReadonlySet<string>;
}

/** States in which a healthy-reporting instance serves. */
const SERVING_STATES: ReadonlySet<string> = new Set(["healthy", "running"]);

/** Whether one instance may serve, drain aside. */
export function instanceServes(entry: InstanceEntry, port: string, nodes: RoutingView["nodes"]): boolean {
  const node = nodes.get(entry.nodeId);
  if (node === undefined) return false;
  if (node.lease !== undefined && entry.lease !== undefined && node.lease !== entry.lease) return false;
  const r = entry.record;
  return r.healthy === true && SERVING_STATES.has(r.state) && validPort(r.ports[port]) && r.host !== "";
}

/** The backends of one exposed service, sorted by id (`<node>/<instanceId>`). */
export function routableBackends(service: { readonly name: string; readonly replicas: number; readonly port: string }, view: RoutingView): BackendEndpoint[] {
  const serving = view.instances.filter((e) => e.record.service === service.name && instanceServes(e, service.port, view.nodes));
  const settled = serving.filter((e) => !view.draining.has(e.nodeId));
  const draining = serving.filter((e) => view.draining.has(e.nodeId)).sort((a, b) => (a.key < b.key ? -1 : 1));
  const keep = draining.slice(0, Math.max(0, service.replicas - settled.length));
  return [...settled, ...keep].map((e) => toEndpoint(e, service.port)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function toEndpoint(e: InstanceEntry, port: string): BackendEndpoint {
  return { id: `${e.nodeId}/${e.record.instanceId}`, host: e.record.host, port: e.record.ports[port] as number, weight: 1 };
}

function validPort(p: unknown): boolean {
  return typeof p === "number" && Number.isInteger(p) && p > 0 && p < 65_536;
}

/**
 * Reads an instance value; returns a message saying what is wrong instead when it lacks a field
 * the proxy needs (the key is then skipped, never routed to).
 */
export function parseInstanceRecord(raw: string): InstanceRecord | string {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    return `value is not JSON: ${(err as Error).message}`;
  }
  if (typeof v !== "object" || v === null) return "value is not a JSON object";
  const o = v as Record<string, unknown>;
  for (const field of ["service", "instanceId", "host", "state"] as const) {
    if (typeof o[field] !== "string") return `field ${field} must be a string`;
  }
  if (typeof o.healthy !== "boolean") return "field healthy must be a boolean";
  if (typeof o.ports !== "object" || o.ports === null) return "field ports must be an object of port name to number";
  return {
    service: o.service as string,
    instanceId: o.instanceId as string,
    node: typeof o.node === "number" ? o.node : 0,
    host: o.host as string,
    state: o.state as string,
    healthy: o.healthy as boolean,
    ports: o.ports as Record<string, number>,
  };
}
