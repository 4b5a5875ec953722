// The two systems under test, as 3-node clusters on 127.0.0.1 with the same small interface:
// endpoints, leader discovery (who leads, in which term), kill -9 / restart of one node, close.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts, kill9, start, stop, waitFor } from "./procs.mjs";

/** Longest a node may take to start and see a leader. */
const START_DEADLINE_MS = 60_000;
/** Per-request deadline of status probes. */
const PROBE_TIMEOUT_MS = 1_000;

const REPO = fileURLToPath(new URL("../../", import.meta.url));

async function getJson(url, init = {}) {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (r.status !== 200) return null;
  return r.json();
}

/** Phalanx: compiled agents (`node bin/phalanx.mjs agent`), default raft tuning, fsync on. */
export class PhalanxCluster {
  name = "phalanx";

  /** @param {string} root a temp dir; @param {number} size */
  static async start(root, size) {
    const { writeClusterFiles } = await import(join(REPO, "dist/cli/cluster-files.js"));
    const ports = await freePorts(size * 2);
    const specs = [];
    for (let i = 1; i <= size; i++) {
      const peer = `127.0.0.1:${ports[2 * i - 2]}`;
      const client = `127.0.0.1:${ports[2 * i - 1]}`;
      specs.push({ id: i, name: `n${i}`, peerListen: peer, peerAdvertise: peer, clientListen: client, clientAdvertise: client });
    }
    const dir = join(root, "phalanx");
    const files = await writeClusterFiles(dir, specs); // default raft tuning: what users get
    const c = new PhalanxCluster();
    c.dir = dir;
    c.specs = specs;
    c.token = files.clientToken;
    c.configFiles = files.configFiles;
    c.procs = new Array(size).fill(null);
    c.endpoints = specs.map((s) => s.clientAdvertise);
    c.headers = { authorization: `Bearer ${c.token}`, "content-type": "application/json" };
    for (let i = 0; i < size; i++) c.spawn(i);
    await Promise.all(c.endpoints.map((_, i) => c.waitHealthy(i)));
    await c.leader();
    return c;
  }

  spawn(i) {
    const spec = this.specs[i];
    const args = [join(REPO, "bin/phalanx.mjs"), "agent", "--config", this.configFiles.get(spec.id)];
    if (process.env.KV_BENCH_CPU_PROF) args.unshift("--cpu-prof", `--cpu-prof-dir=${process.env.KV_BENCH_CPU_PROF}`);
    this.procs[i] = start(`phalanx ${spec.name}`, process.execPath, args, join(this.dir, spec.name, "agent.log"));
  }

  waitHealthy(i) {
    return waitFor(`start phalanx node ${i + 1}`, async () => {
      if (this.procs[i].exited) throw new Error(`phalanx node ${i + 1} exited with ${this.procs[i].exitCode}`);
      const r = await fetch(`http://${this.endpoints[i]}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      return r.status === 200;
    }, START_DEADLINE_MS);
  }

  /** {leaderIndex, term, key} once every live node agrees on one leader. */
  leader() {
    return waitFor("find the phalanx leader", async () => {
      const views = await Promise.all(this.endpoints.map((e, i) => (this.procs[i]?.exited === false ? getJson(`http://${e}/v3/phalanx/status`, { headers: this.headers }).catch(() => null) : null)));
      const live = views.filter((v) => v !== null);
      const self = views.findIndex((v) => v !== null && v.role === "leader");
      if (self < 0 || new Set(live.map((v) => `${v.leader}`)).size !== 1) return null;
      return { leaderIndex: self, term: Number(views[self].term), key: `${views[self].id}@${views[self].term}` };
    }, START_DEADLINE_MS);
  }

  async kill(i) {
    await kill9(this.procs[i]);
  }

  async restart(i) {
    this.spawn(i);
    await this.waitHealthy(i);
  }

  async close() {
    await Promise.all(this.procs.map((p) => (p ? stop(p) : undefined)));
  }
}

/** etcd 3.4 (Debian `etcd-server`): default flags (heartbeat 100 ms, election 1000 ms), fsync on. */
export class EtcdCluster {
  name = "etcd";

  static async start(root, size) {
    const ports = await freePorts(size * 2);
    const c = new EtcdCluster();
    c.dir = join(root, "etcd");
    c.names = [];
    c.peerUrls = [];
    c.endpoints = [];
    for (let i = 1; i <= size; i++) {
      c.names.push(`e${i}`);
      c.peerUrls.push(`http://127.0.0.1:${ports[2 * i - 2]}`);
      c.endpoints.push(`127.0.0.1:${ports[2 * i - 1]}`);
    }
    c.headers = { "content-type": "application/json" };
    c.procs = new Array(size).fill(null);
    for (let i = 0; i < size; i++) {
      await mkdir(join(c.dir, c.names[i]), { recursive: true });
      c.spawn(i, "new");
    }
    await Promise.all(c.endpoints.map((_, i) => c.waitHealthy(i)));
    await c.leader();
    return c;
  }

  spawn(i, state) {
    const cluster = this.names.map((n, j) => `${n}=${this.peerUrls[j]}`).join(",");
    const args = [
      "--name", this.names[i],
      "--data-dir", join(this.dir, this.names[i], "data"),
      "--listen-peer-urls", this.peerUrls[i],
      "--initial-advertise-peer-urls", this.peerUrls[i],
      "--listen-client-urls", `http://${this.endpoints[i]}`,
      "--advertise-client-urls", `http://${this.endpoints[i]}`,
      "--initial-cluster", cluster,
      "--initial-cluster-state", state,
      "--initial-cluster-token", "kv-bench",
      "--log-level", "warn",
    ];
    this.procs[i] = start(`etcd ${this.names[i]}`, "etcd", args, join(this.dir, this.names[i], "etcd.log"));
  }

  waitHealthy(i) {
    return waitFor(`start etcd node ${i + 1}`, async () => {
      if (this.procs[i].exited) throw new Error(`etcd node ${i + 1} exited with ${this.procs[i].exitCode}`);
      const v = await getJson(`http://${this.endpoints[i]}/health`);
      return v?.health === "true";
    }, START_DEADLINE_MS);
  }

  leader() {
    return waitFor("find the etcd leader", async () => {
      const views = await Promise.all(this.endpoints.map((e, i) => (this.procs[i]?.exited === false ? getJson(`http://${e}/v3/maintenance/status`, { method: "POST", body: "{}", headers: this.headers }).catch(() => null) : null)));
      const live = views.filter((v) => v !== null);
      if (live.length === 0 || new Set(live.map((v) => v.leader)).size !== 1) return null;
      const self = views.findIndex((v) => v !== null && v.header.member_id === v.leader);
      if (self < 0) return null;
      return { leaderIndex: self, term: Number(views[self].raftTerm ?? views[self].raft_term ?? views[self].header.raft_term), key: `${views[self].leader}@${views[self].raftTerm ?? views[self].header.raft_term}` };
    }, START_DEADLINE_MS);
  }

  async kill(i) {
    await kill9(this.procs[i]);
  }

  async restart(i) {
    this.spawn(i, "existing");
    await this.waitHealthy(i);
  }

  async close() {
    await Promise.all(this.procs.map((p) => (p ? stop(p) : undefined)));
  }
}
