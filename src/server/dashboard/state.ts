// The dashboard's whole picture, built from this node's own state: its status row, its copy of the
// store (services, nodes, drains, events, the alerts outbox), its transport links, its proxy and
// fronts, plus the leader's part (lag, last heartbeats) fetched through the forwarder on a follower.
// Nothing here waits for the leader: the page keeps working on a node that has lost it, and says so.
import type { AlertManager } from "../../alerts/manager.js";
import type { Alert } from "../../alerts/core/model.js";
import type { RunningFronts } from "../../fronts/runtime/start.js";
import type { ProxyRuntime, ProxyStats } from "../../proxy/runtime/runtime.js";
import { nodeStatus, type NodeStatus } from "../admin-routes.js";
import type { MemberDirectory } from "../members.js";
import type { NodeConfig } from "../node-config.js";
import type { Replica } from "../replica.js";
import { readServicesView, type ServicesView } from "../services/view.js";
import { localEvents, nodesJson, servicesWithFailover } from "../services/routes.js";
import type { EventRecord } from "../services/layout.js";
import { COLD_STANDBY_MESSAGE } from "../services/node-agent.js";
import type { LeaderChange, LeaderHistory } from "./leader-history.js";
import type { HeldLeaderPart, LeaderPart, LeaderPartSource } from "./leader-part.js";
import { clusterVerdict, quorumOf, type Verdict } from "./verdict.js";
import type { NodeSkew } from "../clock-skew.js";
import type { ClusterVipStatus } from "../services/cluster-vip.js";

/** Events the state carries (the stream adds newer ones as they happen). */
export const STATE_EVENTS = 100;

/** Where the state is read from. */
export interface DashboardSources {
  readonly replica: Replica;
  readonly members: MemberDirectory;
  readonly config: NodeConfig;
  /** The transport's links to the other members. */
  readonly peerLinks: () => readonly { readonly id: number; readonly connected: boolean }[];
  readonly alerts: AlertManager | null;
  readonly proxy: () => ProxyRuntime | null;
  readonly fronts: () => RunningFronts | null;
  readonly leaderPart: LeaderPartSource;
  readonly history: LeaderHistory;
  /** Wall-clock epoch ms (uptimes, event times). */
  readonly wallMs?: () => number;
  /** The skews this node knows (on the leader: every probed member), for the leader's part. */
  readonly clockSkews?: () => readonly NodeSkew[];
  /** This node's own skew to the leader (a follower knows its own even without the leader's part). */
  readonly ownClockSkewMs?: () => number | null;
}

/** One row of the node table. */
export interface NodeRow {
  readonly id: number;
  readonly name: string;
  /** Raft: leader, follower (voter), learner, or none (registered but not a member). */
  readonly raft: "leader" | "voter" | "learner" | "none";
  /** up: its node lease is alive (or, without services, this node reaches it); down otherwise. */
  readonly state: "up" | "down";
  readonly linkUp: boolean;
  readonly registered: boolean;
  readonly draining: boolean;
  /** Time since its node lease was last kept alive, as the leader knows it (null: unknown). */
  readonly lastHeartbeatMs: number | null;
  readonly uptimeMs: number | null;
  readonly version: string | null;
  /** Log entries it trails the leader by (null: unknown). */
  readonly lagEntries: number | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly instances: number;
  readonly clientAddress: string | null;
  /** Its wall clock minus the leader's, in ms (null: not measured); display only, no safety decision reads it. */
  readonly clockSkewMs: number | null;
  /** |clockSkewMs| beyond the threshold (alerts.thresholds.clockSkewMs, state.clockSkewThresholdMs). */
  readonly clockSkewed: boolean;
}

