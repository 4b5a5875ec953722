// Real `phalanx agent` processes on the harness's hosts: one per host, listening on the host's own
// address (peers :2380, clients :2379), with the cluster files written as `phalanx init` would.
// The test process cannot reach the hosts, so everything it asks the agents goes through a Prober
// in a client namespace.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeClusterFiles } from "../../src/cli/cluster-files.js";
import type { ClusterFileOptions, NodeSpec } from "../../src/cli/cluster-files.js";
import { selfCommand } from "../../src/cli/commands/dev.js";
import type { NodeConfigInput } from "../../src/server/node-config.js";
import { PROCESS_TEST_RAFT } from "../../src/testing/process-cluster.js";
import type { HostNet, NodeProcess } from "./harness.js";
import type { Prober } from "./probe.js";

export const AGENT_PEER_PORT = 2380;
export const AGENT_CLIENT_PORT = 2379;
/** Longest the agents may take to start and agree on a leader (tsx start-up on a loaded machine). */
export const AGENTS_START_DEADLINE_MS = 60_000;

/** What a node says of itself on /healthz. */
export interface AgentHealth {
  readonly role: string;
  /** The leader's node id as this node sees it; 0 when it knows none. */
  readonly leader: number;
}

/** How HostAgents.start writes the cluster. */
export interface HostAgentsOptions {
  /** Hosts that run an agent (default: all). */
  readonly hosts?: readonly string[];
  readonly raft?: NodeConfigInput["raft"];
  /** The client API's listen host instead of the host's address, e.g. "0.0.0.0" to answer on a cluster VIP too. */
  readonly clientListenHost?: string;
  /** Per-node config sections (clusterVip, fronts, proxy, services, labels). */
  readonly nodeExtra?: ClusterFileOptions["nodeExtra"];
  /** The nodes' timing profile (node config `profile:`); without one the tests' fast Raft timings. */
  readonly profile?: NodeConfigInput["profile"];
}

export class HostAgents {
  private readonly running = new Map<string, NodeProcess>();

  private constructor(
    private readonly net: HostNet,
    /** The probe (in a client namespace) every request to the agents goes through. */
    readonly via: Prober,
    readonly root: string,
    readonly token: string,
    private readonly configFiles: ReadonlyMap<string, string>,
    /** Host name → node id. */
    readonly ids: ReadonlyMap<string, number>,
    /** For admin calls (applying services). */
    readonly adminToken: string,
  ) {}

  /** Writes cluster files for an agent on each of `hosts` (default: all) and starts them. */
  static async start(net: HostNet, via: Prober, options: HostAgentsOptions = {}): Promise<HostAgents> {
    const names = options.hosts ?? net.hosts.map((h) => h.name);
    const root = await mkdtemp(join(tmpdir(), "phalanx-hosts-"));
    const specs: NodeSpec[] = names.map((name, i) => {
      const address = net.node(name).address;
      const peer = `${address}:${AGENT_PEER_PORT}`;
      const client = `${address}:${AGENT_CLIENT_PORT}`;
      const clientListen = options.clientListenHost === undefined ? client : `${options.clientListenHost}:${AGENT_CLIENT_PORT}`;
      return { id: i + 1, name, peerListen: peer, peerAdvertise: peer, clientListen, clientAdvertise: client };
    });
    // A timing profile sets the Raft timings too: the tests' own only without one.
    const raft = options.raft ?? (options.profile === undefined ? PROCESS_TEST_RAFT : undefined);
    const files = await writeClusterFiles(root, specs, raft, { ...(options.profile !== undefined ? { profile: options.profile } : {}), ...(options.nodeExtra !== undefined ? { nodeExtra: options.nodeExtra } : {}) });
    const configs = new Map(specs.map((s) => [s.name, files.configFiles.get(s.id)!]));
    const agents = new HostAgents(net, via, root, files.clientToken, configs, new Map(specs.map((s) => [s.name, s.id])), files.adminToken);
    try {
      for (const name of names) agents.spawn(name);
      await agents.waitLeader(names, AGENTS_START_DEADLINE_MS);
    } catch (err) {
      await agents.close();
      throw err;
    }
    return agents;
  }

