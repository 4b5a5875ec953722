// The demo's live status: what the cluster says about itself (members, node leases, services and
// instances, the active holder, recent events) plus what each instance says (requests served), read
// once a second and drawn in place on a terminal, or as plain lines when output is not a terminal.
import type { PhalanxClient } from "../../client/client.js";
import type { DemoCluster } from "./demo-cluster.js";
import type { Traffic } from "./demo-traffic.js";
import { listServices } from "./services.js";
import type { ServiceRow } from "./services.js";
import { clusterStatus } from "./status.js";
import type { MemberRow } from "./status.js";

/** Events kept for the view. */
export const DEMO_VIEW_EVENTS = 6;

/** One reading of the cluster. */
export interface DemoSnapshot {
  readonly atMs: number;
  readonly members: readonly MemberRow[];
  readonly services: readonly ServiceRow[];
  /** Requests served per instance port, as each instance reports it (absent: no answer). */
  readonly served: ReadonlyMap<number, number>;
  /** Node id holding the singleton's active role (null: no active record). */
  readonly activeNode: number | null;
  readonly error: string | null;
}

/** Reads the cluster through `client`, keeping a cursor over its events. */
export class DemoObserver {
  private eventsAfter = 0;
  readonly events: string[] = [];

  constructor(private readonly client: PhalanxClient, private readonly cluster: DemoCluster) {}

  /** New events since the last call (also kept in `events`, the newest DEMO_VIEW_EVENTS). */
  async newEvents(): Promise<string[]> {
    const j = await this.client.call("GET", `/v3/phalanx/events?after=${this.eventsAfter}&limit=100`, undefined, true);
    const out: string[] = [];
    for (const e of (j.events ?? []) as { seq: number; atMs: number; type: string; message: string }[]) {
      this.eventsAfter = Math.max(this.eventsAfter, e.seq);
      out.push(`${new Date(e.atMs).toISOString().slice(11, 23)}  ${e.type.padEnd(18)} ${e.message}`);
    }
    this.events.push(...out);
    this.events.splice(0, Math.max(0, this.events.length - DEMO_VIEW_EVENTS));
    return out;
  }

  /** Reads everything once; a failure is recorded in `error` rather than thrown (the view goes on). */
  async snapshot(): Promise<DemoSnapshot> {
    try {
      const [members, services, activeNode] = await Promise.all([clusterStatus(this.client), listServices(this.client), this.activeHolder()]);
      const served = new Map<number, number>();
      await Promise.all(services.flatMap((s) => s.instances).map(async (i) => {
        const port = Object.values(i.ports)[0];
        if (port === undefined || i.state === "node_down") return;
        try {
          const res = await fetch(`http://${i.host ?? "127.0.0.1"}:${port}/stats`, { signal: AbortSignal.timeout(500) });
          const body = (await res.json()) as { served?: number };
          if (typeof body.served === "number") served.set(port, body.served);
        } catch {
          // No answer: the instance is starting or gone; the view shows "-".
        }
      }));
      return { atMs: Date.now(), members, services, served, activeNode, error: null };
    } catch (err) {
      return { atMs: Date.now(), members: [], services: [], served: new Map(), activeNode: null, error: (err as Error).message };
    }
  }

  /** The node named by the singleton's active record (docs/failover.md), or null. */
  async activeHolder(): Promise<number | null> {
    const r = await this.client.get(`/phalanx/active/${DEMO_SINGLETON}`);
    const kv = r.kvs[0];
    if (kv === undefined) return null;
    try {
      const node = (JSON.parse(kv.value) as { node?: unknown }).node;
      return typeof node === "number" ? node : null;
    } catch {
      return null;
    }
  }

  /** The cluster object this observer reads (for pids and addresses). */
  get demo(): DemoCluster {
    return this.cluster;
  }
}

/** Name of the active/active service. */
export const DEMO_WEB = "web";
/** Name of the active/standby service. */
export const DEMO_SINGLETON = "singleton";

