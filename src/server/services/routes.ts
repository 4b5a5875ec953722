// The services part of /v3/phalanx/*: apply (all or nothing), plan (dry-run), list, delete, drain,
// roll-out undo, events, registered nodes, and the agents' own write route. Reading needs the client
// token; changing needs the admin token (access.ts). Changes run on the leader (not_leader → the
// API relays them); reads wait for a ReadIndex round and read the local store.
import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { formatIssue } from "../../config/errors.js";
import { canonicalJson } from "../../config/service-demand.js";
import type { ServiceSpec } from "../../config/service.js";
import { parseServiceFile } from "../../config/service-file.js";
import { serviceRevision } from "../../config/service-demand.js";
import type { TxnOp, TxnRequest } from "../../kv/store.js";
import { schedule } from "../../scheduler/schedule.js";
import { describePlan } from "../../scheduler/print.js";
import type { Access } from "../access.js";
import { ServerError } from "../errors.js";
import { parseBody } from "../gateway-json.js";
import type { RouteHandler } from "../http-api.js";
import type { Replica } from "../replica.js";
import {
  decodeRecord, drainKey, encodeRecord, EVENT_PREFIX, eventSeq, failoverStateKey, FENCING_PREFIX, INSTANCE_PREFIX, NODE_PREFIX, rolloutKey, specKey,
  type EventRecord, type InstanceRecord, type NodeRecord, type RolloutRecord, type SpecRecord,
} from "./layout.js";
import { readInstanceLog } from "./log-route.js";
import { switchoverKey } from "../../failover/active-record.js";
import { addFailoverRoutes, failoverJson, type LocalActiveStatus } from "./failover-routes.js";
import { readServicesView, resolveNode, schedulerInput, type ServicesView } from "./view.js";

/** Most services one apply may carry: each takes two ops of one txn (MAX_TXN_OPS 128). */
export const MAX_SERVICES_PER_APPLY = 60;
/** Most events one read returns. */
export const MAX_EVENTS_PER_READ = 1000;

const fileBody = z.object({ file: z.string().min(1).max(4096).default("services.yaml"), text: z.string().max(1024 * 1024) }).strict();
const nameBody = z.object({ name: z.string().min(1).max(63) }).strict();
const nodeBody = z.object({ node: z.union([z.number(), z.string().min(1).max(64)]) }).strict();
const agentOp = z.union([z.object({ put: z.string(), value: z.unknown() }).strict(), z.object({ delete: z.string() }).strict()]);
const agentWriteBody = z.object({ ops: z.array(agentOp).max(100), lease: z.number().int().positive().optional(), revokeLease: z.number().int().positive().optional() }).strict();

type Route = (key: string, access: Access, handler: RouteHandler) => void;

