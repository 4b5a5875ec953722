// `phalanx status`: one row per member, like a replica set's status.
import type { Command } from "commander";
import type { PhalanxClient } from "../../client/client.js";
import { printTable, runClientCommand, withConnectionOptions } from "../client-options.js";
import type { ConnectionOptions } from "../client-options.js";

/** One member as `phalanx status` shows it. */
export interface MemberRow {
  id: number;
  name: string;
  address: string;
  role: string;
  state: string;
  term: number | null;
  commit: number | null;
  applied: number | null;
  lag: number | null;
  uptimeMs: number | null;
  lastHeartbeatMs: number | null;
  health: string;
  /** Services view: "up" (node lease alive), "draining", or "unregistered" (no lease: down, or services disabled). */
  services: string;
  /** Instances this node reports. */
  instances: number;
  /** Wall clock minus the leader's, ms, as the node reports it; null when unknown. */
  clockSkewMs: number | null;
  /** The node's threshold for a skewed clock (alerts.thresholds.clockSkewMs); null when unreachable. */
  clockSkewThresholdMs: number | null;
}

/** The cluster VIP as `phalanx status` shows it (GET /v3/phalanx/status's `clusterVip`). */
export interface ClusterVipRow {
  /** ADDRESS/PREFIX; null when no node configures one. */
  address: string | null;
  holder: number | null;
  holderName: string | null;
  token: number | null;
}

/** Collects every member's own view of itself; unreachable members get state "unreachable". */
export async function clusterStatus(client: PhalanxClient): Promise<MemberRow[]> {
  return (await clusterStatusWithVip(client)).members;
}

/** Every member's row and the cluster VIP as the leader (else the first member answering) sees it. */
export async function clusterStatusWithVip(client: PhalanxClient): Promise<{ members: MemberRow[]; clusterVip: ClusterVipRow | null }> {
  const membersAnswer = await client.call("GET", "/v3/phalanx/members", undefined, true);
  const members = (membersAnswer.members ?? []) as { id: number; name: string; clientAddress: string; role: string }[];
  const views = await Promise.all(members.map(async (m) => {
    try {
      return await client.status(m.clientAddress);
    } catch {
      return null;
    }
  }));
  const registered = await client.call("GET", "/v3/phalanx/nodes", undefined, true).catch(() => ({ nodes: [] }));
  const nodes = new Map(((registered.nodes ?? []) as { id: number; draining: boolean; instances: number }[]).map((n) => [n.id, n]));
  const servicesOf = (id: number): { services: string; instances: number } => {
    const n = nodes.get(id);
    return n === undefined ? { services: "unregistered", instances: 0 } : { services: n.draining ? "draining" : "up", instances: n.instances };
  };
  const leaderCommit = Math.max(0, ...views.map((v) => (v && v.role === "leader" ? Number(v.commit) : 0)));
  const vipView = views.find((v) => v?.role === "leader") ?? views.find((v) => v != null);
  const vip = (vipView?.clusterVip ?? null) as ClusterVipRow | null;
  const rows = members.map((m, i): MemberRow => {
    const v = views[i];
    if (!v) return { id: m.id, name: m.name, address: m.clientAddress, role: m.role, state: "unreachable", term: null, commit: null, applied: null, lag: null, uptimeMs: null, lastHeartbeatMs: null, health: "down", ...servicesOf(m.id), clockSkewMs: null, clockSkewThresholdMs: null };
    const applied = Number(v.applied);
    return {
      id: m.id, name: m.name, address: m.clientAddress,
      role: String(v.role), state: m.role === "joining" ? "joining" : "running",
      term: Number(v.term), commit: Number(v.commit), applied,
      lag: leaderCommit > 0 ? Math.max(0, leaderCommit - applied) : null,
      uptimeMs: Number(v.uptimeMs), lastHeartbeatMs: Number(v.sinceLeaderContactMs), health: String(v.health), ...servicesOf(m.id),
      clockSkewMs: typeof v.clockSkewMs === "number" ? v.clockSkewMs : null,
      clockSkewThresholdMs: typeof v.clockSkewThresholdMs === "number" ? v.clockSkewThresholdMs : null,
    };
  });
  return { members: rows, clusterVip: vip };
}