export interface DashboardState {
  /** Wall-clock ms on the serving node when this state was built. */
  readonly generatedAtMs: number;
  /** The serving node's own status row (who served the page). */
  readonly served: NodeStatus & { readonly leaderLost: boolean };
  readonly verdict: Verdict;
  readonly quorum: { readonly voters: number; readonly reachable: number; readonly needed: number };
  readonly leader: { readonly id: number; readonly name: string | null; readonly term: number; readonly changes: readonly LeaderChange[] };
  /** How old the leader's part (lag, heartbeats) is; null when none was obtained. */
  readonly leaderDataAgeMs: number | null;
  readonly nodes: readonly NodeRow[];
  /** Beyond this |clockSkewMs| a node's clock is shown as skewed (the clock_skew alert's threshold). */
  readonly clockSkewThresholdMs: number;
  /** The cluster VIP (address, holder, fencing token); null when no node sets clusterVip. */
  readonly clusterVip: ClusterVipStatus | null;
  readonly services: readonly unknown[];
  readonly proxy: ProxyStats | null;
  readonly fronts: FrontsStats | null;
  readonly alerts: { readonly active: readonly Alert[]; readonly pending: number };
  readonly events: readonly (EventRecord & { seq: number })[];
}

/** The session fronts of this node. */
export interface FrontsStats {
  readonly resp: { port: number; connections: number } | null;
  readonly memcached: { port: number; connections: number } | null;
  readonly keys: number;
  readonly bytes: number;
  readonly maxKeys: number;
  readonly maxBytes: number;
  readonly expiredKeys: number;
}

/** Builds the state from this node's sources. */
export async function buildDashboardState(s: DashboardSources): Promise<DashboardState> {
  const wallMs = s.wallMs ?? Date.now;
  const { replica } = s;
  const held = await s.leaderPart.current();
  const status = nodeStatus({ replica, members: s.members, config: s.config, ...(s.ownClockSkewMs ? { ownClockSkewMs: s.ownClockSkewMs } : {}) });
  const view = readServicesView((p) => replica.localPrefix(p), replica.kv.revision);
  const now = wallMs();
  const services = withActiveHealth(servicesWithFailover(replica, view, now).services);
  const nodes = nodeRows(s, view, held, now, { ownMs: status.clockSkewMs, thresholdMs: status.clockSkewThresholdMs });
  const voters = status.voters.length;
  const reachable = status.voters.filter((id) => nodes.find((n) => n.id === id)?.linkUp === true).length;
  const alertsView = s.alerts?.view() ?? { active: [], pending: [] };
  const health = serviceHealth(services);
  const verdict = clusterVerdict({
    leader: status.leader, voters, votersReachable: reachable,
    nodesDown: nodes.filter((n) => n.state === "down").map((n) => n.name),
    servicesDegraded: health.degraded, servicesDown: health.down, alertsFiring: alertsView.active.length,
  });
  return {
    generatedAtMs: now,
    served: { ...status, leaderLost: status.leader === 0 },
    verdict,
    quorum: { voters, reachable, needed: quorumOf(voters) },
    leader: { id: status.leader, name: s.members.get(status.leader as never)?.name ?? null, term: status.term, changes: s.history.list() },
    leaderDataAgeMs: held?.ageMs ?? null,
    nodes,
    clockSkewThresholdMs: status.clockSkewThresholdMs,
    clusterVip: configuredVip(status.clusterVip),
    services,
    proxy: s.proxy()?.stats() ?? null,
    fronts: frontsStats(s.fronts()),
    alerts: { active: alertsView.active, pending: alertsView.pending.length },
    events: localEvents(replica, 0, STATE_EVENTS),
  };
}