  /** Starts (or restarts, from its data directory) the agent on `host`. */
  spawn(host: string): NodeProcess {
    const config = this.configFiles.get(host);
    if (config === undefined) throw new Error(`No agent configured on ${host}`);
    const self = selfCommand();
    const proc = this.net.spawn(host, self.cmd, [...self.args, "agent", "--config", config]);
    this.running.set(host, proc);
    return proc;
  }

  /** The agent process on `host`. */
  process(host: string): NodeProcess {
    const proc = this.running.get(host);
    if (proc === undefined) throw new Error(`No agent running on ${host}`);
    return proc;
  }

  /** `http://<address>:2379` of `host`. */
  url(host: string): string {
    return `http://${this.net.node(host).address}:${AGENT_CLIENT_PORT}`;
  }

  /** What `host`'s agent says on /healthz, or null when it does not answer within `timeoutMs`. */
  async health(host: string, timeoutMs = 1_000): Promise<AgentHealth | null> {
    const r = await this.via.http(`${this.url(host)}/healthz`, timeoutMs);
    if (!r.ok) return null;
    const body = JSON.parse(r.body) as { role?: string; leader?: number };
    return { role: String(body.role), leader: Number(body.leader) };
  }

  /**
   * Polls `hosts` until one of them is leader and every one answers naming it; returns its host
   * name. Throws after `deadlineMs` with what each one last said.
   */
  async waitLeader(hosts: readonly string[], deadlineMs: number, not?: string): Promise<string> {
    const until = Date.now() + deadlineMs;
    let views: (AgentHealth | null)[] = [];
    while (Date.now() < until) {
      views = await Promise.all(hosts.map((h) => this.health(h)));
      const leaderIdx = views.findIndex((v) => v?.role === "leader");
      const leader = hosts[leaderIdx];
      const leaderId = leader === undefined ? undefined : this.ids.get(leader);
      if (leader !== undefined && leader !== not && views.every((v) => v !== null && v.leader === leaderId)) return leader;
      await new Promise((r) => setTimeout(r, 50)); // poll interval, bounded by the deadline above
    }
    throw new Error(`No leader agreed among ${hosts.join(", ")}${not ? ` other than ${not}` : ""} within ${deadlineMs} ms: ${hosts.map((h, i) => `${h}=${JSON.stringify(views[i])}`).join(" ")}`);
  }

  /** An etcd-gateway put through `host`, from the probe's node; resolves with the HTTP status or the error. */
  async put(host: string, key: string, value: string, timeoutMs = 5_000): Promise<number | string> {
    const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
    const r = await this.via.http(`${this.url(host)}/v3/kv/put`, timeoutMs, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: JSON.stringify({ key: b64(key), value: b64(value) }),
    });
    return r.ok ? r.status : r.error;
  }

  /** Applies a services file (YAML text) through `host`; resolves with the HTTP status and body, or the error. */
  async apply(host: string, text: string, timeoutMs = 10_000): Promise<{ status: number; body: string } | string> {
    const r = await this.via.http(`${this.url(host)}/v3/phalanx/services/apply`, timeoutMs, {
      method: "POST",
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ file: "services.yaml", text }),
    });
    return r.ok ? { status: r.status, body: r.body } : r.error;
  }

  /** An admin POST of JSON `body` to `path` on `host` (e.g. /v3/phalanx/nodes/drain on the leader); resolves with the HTTP status and body, or the error. */
  async adminPost(host: string, path: string, body: unknown, timeoutMs = 5_000): Promise<{ status: number; body: string } | string> {
    const r = await this.via.http(`${this.url(host)}${path}`, timeoutMs, {
      method: "POST",
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return r.ok ? { status: r.status, body: r.body } : r.error;
  }

  /** Kills every agent (the harness's close() would too) and removes the cluster files. */
  async close(): Promise<void> {
    await Promise.all([...this.running.values()].map((p) => this.net.kill(p).catch(() => undefined)));
    await rm(this.root, { recursive: true, force: true });
  }
}