/** Adds the services routes to a route table. */
export function addServiceRoutes(route: Route, replica: Replica, leaderOnly: () => void, options: { logDir?: string | undefined; nowMs?: () => number; localActiveStatus?: LocalActiveStatus } = {}): void {
  const nowMs = options.nowMs ?? ((): number => Date.now());
  route("GET /v3/phalanx/logs", "client", async (_body, req) => readInstanceLog(options.logDir, req));
  const view = async (): Promise<ServicesView> => {
    await replica.linearizableBarrier();
    return readServicesView((p) => replica.localPrefix(p), replica.kv.revision);
  };
  addFailoverRoutes(route, replica, leaderOnly, view, { localStatus: options.localActiveStatus ?? (() => null), nowMs });

  route("POST /v3/phalanx/services/apply", "admin", async (body) => {
    leaderOnly();
    const { file, text } = parseBody(fileBody, body);
    const specs = parseSpecs(text, file);
    const v = readServicesView((p) => replica.localPrefix(p), replica.kv.revision);
    refuseClashes(specs, v);
    const { txn, changes } = applyTxn(specs, v, nowMs());
    if (txn.success.length > 0) {
      const r = await replica.propose({ type: "txn", ...txn });
      if (!r.ok || r.type !== "txn" || !r.succeeded) throw new ServerError("config_change_pending", "Services changed while this apply was checked, nothing was applied: apply again");
    }
    return { applied: changes };
  });

  route("POST /v3/phalanx/services/plan", "client", async (body) => {
    const { file, text } = parseBody(fileBody, body);
    const specs = parseSpecs(text, file);
    const v = await view();
    refuseClashes(specs, v);
    const next = new Map(v.specs);
    for (const s of specs) next.set(s.name, { key: specKey(s.name), modRevision: 0, value: { spec: s, revision: serviceRevision(s), appliedAtMs: 0 } });
    const input = schedulerInput({ ...v, specs: next });
    return describePlan(input, schedule(input));
  });

  route("GET /v3/phalanx/services", "client", async () => servicesWithFailover(replica, await view(), nowMs()));

  route("GET /v3/phalanx/nodes", "client", async () => nodesJson(await view()));

  route("POST /v3/phalanx/services/delete", "admin", async (body) => {
    leaderOnly();
    const { name } = parseBody(nameBody, body);
    const spec = replica.kv.get(specKey(name));
    if (spec === undefined) throw new ServerError("not_found", `No service "${name}": \`phalanx services\` lists them`);
    await replica.propose({ type: "txn", compares: [], success: [
      { type: "delete", key: specKey(name) }, { type: "delete", key: rolloutKey(name) },
      // Not the active record: its holder releases it once its instance has stopped acting.
      { type: "delete", key: failoverStateKey(name) }, { type: "delete", key: switchoverKey(name) },
    ], failure: [] });
    return { deleted: name };
  });

  const drain = (on: boolean): RouteHandler => async (body) => {
    leaderOnly();
    const v = readServicesView((p) => replica.localPrefix(p), replica.kv.revision);
    const id = resolveNode(parseBody(nodeBody, body).node, v);
    if (on) await replica.propose({ type: "put", key: drainKey(id), value: encodeRecord({ sinceMs: nowMs() }) });
    else await replica.propose({ type: "delete", key: drainKey(id) });
    return { node: id, draining: on };
  };
  route("POST /v3/phalanx/nodes/drain", "admin", drain(true));
  route("POST /v3/phalanx/nodes/undrain", "admin", drain(false));

  route("POST /v3/phalanx/rollouts/undo", "admin", async (body) => {
    leaderOnly();
    const { name } = parseBody(nameBody, body);
    const v = readServicesView((p) => replica.localPrefix(p), replica.kv.revision);
    const current = v.specs.get(name);
    if (current === undefined) throw new ServerError("not_found", `No service "${name}": \`phalanx services\` lists them`);
    const rollout = v.rollouts.get(name)?.value;
    const previous = rollout?.previousSpec ?? null;
    if (previous === null || rollout?.previousRevision === null) throw new ServerError("bad_request", `Service "${name}" has no previous revision to go back to: apply the spec you want instead`);
    const record: SpecRecord = { spec: previous, revision: serviceRevision(previous), appliedAtMs: nowMs() };
    const back: RolloutRecord = { haltedRevision: null, previousRevision: current.value.revision, previousSpec: current.value.spec };
    const r = await replica.propose({
      type: "txn",
      compares: [{ key: current.key, target: "modRevision", op: "=", value: current.modRevision }],
      success: [{ type: "put", key: specKey(name), value: encodeRecord(record) }, { type: "put", key: rolloutKey(name), value: encodeRecord(back) }],
      failure: [],
    });
    if (!r.ok || r.type !== "txn" || !r.succeeded) throw new ServerError("config_change_pending", `Service "${name}" changed meanwhile, nothing was undone: look at \`phalanx rollout status ${name}\` and undo again`);
    return { service: name, revision: record.revision, previousRevision: current.value.revision };
  });

  route("GET /v3/phalanx/events", "client", async (_body, req) => {
    await replica.linearizableBarrier();
    const q = query(req);
    return { events: localEvents(replica, Number(q.get("after") ?? 0), Number(q.get("limit") ?? 100)) };
  });

  // The agents' writes: their node record and instance reports (on their node lease), nothing else.
  route("POST /v3/phalanx/agent/write", "admin", async (body) => {
    leaderOnly();
    const w = parseBody(agentWriteBody, body);
    const ops: TxnOp[] = w.ops.map((op) => {
      const key = "put" in op ? op.put : op.delete;
      if (!key.startsWith(NODE_PREFIX) && !key.startsWith(INSTANCE_PREFIX) && !key.startsWith(FENCING_PREFIX)) throw new ServerError("bad_request", `Agents write only under ${NODE_PREFIX}, ${INSTANCE_PREFIX} and ${FENCING_PREFIX}, not ${JSON.stringify(key)}`);
      return "put" in op ? { type: "put", key, value: encodeRecord(op.value), ...(w.lease !== undefined ? { lease: w.lease } : {}) } : { type: "delete", key };
    });
    if (ops.length > 0) {
      const r = await replica.propose({ type: "txn", compares: [], success: ops, failure: [] });
      if (!r.ok) throw new ServerError(r.code === "lease_not_found" ? "not_found" : "bad_request", `Cannot write the agent's keys: ${r.message}`);
    }
    if (w.revokeLease !== undefined) await replica.propose({ type: "leaseRevoke", id: w.revokeLease as never });
    return { written: ops.length };
  });
}