/** Members (Raft) and registered nodes (services) in one table. */
function nodeRows(s: DashboardSources, view: ServicesView, held: HeldLeaderPart | null, nowMs: number, skew: { ownMs: number | null; thresholdMs: number }): NodeRow[] {
  const status = s.replica.status();
  const self = s.replica.id as number;
  const links = new Map(s.peerLinks().map((p) => [p.id, p.connected]));
  const registered = new Map(nodesJson(view).nodes.map((n) => [n.id, n]));
  const ids = new Set<number>([...status.confState.voters, ...status.confState.learners, ...s.members.all().map((m) => m.id as number), ...registered.keys()]);
  const servicesOn = s.config.services.enabled || registered.size > 0;
  return [...ids].sort((a, b) => a - b).map((id) => {
    const member = s.members.get(id as never);
    const record = registered.get(id);
    const linkUp = id === self || links.get(id) === true;
    const raft = id === status.leader ? "leader" : status.confState.voters.includes(id as never) ? "voter" : status.confState.learners.includes(id as never) ? "learner" : "none";
    const part = held?.part;
    const heartbeat = part?.heartbeats[String(id)];
    const match = part?.match[String(id)];
    return {
      id, name: record?.name ?? member?.name ?? `node ${id}`, raft,
      // With services, a node is up while its lease is (the cluster's own judgement); else by its link.
      state: (servicesOn ? record !== undefined : linkUp) ? "up" : "down",
      linkUp, registered: record !== undefined, draining: view.drains.has(id),
      lastHeartbeatMs: heartbeat === undefined || held === null ? null : heartbeat.sinceMs + held.ageMs,
      uptimeMs: record === undefined ? null : Math.max(0, nowMs - record.startedAtMs),
      version: record?.version ?? null,
      lagEntries: match === undefined || part === undefined ? null : Math.max(0, part.lastIndex - match),
      labels: record?.labels ?? {},
      instances: record?.instances ?? 0,
      clientAddress: record?.clientAddress ?? member?.clientAddress ?? null,
      ...nodeSkew({ node: id, self, part: part ?? null, ownMs: skew.ownMs, thresholdMs: skew.thresholdMs }),
    };
  });
}

/**
 * A node's skew to the leader: the leader's measurement when its part is held; for this node its own
 * (a follower hears it from the leader's probes even while the leader's part is out of reach).
 */
export function nodeSkew(o: { node: number; self: number; part: Partial<Pick<LeaderPart, "skews">> | null; ownMs: number | null; thresholdMs: number }): { clockSkewMs: number | null; clockSkewed: boolean } {
  // `skews` is absent from the part of a leader running an older version.
  const measured = o.part?.skews?.[String(o.node)];
  const ms = measured ?? (o.node === o.self ? o.ownMs : null);
  return { clockSkewMs: ms ?? null, clockSkewed: ms !== null && ms !== undefined && Math.abs(ms) > o.thresholdMs };
}

/** The cluster VIP for the overview; null when neither the holder nor this node configures one. */
export function configuredVip(v: ClusterVipStatus): ClusterVipStatus | null {
  return v.address === null && v.holder === null ? null : v;
}

interface ServiceRowLike {
  readonly name: string;
  readonly replicas: number;
  readonly healthy: number;
  readonly failover?: { readonly active: { readonly node: number } | null };
  readonly instances: readonly { readonly node: number; readonly healthy: boolean; readonly message: string | null }[];
}

/**
 * Active-standby rows get `activeHealthy`: the active's node runs a healthy instance that is not a
 * cold standby's placeholder (healthy while it waits, before the promotion starts the real one).
 */
function withActiveHealth(rows: readonly unknown[]): unknown[] {
  return (rows as readonly ServiceRowLike[]).map((row) => {
    if (row.failover === undefined) return row;
    const active = row.failover.active;
    return { ...row, activeHealthy: active !== null && row.instances.some((i) => i.node === active.node && i.healthy && i.message !== COLD_STANDBY_MESSAGE) };
  });
}

/** Services below their healthy count, and with nothing healthy (active-standby: the active's instance). */
function serviceHealth(rows: readonly unknown[]): { degraded: string[]; down: string[] } {
  const degraded: string[] = [];
  const down: string[] = [];
  for (const row of rows as readonly (ServiceRowLike & { activeHealthy?: boolean })[]) {
    if (row.failover !== undefined) {
      if (row.activeHealthy !== true) down.push(row.name);
      continue;
    }
    if (row.replicas > 0 && row.healthy === 0) down.push(row.name);
    else if (row.healthy < row.replicas) degraded.push(row.name);
  }
  return { degraded, down };
}

function frontsStats(f: RunningFronts | null): FrontsStats | null {
  if (f === null) return null;
  const usage = f.keyspace.options.usage;
  return {
    resp: f.resp === null ? null : { port: f.resp.port, connections: f.resp.connections },
    memcached: f.memcached === null ? null : { port: f.memcached.port, connections: f.memcached.connections },
    keys: usage.keys, bytes: usage.bytes, maxKeys: usage.limits.maxKeys, maxBytes: usage.limits.maxBytes,
    expiredKeys: f.sweeper.expiredKeys,
  };
}
