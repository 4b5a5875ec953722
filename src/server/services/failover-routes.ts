// The active-standby routes (issue 11): the agents' fencing lease and release, the planned
// switchover (`phalanx failover SERVICE [--to NODE]`), the local "am I still the active?" endpoint,
// and the failover lines `phalanx service NAME` shows (holder, token, flap damping).
import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { activeKey, decodeActiveHolder, encodeSwitchover, releaseCommand, switchoverKey } from "../../failover/active-record.js";
import { DEFAULT_FLAP_PARAMS, explainDamping } from "../../failover/flap-damping.js";
import type { ActiveStatus } from "../../failover/role.js";
import type { ServiceSpec } from "../../config/service.js";
import type { Access } from "../access.js";
import { ServerError } from "../errors.js";
import { parseBody } from "../gateway-json.js";
import type { RouteHandler } from "../http-api.js";
import type { Replica } from "../replica.js";
import { decodeRecord, failoverStateKey, FENCING_PREFIX, type FailoverStateRecord } from "./layout.js";
import { standbyCandidates } from "./failover-controller.js";
import { CLUSTER_VIP_ROLE, clusterVipCandidates } from "./cluster-vip.js";
import { resolveNode } from "./view.js";
import { appendEvent } from "./event-log.js";
import type { ServicesView } from "./view.js";

/** Shortest fencing lease an agent may ask for: a few Raft ticks and round trips. */
export const MIN_FENCING_LEASE_TTL_MS = 300;
/** Longest fencing lease. */
export const MAX_FENCING_LEASE_TTL_MS = 60_000;

type Route = (key: string, access: Access, handler: RouteHandler) => void;

/** What the node's agent answers for one of its services (null: no instance of it here). */
export type LocalActiveStatus = (service: string) => (ActiveStatus & { instance: string; node: number }) | null;

const leaseBody = z.object({ ttlMs: z.number().int().min(MIN_FENCING_LEASE_TTL_MS).max(MAX_FENCING_LEASE_TTL_MS) }).strict();
const releaseBody = z.object({ service: z.string().min(1).max(63), token: z.number().int().positive() }).strict();
const failoverBody = z.object({ service: z.string().min(1).max(63), to: z.union([z.number(), z.string().min(1).max(64)]).optional() }).strict();

/** Adds the failover routes. */
export function addFailoverRoutes(route: Route, replica: Replica, leaderOnly: () => void, view: () => Promise<ServicesView>, o: { localStatus: LocalActiveStatus; nowMs: () => number }): void {
  // The fencing lease is granted here rather than through /v3/lease/grant: it may be shorter than
  // the client minimum (1.5 election timeouts). An election longer than it expires it, which makes
  // the active fence itself and fail over: a spurious takeover, never two actives.
  route("POST /v3/phalanx/agent/fencing-lease", "admin", async (body) => {
    leaderOnly();
    const { ttlMs } = parseBody(leaseBody, body);
    const r = await replica.propose({ type: "leaseGrant", id: 0 as never, ttlMs });
    if (!r.ok || r.type !== "leaseGrant") throw new ServerError("bad_request", "Cannot grant the fencing lease");
    return { id: r.id, ttlMs: r.ttlMs };
  });

  // The holder gives the role up once its instance has stopped acting (planned switchover, failed or removed active).
  route("POST /v3/phalanx/agent/release", "admin", async (body) => {
    leaderOnly();
    const { service, token } = parseBody(releaseBody, body);
    const r = await replica.propose(releaseCommand(service, token as never));
    return { released: r.ok && r.type === "txn" && r.succeeded };
  });

  // Planned switchover: the request names the target; the holder's agent demotes, waits until its
  // instance stopped, releases; the leader's controller then promotes the target.
  route("POST /v3/phalanx/services/failover", "admin", async (body) => {
    leaderOnly();
    const req = parseBody(failoverBody, body);
    const v = await view();
    const kv = replica.localPrefix(activeKey(req.service)).find((k) => k.key === activeKey(req.service));
    const holder = kv === undefined ? null : decodeActiveHolder(kv);
    // The cluster VIP (cluster-vip.ts) moves the same way: its candidates are the nodes that may hold it.
    const cluster = req.service === CLUSTER_VIP_ROLE;
    if (cluster && holder === null) throw new ServerError("bad_request", "No node holds the cluster VIP right now (a promotion is pending, or no node sets clusterVip): retry shortly");
    const spec = cluster ? null : switchoverSpec(req.service, v);
    if (holder === null) throw new ServerError("bad_request", `Service "${req.service}" has no active right now (a promotion is pending): retry shortly`);
    const candidates = (spec === null ? clusterVipCandidates(v, fencingLeases(replica), replica.id).candidates : standbyCandidates(v, spec, fencingLeases(replica), replica.id))
      .filter((c) => c.node !== holder.record.node && c.nodeAlive && c.healthy);
    let to: number;
    if (req.to !== undefined) {
      to = resolveNode(req.to, v);
      if (to === holder.record.node) throw new ServerError("bad_request", `Node ${req.to} already holds the active of "${req.service}"`);
      if (!candidates.some((c) => c.node === to)) {
        throw new ServerError("bad_request", cluster
          ? `Node ${req.to} may not hold the cluster VIP: it is down, drained, or does not set clusterVip with the address the other nodes set`
          : `Node ${req.to} has no healthy standby of "${req.service}" on a live node: \`phalanx service ${req.service}\` shows the instances`);
      }
    } else {
      const best = [...candidates].sort((a, b) => a.preference - b.preference || a.node - b.node)[0];
      if (best === undefined) throw new ServerError("bad_request", `Service "${req.service}" has no healthy standby on another live node to switch over to`);
      to = best.node;
    }
    await replica.propose({ type: "put", key: switchoverKey(req.service), value: encodeSwitchover({ to, requestedAtMs: o.nowMs() }) });
    await appendEvent(replica, { atMs: o.nowMs(), kind: "service", type: "switchover_requested", service: req.service, node: to, message: `${req.service}: planned switchover from node ${holder.record.node} to node ${to} requested by an admin` });
    return { service: req.service, from: holder.record.node, to, token: holder.token };
  });

  // Who may call: anyone who can reach the node's client API from the node itself (loopback), with
  // no token — it is meant for the instances on this machine, and tells only a role and a token.
  route("GET /v3/phalanx/active", "public", async (_body, req) => {
    if (!isLoopback(req)) throw new ServerError("unauthenticated", "The active-role endpoint answers callers on the node itself only: ask the agent of the node the instance runs on, over loopback");
    const service = new URLSearchParams((req.url ?? "").split("?")[1] ?? "").get("service") ?? "";
    const st = o.localStatus(service);
    if (st === null) throw new ServerError("not_found", `No instance of service "${service}" is placed on this node`);
    return st as unknown as Record<string, unknown>;
  });
}