/** The services rows of `GET /v3/phalanx/services`: active-standby ones also carry their holder, token and flap damping (failover-routes.ts). */
export function servicesWithFailover(replica: Replica, v: ServicesView, nowMs: number): { services: unknown[] } {
  const j = servicesJson(v);
  j.services = j.services.map((row) => {
    const r = row as { name: string };
    const spec = v.specs.get(r.name)?.value.spec;
    return spec?.mode === "active-standby" ? { ...r, failover: failoverJson(replica, spec, nowMs) } : r;
  });
  return j;
}

/** The registered nodes of `GET /v3/phalanx/nodes`, with drain state and instance counts. */
export function nodesJson(v: ServicesView): { nodes: (NodeRecord & { draining: boolean; instances: number; placements: number })[] } {
  return {
    nodes: [...v.nodes.values()].map((n) => ({
      ...n.value,
      draining: v.drains.has(n.value.id),
      instances: [...v.instances.values()].filter((i) => i.value.node === n.value.id).length,
      placements: [...v.placements.values()].filter((p) => p.node === n.value.id).length,
    })),
  };
}

/** The newest `limit` events after sequence `after`, from this node's store (read after a barrier for a current answer). */
export function localEvents(replica: Pick<Replica, "localPrefix">, after: number, limit: number): (EventRecord & { seq: number })[] {
  const bounded = Math.min(MAX_EVENTS_PER_READ, Math.max(1, Number.isFinite(limit) ? limit : 100));
  const all = replica.localPrefix(EVENT_PREFIX).filter((kv) => eventSeq(kv.key) > (Number.isFinite(after) ? after : 0));
  return all.slice(-bounded).flatMap((kv) => {
    const e = decodeRecord<EventRecord>(kv);
    return e === null ? [] : [{ seq: eventSeq(kv.key), ...e }];
  });
}

function query(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? "/";
  const at = url.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : url.slice(at + 1));
}

/** Validates a service file's text as the CLI does: every problem in one error, nothing applied. */
export function parseSpecs(text: string, file: string): readonly ServiceSpec[] {
  const parsed = parseServiceFile(text, file);
  if (!parsed.ok) throw new ServerError("bad_request", `Cannot apply ${file}: ${parsed.issues.length} problem${parsed.issues.length === 1 ? "" : "s"}, nothing was applied\n${parsed.issues.map(formatIssue).join("\n")}`);
  if (parsed.value.length > MAX_SERVICES_PER_APPLY) throw new ServerError("bad_request", `Cannot apply ${file}: it holds ${parsed.value.length} services, at most ${MAX_SERVICES_PER_APPLY} go in one apply; split the file`);
  return parsed.value;
}

/** Refuses specs whose ports clash with services already stored (the file's own clashes are the loader's). */
export function refuseClashes(specs: readonly ServiceSpec[], v: ServicesView): void {
  const incoming = new Set(specs.map((s) => s.name));
  const others = [...v.specs.values()].map((s) => s.value.spec).filter((s) => !incoming.has(s.name));
  const problems: string[] = [];
  for (const s of specs) {
    for (const o of others) {
      if (s.expose !== null && o.expose !== null && s.expose.listen.port === o.expose.listen.port) {
        problems.push(`service "${s.name}" exposes port ${s.expose.listen.port}, which service "${o.name}" already exposes on every node: pick another expose.listen port`);
      }
      for (const p of s.ports) {
        if (p.port !== null && o.expose !== null && p.port === o.expose.listen.port) problems.push(`service "${s.name}" port ${p.name} is fixed at ${p.port}, where every node's proxy serves service "${o.name}": use another port or leave port: out`);
        if (p.port !== null && o.ports.some((q) => q.port === p.port)) problems.push(`service "${s.name}" port ${p.name} is fixed at ${p.port}, which service "${o.name}" also fixes: two services cannot share a fixed port on a node; choose another`);
      }
      if (s.expose !== null && o.ports.some((q) => q.port === s.expose!.listen.port)) problems.push(`service "${s.name}" exposes port ${s.expose.listen.port}, a fixed port of service "${o.name}": pick another expose.listen port`);
    }
  }
  if (problems.length > 0) throw new ServerError("bad_request", `Cannot apply: ${problems.length} port clash${problems.length === 1 ? "" : "es"} with services already applied, nothing was applied\n${problems.join("\n")}`);
}