/** The line under the table: where the cluster VIP is; null when no node configures one. */
export function clusterVipLine(vip: ClusterVipRow | null): string | null {
  if (vip === null || (vip.address === null && vip.holder === null)) return null;
  const where = vip.holder === null ? "held by no node (no live node may take it yet)" : `on node ${vip.holder}${vip.holderName !== null ? ` (${vip.holderName})` : ""}, fencing token ${vip.token ?? "-"}`;
  return `Cluster VIP ${vip.address ?? "?"}: ${where}`;
}

const dur = (ms: number | null): string => (ms === null ? "-" : ms < 1000 ? `${ms}ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 60_000)}m`);

/** Default skew threshold when a node does not say its own (alerts.thresholds.clockSkewMs). */
export const DEFAULT_CLOCK_SKEW_THRESHOLD_MS = 500;

/** One warning line per member whose clock is further from the leader's than its threshold. */
export function clockSkewWarnings(rows: readonly MemberRow[]): string[] {
  return rows.flatMap((r) => {
    const threshold = r.clockSkewThresholdMs ?? DEFAULT_CLOCK_SKEW_THRESHOLD_MS;
    if (r.clockSkewMs === null || Math.abs(r.clockSkewMs) <= threshold) return [];
    const side = r.clockSkewMs > 0 ? "ahead of" : "behind";
    return [`WARNING: the clock of node ${r.id} (${r.name}) is ${dur(Math.round(Math.abs(r.clockSkewMs)))} ${side} the leader's (threshold ${threshold} ms): check NTP on that host. Leases and fencing do not depend on it; logs, alert and event times and the session fronts' TTLs do.`];
  });
}

const skew = (ms: number | null): string => (ms === null ? "-" : `${ms >= 0 ? "+" : "-"}${dur(Math.round(Math.abs(ms)))}`);

/** The table and the warnings `phalanx status` prints. */
export function renderStatus(rows: readonly MemberRow[], print: (headers: string[], rows: string[][]) => void = printTable): string[] {
  print(["ID", "NAME", "ADDRESS", "ROLE", "STATE", "TERM", "COMMIT", "APPLIED", "LAG", "UPTIME", "LAST HEARTBEAT", "HEALTH", "NODE", "INSTANCES", "CLOCK SKEW"],
    rows.map((r) => [String(r.id), r.name, r.address, r.role, r.state, String(r.term ?? "-"), String(r.commit ?? "-"), String(r.applied ?? "-"), String(r.lag ?? "-"), dur(r.uptimeMs), r.role === "leader" ? "-" : dur(r.lastHeartbeatMs), r.health, r.services, String(r.instances), skew(r.clockSkewMs)]));
  return clockSkewWarnings(rows);
}

/** Adds `phalanx status`. */
export function registerStatus(program: Command): void {
  withConnectionOptions(program.command("status").description("Show every member: role, state, term, commit/applied index, lag, uptime, last heartbeat, health, services (node lease up/draining/unregistered), instances and clock skew to the leader (a warning beyond alerts.thresholds.clockSkewMs); then which node holds the cluster VIP (node config clusterVip)"))
    .action(async (o: ConnectionOptions) => runClientCommand(o, async (client) => {
      const { members: rows, clusterVip } = await clusterStatusWithVip(client);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ members: rows, clusterVip }, null, 2)}\n`);
        return;
      }
      for (const warning of renderStatus(rows)) process.stdout.write(`${warning}\n`);
      const vipLine = clusterVipLine(clusterVip);
      if (vipLine !== null) process.stdout.write(`\n${vipLine}\n`);
    }));
}