/** Each live node's fencing lease id, from /phalanx/fencing/. */
export function fencingLeases(replica: Replica): Map<number, number> {
  const out = new Map<number, number>();
  for (const kv of replica.localPrefix(FENCING_PREFIX)) {
    const r = decodeRecord<{ leaseId: number }>(kv);
    const node = Number(kv.key.slice(FENCING_PREFIX.length));
    if (r !== null && Number.isInteger(node)) out.set(node, r.leaseId);
  }
  return out;
}

/** The failover part of a service row: holder, token, damping. */
export function failoverJson(replica: Replica, spec: ServiceSpec, nowMs: number): Record<string, unknown> {
  const service = spec.name;
  const kv = replica.localPrefix(activeKey(service)).find((k) => k.key === activeKey(service));
  const holder = kv === undefined ? null : decodeActiveHolder(kv);
  const stateKv = replica.localPrefix(failoverStateKey(service)).find((k) => k.key === failoverStateKey(service));
  const state = stateKv === undefined ? null : decodeRecord<FailoverStateRecord>(stateKv);
  const sw = replica.localPrefix(switchoverKey(service)).find((k) => k.key === switchoverKey(service));
  return {
    active: holder === null ? null : { node: holder.record.node, token: holder.token, promotedAtMs: holder.record.promotedAtMs },
    damping: explainDamping({ promotionsAtMs: state?.promotionsAtMs ?? [] }, nowMs, spec.flapDamping ?? DEFAULT_FLAP_PARAMS),
    lastPromotion: state?.lastPromotion ?? null,
    switchover: sw === undefined ? null : decodeRecord<{ to: number }>(sw),
  };
}

/** The active-standby service a switchover names, or why there is none. */
function switchoverSpec(service: string, v: ServicesView): ServiceSpec {
  const spec = v.specs.get(service)?.value.spec;
  if (spec === undefined) throw new ServerError("not_found", `No service "${service}": \`phalanx services\` lists them (the cluster VIP is ${CLUSTER_VIP_ROLE})`);
  if (spec.mode !== "active-standby") throw new ServerError("bad_request", `Service "${service}" is active-active: every instance serves, there is nothing to fail over`);
  return spec;
}

function isLoopback(req: IncomingMessage): boolean {
  const a = req.socket.remoteAddress ?? "";
  return a === "::1" || a.startsWith("127.") || a.startsWith("::ffff:127.");
}
