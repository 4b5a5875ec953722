// Phalanx's own API beside the etcd-style one: node status, membership, leadership transfer,
// joining, snapshots. Handlers throw ServerError("not_leader") where only the leader can act; the
// API layer then relays the request to the leader. Each route states who may call it (access.ts):
// read-only views are "client", anything that changes or exports the cluster is "admin", and the
// join route is "public" because it checks the join token in its body.
import type { LocalActiveStatus } from "./services/failover-routes.js";
import { z } from "zod";
import type { IncomingMessage } from "node:http";
import { signNodeRequest } from "../pki/issue.js";
import { verifyJoinToken } from "../pki/token.js";
import type { NodeTlsFiles } from "../pki/files.js";
import { nodeId } from "../raft/raft.js";
import type { NodeId } from "../raft/raft.js";
import { ServerError } from "./errors.js";
import type { LeaderForwarder } from "./forward.js";
import { parseBody } from "./gateway-json.js";
import type { Access } from "./access.js";
import type { ClusterRoute, RouteHandler } from "./http-api.js";
import { exportableSnapshot } from "./internal-keys.js";
import { CA_KEY } from "./housekeeper.js";
import type { ClusterHousekeeper } from "./housekeeper.js";
import { encodeMemberRecord, memberKey } from "./members.js";
import type { MemberDirectory, MemberRecord } from "./members.js";
import type { NodeConfig } from "./node-config.js";
import type { Replica } from "./replica.js";
import type { AlertManager } from "../alerts/manager.js";
import { readFile } from "node:fs/promises";
import { addServiceRoutes } from "./services/routes.js";
import { CLUSTER_VIP_KEY, clusterVipStatus, type ClusterVipStatus } from "./services/cluster-vip.js";
import { decodeRecord, drainKey, nodeKey, type NodeRecord } from "./services/layout.js";
import { parseVipAddress } from "../vip/core/address.js";
import { appendEvent } from "./services/event-log.js";

/** What the admin routes act on. */
export interface AdminContext {
  readonly replica: Replica;
  readonly members: MemberDirectory;
  readonly config: NodeConfig;
  readonly housekeeper: ClusterHousekeeper;
  readonly forwarder: LeaderForwarder;
  readonly credentials: NodeTlsFiles;
  /** The node's alerting (absent in harnesses that do not run it). */
  readonly alerts?: AlertManager;
  /** The local agent's "am I the active?" answer (GET /v3/phalanx/active); absent without services. */
  readonly localActiveStatus?: LocalActiveStatus;
  /** This node's wall clock minus the leader's (clock-skew.ts), null when unknown; absent: never known. */
  readonly ownClockSkewMs?: () => number | null;
}

/** One row of `phalanx status`, as this node sees itself. */
export interface NodeStatus {
  readonly id: number;
  readonly name: string;
  readonly clusterId: string;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly revision: number;
  readonly uptimeMs: number;
  readonly sinceLeaderContactMs: number;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  /** On the leader: each member's replicated index. */
  readonly matchIndex?: Record<string, number>;
  readonly peerAddress: string;
  readonly clientAddress: string;
  readonly health: "healthy" | "no_leader" | "lagging";
  /** This node's wall clock minus the leader's, ms (0 on the leader); null when not measured (yet). */
  readonly clockSkewMs: number | null;
  /** Beyond this |clockSkewMs| the node's clock is reported as skewed (alerts.thresholds.clockSkewMs). */
  readonly clockSkewThresholdMs: number;
  /** The cluster VIP as this node's store says (docs/cluster-vip.md): address, holding node, token. */
  readonly clusterVip: ClusterVipStatus;
}

const idBody = z.object({ id: z.union([z.number(), z.string()]).transform(Number).pipe(z.number().int().positive()) });
const transferBody = z.object({ to: z.union([z.number(), z.string()]).transform(Number).pipe(z.number().int().positive()) });
const joinBody = z.object({
  token: z.string().min(1),
  csr: z.string().min(1),
  name: z.string().min(1).max(64),
  peerAddress: z.string().min(3),
  clientAddress: z.string().min(3),
  hostnames: z.array(z.string()).max(16).default([]),
  ips: z.array(z.string()).max(16).default([]),
});

/** A node is "lagging" when its applied index trails its commit index by more than this. */
export const LAGGING_ENTRIES = 1000;