/** The status block: nodes, services with their instances, the client's counts, recent events. */
export function renderStatus(s: DemoSnapshot, cluster: DemoCluster, events: readonly string[], traffic: Traffic | null): string[] {
  const lines: string[] = [];
  lines.push(`Phalanx demo — ${new Date(s.atMs).toISOString().slice(11, 19)} UTC${s.error !== null ? `  (cluster not answering: ${s.error})` : ""}`);
  lines.push("");
  lines.push(row(["NODE", "PID", "RAFT ROLE", "HEALTH", "LEASE", "INSTANCES", "CLIENT API"]));
  for (const n of cluster.nodes) {
    const m = s.members.find((x) => x.id === n.id);
    const pid = n.child?.pid;
    lines.push(row([n.name, pid === undefined ? "killed" : String(pid), m?.role ?? "-", m?.health ?? (pid === undefined ? "down" : "-"), m?.services ?? "-", String(m?.instances ?? 0), n.clientAddress]));
  }
  for (const svc of s.services) {
    lines.push("");
    const addresses = svc.name === DEMO_WEB ? cluster.webAddresses() : svc.name === DEMO_SINGLETON ? cluster.singletonAddresses() : [];
    lines.push(`${svc.name}: ${svc.healthy}/${svc.instances.length} healthy, wants ${svc.replicas}${svc.name === DEMO_SINGLETON ? " active + 1 standby" : ""}; balancer ${addresses.map((a) => `http://${a}`).join(" ")}`);
    lines.push(row(["  INSTANCE", "NODE", "STATE", "HEALTH", "ROLE", "PORT", "SERVED"]));
    for (const i of svc.instances) {
      const port = Object.values(i.ports)[0];
      const role = svc.name !== DEMO_SINGLETON ? "active" : s.activeNode === null ? "-" : s.activeNode === i.node ? "ACTIVE" : "standby";
      lines.push(row([`  ${i.id}`, i.nodeName ?? `n${i.node}`, i.state, i.healthy ? "healthy" : "-", role, port === undefined ? "-" : String(port), port === undefined ? "-" : String(s.served.get(port) ?? "-")]));
    }
  }
  if (traffic !== null) {
    const t = traffic.tally;
    lines.push("");
    lines.push(`demo client: ${t.requests} requests, ${t.failed} failed, ${t.retried} answered after a retry${t.lastError !== null ? `; last error ${t.lastError}` : ""}`);
  }
  lines.push("");
  lines.push("Last events:");
  for (const e of events.length === 0 ? ["(none yet)"] : events) lines.push(`  ${e}`);
  return lines;
}

const WIDTHS = [26, 9, 10, 9, 13, 9, 22];

function row(cells: readonly string[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(WIDTHS[i] ?? 10))).join(" ");
}

/** One line for logs and pipes: who leads, what is up, how each service stands. */
export function summaryLine(s: DemoSnapshot, cluster: DemoCluster): string {
  if (s.error !== null) return `cluster not answering: ${s.error}`;
  const nodes = cluster.nodes.map((n) => {
    const m = s.members.find((x) => x.id === n.id);
    return `${n.name} ${n.child === null ? "killed" : m?.health === "down" || m === undefined ? "down" : m.role}`;
  }).join(", ");
  const services = s.services.map((svc) => `${svc.name} ${svc.healthy}/${svc.instances.length} healthy${svc.name === DEMO_SINGLETON && s.activeNode !== null ? ` (active on n${s.activeNode})` : ""}`).join("; ");
  return `${new Date(s.atMs).toISOString().slice(11, 19)} nodes: ${nodes} | ${services}`;
}

/** Draws a block in place: moves up over the previous one and clears below (plain ANSI). */
export class InPlaceWriter {
  private previous = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  draw(lines: readonly string[]): void {
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    // Cut lines to the width and the block to the screen's height, so nothing wraps or scrolls
    // and the count of lines to move up stays exact.
    const height = Math.max(5, (this.out.rows ?? 50) - 1);
    const shown = lines.length > height ? [...lines.slice(0, height - 1), `(${lines.length - height + 1} more lines: enlarge the terminal)`] : lines;
    const text = shown.map((l) => (l.length > width ? l.slice(0, width) : l)).join("\n");
    this.out.write(`${this.previous > 0 ? `\x1b[${this.previous}F` : ""}\x1b[J${text}\n`);
    this.previous = shown.length;
  }
}