/** One txn for every spec of an apply, guarded by each spec key as read. */
export function applyTxn(specs: readonly ServiceSpec[], v: ServicesView, nowMs: number): { txn: TxnRequest; changes: { name: string; revision: string; change: string }[] } {
  const compares: TxnRequest["compares"][number][] = [];
  const ops: TxnOp[] = [];
  const changes: { name: string; revision: string; change: string }[] = [];
  for (const spec of specs) {
    const revision = serviceRevision(spec);
    const old = v.specs.get(spec.name);
    compares.push({ key: specKey(spec.name), target: "modRevision", op: "=", value: old?.modRevision ?? 0 });
    if (old !== undefined && canonicalJson(old.value.spec) === canonicalJson(spec)) {
      changes.push({ name: spec.name, revision, change: "unchanged" });
      continue;
    }
    const change = old === undefined ? "created" : old.value.revision === revision ? "updated (no roll-out)" : "rolling out";
    changes.push({ name: spec.name, revision, change });
    ops.push({ type: "put", key: specKey(spec.name), value: encodeRecord({ spec, revision, appliedAtMs: nowMs } satisfies SpecRecord) });
    if (old !== undefined && old.value.revision !== revision) {
      const record: RolloutRecord = { haltedRevision: null, previousRevision: old.value.revision, previousSpec: old.value.spec };
      ops.push({ type: "put", key: rolloutKey(spec.name), value: encodeRecord(record) });
    }
  }
  return { txn: { compares, success: ops, failure: [] }, changes };
}

/** Every service with its spec summary, roll-out state and instances (placements joined with reports). */
export function servicesJson(v: ServicesView): { services: unknown[] } {
  const names = new Set([...v.specs.keys(), ...[...v.placements.values()].map((p) => p.value.service)]);
  const services = [...names].sort().map((name) => {
    const s = v.specs.get(name)?.value ?? null;
    const rollout = v.rollouts.get(name)?.value ?? null;
    const ids = new Set([...[...v.placements.entries()].filter(([, p]) => p.value.service === name).map(([id]) => id), ...[...v.instances.entries()].filter(([, i]) => i.value.service === name).map(([id]) => id)]);
    const instances = [...ids].sort().map((id) => {
      const p = v.placements.get(id);
      const r: InstanceRecord | undefined = v.instances.get(id)?.value;
      const node = p?.node ?? r?.node ?? 0;
      return {
        id, node, nodeName: v.nodes.get(node)?.value.name ?? null, placed: p !== undefined,
        revision: p?.value.revision ?? r?.revision ?? "", state: r?.state ?? (v.nodes.has(node) ? "placed" : "node_down"),
        healthy: r?.healthy ?? false, restarts: r?.restarts ?? 0, startedAtMs: r?.startedAtMs ?? null,
        ports: r?.ports ?? {}, host: r?.host ?? null, message: r?.message ?? null,
        ...(r?.position !== undefined ? { position: r.position } : {}),
      };
    });
    return {
      name, revision: s?.revision ?? null, replicas: s?.spec.replicas ?? 0, appliedAtMs: s?.appliedAtMs ?? null,
      healthy: instances.filter((i) => i.healthy && i.revision === s?.revision).length,
      rollout: { haltedRevision: rollout?.haltedRevision ?? null, previousRevision: rollout?.previousRevision ?? null,
        current: instances.filter((i) => i.revision === s?.revision && i.placed).length, outdated: instances.filter((i) => i.revision !== s?.revision && i.placed).length },
      expose: s?.spec.expose ? `${s.spec.expose.listen.host}:${s.spec.expose.listen.port}` : null,
      instances,
    };
  });
  return { services };
}