/** Builds the /v3/phalanx/* route table. */
export function adminRoutes(ctx: AdminContext): Map<string, ClusterRoute> {
  const { replica } = ctx;
  const leaderOnly = (): void => {
    if (replica.status().role !== "leader") {
      const leader = replica.leaderId;
      throw leader === 0
        ? new ServerError("no_leader", "No leader right now (election in progress): retry shortly")
        : new ServerError("not_leader", `Node ${replica.id} is not the leader`, { leaderId: leader });
    }
  };
  const routes = new Map<string, ClusterRoute>();
  const route = (key: string, access: Access, handler: RouteHandler): void => void routes.set(key, { access, handler });
  route("GET /v3/phalanx/status", "client", async () => nodeStatus(ctx));
  addServiceRoutes(route, replica, leaderOnly, {
    logDir: ctx.config.services.enabled ? ctx.config.services.logDir : undefined,
    ...(ctx.localActiveStatus !== undefined ? { localActiveStatus: ctx.localActiveStatus } : {}),
  });
  route("GET /v3/phalanx/members", "client", async () => ({ members: membersView(ctx) }));
  route("POST /v3/phalanx/members/remove", "admin", async (body) => {
    leaderOnly();
    const id = nodeId(parseBody(idBody, body).id);
    await replica.proposeConfChange({ type: "removeNode", nodeId: id });
    // The drain mark goes with the member: a later node that reuses the id must not start drained.
    await replica.propose({ type: "txn", compares: [], success: [{ type: "delete", key: memberKey(id) }, { type: "delete", key: drainKey(id) }], failure: [] });
    return { removed: id };
  });
  route("POST /v3/phalanx/members/promote", "admin", async (body) => {
    leaderOnly();
    const id = nodeId(parseBody(idBody, body).id);
    await replica.proposeConfChange({ type: "addVoter", nodeId: id });
    return { promoted: id };
  });
  route("POST /v3/phalanx/transfer", "admin", async (body) => {
    leaderOnly();
    const to = nodeId(parseBody(transferBody, body).to);
    // Recorded first: a leader refuses proposals while it hands over, and cannot write once it has.
    await appendEvent(replica, { atMs: Date.now(), kind: "node", type: "leadership_transfer", node: to, message: `Leadership transfer from node ${replica.id} to node ${to} requested by an admin` });
    replica.transferLeadership(to);
    return { transferring: to };
  });
  // The join token (checked in join()) is the operator's approval of a new member.
  route("POST /v3/phalanx/join", "public", async (body, req) => join(ctx, body, req, leaderOnly));
  // Never the CA: exportableSnapshot drops the hidden keys (a restored cluster takes its CA from the pki directories).
  route("GET /v3/phalanx/snapshot", "admin", async () => {
    await replica.linearizableBarrier();
    return exportableSnapshot(replica.kv.snapshot());
  });
  // Firing alerts and pending deliveries (the outbox), current as of the call.
  route("GET /v3/phalanx/alerts", "client", async () => {
    await replica.linearizableBarrier();
    return ctx.alerts === undefined ? { active: [], pending: [] } : ctx.alerts.view();
  });
  // Sends a test alert through every channel from the leader (the node that delivers alerts).
  route("POST /v3/phalanx/alerts/test", "admin", async () => {
    leaderOnly();
    return { node: replica.id, results: ctx.alerts === undefined ? [] : await ctx.alerts.sendTest() };
  });
  return routes;
}

/** This node's row of `phalanx status`. */
export function nodeStatus(ctx: Pick<AdminContext, "replica" | "members" | "config" | "ownClockSkewMs">): NodeStatus {
  const s = ctx.replica.status();
  const self = ctx.members.get(ctx.replica.id);
  const matchIndex: Record<string, number> = {};
  if (s.progress) for (const [id, p] of s.progress) matchIndex[String(id)] = p.match;
  const health = s.leader === 0 ? "no_leader" : s.commit - s.applied > LAGGING_ENTRIES ? "lagging" : "healthy";
  return {
    id: s.id,
    name: ctx.config.node.name,
    clusterId: ctx.config.clusterId,
    role: s.confState.learners.includes(s.id) ? "learner" : s.role,
    term: s.term,
    leader: s.leader,
    commit: s.commit,
    applied: ctx.replica.kv.appliedIndex,
    lastIndex: s.lastIndex,
    revision: ctx.replica.kv.revision,
    uptimeMs: Math.round(ctx.replica.uptimeMs()),
    sinceLeaderContactMs: Math.round(ctx.replica.sinceLeaderContactMs()),
    voters: s.confState.voters,
    learners: s.confState.learners,
    ...(s.progress ? { matchIndex } : {}),
    peerAddress: self?.peerAddress ?? ctx.config.node.peerAdvertise,
    clientAddress: self?.clientAddress ?? ctx.config.node.clientAdvertise,
    health,
    clockSkewMs: ctx.ownClockSkewMs?.() ?? null,
    clockSkewThresholdMs: ctx.config.alerts.thresholds.clockSkewMs,
    clusterVip: localClusterVip(ctx),
  };
}

/** The cluster VIP's record and the nodes' published addresses, from the local store (serializable: a status is a view, not a fence). */
function localClusterVip(ctx: Pick<AdminContext, "replica" | "config">): ClusterVipStatus {
  const replica = ctx.replica;
  const record = replica.localPrefix(CLUSTER_VIP_KEY).find((k) => k.key === CLUSTER_VIP_KEY);
  const nodeRecord = (node: number): NodeRecord | undefined => {
    const kv = replica.localPrefix(nodeKey(node)).find((k) => k.key === nodeKey(node));
    return kv === undefined ? undefined : decodeRecord<NodeRecord>(kv) ?? undefined;
  };
  const own = ctx.config.clusterVip === undefined ? null : parseVipAddress(ctx.config.clusterVip.address);
  return clusterVipStatus(record, nodeRecord, own === null || "error" in own ? null : own.cidr);
}

/** Current members, plus nodes whose record is written but whose membership change is not yet applied ("joining"). */
function membersView(ctx: AdminContext): (MemberRecord & { role: "voter" | "learner" | "joining" })[] {
  const conf = ctx.replica.status().confState;
  return ctx.members
    .all()
    .filter((m) => conf.voters.includes(m.id) || conf.learners.includes(m.id) || ctx.members.isRecorded(m.id))
    .map((m) => ({ ...m, role: conf.voters.includes(m.id) ? "voter" : conf.learners.includes(m.id) ? "learner" : "joining" }));
}

async function join(ctx: AdminContext, body: unknown, _req: IncomingMessage, leaderOnly: () => void): Promise<unknown> {
  const j = parseBody(joinBody, body);
  if (!verifyJoinToken(j.token, ctx.config.joinTokenHash)) throw new ServerError("unauthenticated", "Join token is not valid for this cluster: ask an operator for the token printed by `phalanx init`");
  leaderOnly();
  const { replica } = ctx;
  const caValue = replica.kv.get(CA_KEY);
  if (caValue === undefined) throw new ServerError("no_leader", "The cluster CA is not in the store yet: retry in a moment");
  const ca = JSON.parse(new TextDecoder().decode(caValue.value)) as { certPem: string; keyPem: string };
  const conf = replica.status().confState;
  const used = new Set<number>([...conf.voters, ...conf.learners, ...ctx.members.all().map((m) => m.id)]);
  const id: NodeId = nodeId(Math.max(0, ...used) + 1);
  const certPem = await signNodeRequest({ clusterId: ctx.config.clusterId, certPem: ca.certPem, keyPem: ca.keyPem }, j.csr, { nodeId: id, hostnames: j.hostnames, ips: j.ips });
  const record: MemberRecord = { id, name: j.name, peerAddress: j.peerAddress, clientAddress: j.clientAddress };
  const put = await replica.propose({ type: "txn", compares: [{ key: memberKey(id), target: "version", op: "=", value: 0 }], success: [{ type: "put", key: memberKey(id), value: encodeMemberRecord(record) }], failure: [] });
  if (!put.ok || put.type !== "txn" || !put.succeeded) throw new ServerError("config_change_pending", "Another node is joining with the same id: retry");
  await replica.proposeConfChange({ type: "addLearner", nodeId: id });
  // A member holds both tokens: it may become leader, which holds the CA anyway.
  const token = (await readFile(ctx.config.tokenFile, "utf8")).trim();
  const adminToken = (await readFile(ctx.config.adminTokenFile, "utf8")).trim();
  return {
    nodeId: id,
    clusterId: ctx.config.clusterId,
    certPem,
    caCertPem: ca.certPem,
    clientToken: token,
    adminToken,
    joinTokenHash: ctx.config.joinTokenHash,
    members: [...ctx.members.all(), record],
    raft: ctx.config.raft,
    profile: ctx.config.profile,
  };
}
