// The Phalanx half of the replace benchmark: a 3-node cluster (compiled agents, default timings), a
// service of three replicas applied with `phalanx apply -f`, every node's proxy serving it, and the
// steady load through node 1's proxy. Each round kills -9 the agent of another node that holds a
// replica (its watchdog takes the replica with it) and measures, from the kill:
//   - stop routing: until node 1's proxy has no dead backend in service (its admin /metrics shows
//     phalanx_proxy_backend_up 0 — ejected by outlier detection after refused attempts, which the
//     proxy retried elsewhere — or the backend is gone from the pool);
//   - out of the pool: until the dead backend is gone from the pool (its instance key vanished with
//     the node lease: the store's verdict, which does not depend on traffic reaching it);
//   - replacement healthy: until the store lists `replicas` healthy instances, none of them on the
//     killed node (the layout's /phalanx/instances keys);
// then restarts the killed agent and waits for the cluster to be whole again.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { kill9 } from "../common/procs.mjs";
import { countKinds, startLoad } from "./load.mjs";
import { pollUntil } from "./poll.mjs";
import { BenchPhalanxCluster } from "../common/phalanx-node.mjs";
import { stablePorts } from "./ports.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const APP = fileURLToPath(new URL("./app.mjs", import.meta.url));
const PHALANX = join(REPO, "bin/phalanx.mjs");
const SERVICE = "web";
const REPLICAS = 3;
/** Longest a node may take to start, or the service to get every replica healthy. */
const START_DEADLINE_MS = 60_000;
/** Longest a kill may take to be noticed (routing) or repaired (replacement). */
const ROUND_DEADLINE_MS = 60_000;
/** Failures up to this long after a round's measurements ended are still counted for it. */
const TAIL_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_000;

/** Throws unless the built CLI has the control plane (`phalanx apply`). */
function requireControlPlane() {
  const r = spawnSync(process.execPath, [PHALANX, "apply", "--help"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error("Cannot run the Phalanx half: this build has no `phalanx apply` (the services control plane: apply, controller, agents running instances); build a tree that has it");
}

const b64 = (s) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s) => Buffer.from(s ?? "", "base64").toString("utf8");
/** The first key after every key starting with `prefix` (etcd's range_end for a prefix). */
const prefixEnd = (prefix) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

class Cluster extends BenchPhalanxCluster {
  static async start(dir) {
    const ports = await stablePorts(3 * 3 + 1);
    const c = new Cluster();
    c.frontendPort = ports.pop();
    const specs = [];
    for (let i = 0; i < 3; i++) {
      const peer = `127.0.0.1:${ports[3 * i]}`;
      const client = `127.0.0.1:${ports[3 * i + 1]}`;
      specs.push({ id: i + 1, name: `n${i + 1}`, peerListen: peer, peerAdvertise: peer, clientListen: client, clientAdvertise: client });
    }
    // Three nodes on one machine: each proxy serves the service on its own loopback address,
    c.proxyHosts = specs.map((_, i) => `127.0.0.${i + 1}`);
    c.adminAddresses = specs.map((_, i) => `${c.proxyHosts[i]}:${ports[3 * i + 2]}`);
    // and its instances take ports from a range of their own (on separate machines they would not clash).
    await c.boot(join(dir, "phalanx"), specs, (i) => ["proxy:", `  bindHost: ${c.proxyHosts[i]}`, `  admin: ${c.adminAddresses[i]}`]);
    return c;
  }

  /** `phalanx apply -f file` (the control plane's CLI) against this cluster. */
  apply(file) {
    const r = this.runApply(file);
    if (r.status !== 0) {
      throw new Error(`Cannot apply ${file} with \`phalanx apply -f\` (exit ${r.status}): ${(r.stderr || r.stdout).trim()} — the Phalanx half needs the control plane (apply, controller, agents running instances) built into dist/`);
    }
  }

  /** Instances of the service in the store: [{ node, id, healthy }]. */
  async instances() {
    const prefix = "/phalanx/instances/";
    const live = this.specs.findIndex((_, i) => this.procs[i] !== null && !this.procs[i].exited);
    const r = await fetch(`http://${this.specs[live].clientAdvertise}/v3/kv/range`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: JSON.stringify({ key: b64(prefix), range_end: b64(prefixEnd(prefix)) }),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (r.status !== 200) throw new Error(`Cannot list ${prefix}: HTTP ${r.status}`);
    const body = await r.json();
    return (body.kvs ?? []).flatMap((kv) => {
      const v = JSON.parse(unb64(kv.value));
      if (v.service !== SERVICE) return [];
      const node = unb64(kv.key).slice(prefix.length).split("/")[0];
      return [{ node: Number(node), id: `${node}/${v.instanceId}`, healthy: v.healthy === true && (v.state === "healthy" || v.state === "running") }];
    });
  }

  /** Backend id → up (1) or not (0), as node `i`'s proxy sees the service's pool. */
  async proxyBackends(i) {
    const r = await fetch(`http://${this.adminAddresses[i]}/metrics`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const text = await r.text();
    const up = new Map();
    for (const m of text.matchAll(/^phalanx_proxy_backend_up\{([^}]*)\} (\d+)/gm)) {
      const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      if (labels.pool === SERVICE) up.set(labels.backend, Number(m[2]));
    }
    return up;
  }
}

function writeService(dir, frontendPort) {
  const file = join(dir, "services.yaml");
  writeFileSync(file, `
name: ${SERVICE}
run: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(APP)}] }
replicas: ${REPLICAS}
ports: [{ name: http }]
healthCheck: { type: http, path: /healthz, intervalMs: 500, timeoutMs: 400, rise: 1, fall: 2 }
placement: { maxPerNode: 2 }
expose: { listen: 127.0.0.1:${frontendPort}, protocol: http }
`);
  return file;
}

/** Waits until the store has `REPLICAS` healthy instances and node `entry`'s proxy has them all up. */
async function waitSteady(c, entry) {
  return pollUntil("see every replica healthy and in service", async () => {
    const healthy = (await c.instances()).filter((x) => x.healthy && !c.procs[x.node - 1].exited);
    if (healthy.length !== REPLICAS) return null;
    const up = await c.proxyBackends(entry);
    return healthy.every((x) => up.get(x.id) === 1) ? healthy : null;
  }, START_DEADLINE_MS, 50);
}

/** Runs `kills` rounds; returns { rounds: [{ victim, stopRoutingMs, replacementHealthyMs, failed }], failedRequests, requests }. */
export async function runPhalanxHalf({ dir, kills, rps, concurrency, log }) {
  requireControlPlane();
  const c = await Cluster.start(dir);
  try {
    c.apply(writeService(dir, c.frontendPort));
    const entry = 0;
    await waitSteady(c, entry);
    const load = startLoad({ host: c.proxyHosts[entry], port: c.frontendPort, concurrency, rps });
    const rounds = [];
    const startedMs = Date.now();
    let error = null;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      for (let k = 0; k < kills; k++) {
        const healthy = await waitSteady(c, entry);
        const victim = pickVictim(healthy, entry, k);
        const dead = new Set(healthy.filter((x) => x.node === victim + 1).map((x) => x.id));
        const wasLeader = (await c.leaderId(entry).catch(() => 0)) === victim + 1;
        const t0 = Date.now();
        await kill9(c.procs[victim]);
        const [stopped, removed, replaced] = await Promise.all([
          pollUntil(`stop routing to n${victim + 1}'s replica`, async () => {
            const up = await c.proxyBackends(entry);
            return [...dead].every((id) => up.get(id) !== 1) ? Date.now() : null;
          }, ROUND_DEADLINE_MS),
          // The store's verdict: the instance key vanished with the node lease and left the pool.
          pollUntil(`see n${victim + 1}'s replica leave the pool`, async () => {
            const up = await c.proxyBackends(entry);
            return [...dead].every((id) => !up.has(id)) ? Date.now() : null;
          }, ROUND_DEADLINE_MS),
          pollUntil(`see n${victim + 1}'s replica replaced`, async () => {
            const now = (await c.instances()).filter((x) => x.healthy && x.node !== victim + 1);
            return now.length >= REPLICAS ? Date.now() : null;
          }, ROUND_DEADLINE_MS),
        ]);
        await new Promise((r) => setTimeout(r, TAIL_MS));
        const failed = load.failuresBetween(t0, Date.now()).length;
        rounds.push({ victim: `n${victim + 1}`, wasLeader, replicasKilled: dead.size, stopRoutingMs: stopped - t0, removedFromPoolMs: removed - t0, replacementHealthyMs: replaced - t0, failed });
        log(`  phalanx kill ${k + 1}/${kills}: agent of n${victim + 1}${wasLeader ? " (leader)" : ""} (${dead.size} replica) — routing stopped after ${stopped - t0} ms (out of the pool after ${removed - t0} ms), replacement healthy after ${replaced - t0} ms, ${failed} failed requests`);
        c.spawn(victim);
        await c.waitHealthy(victim);
      }
    } catch (err) {
      // Keep the rounds measured so far: report them with what stopped the run.
      error = err.message;
      log(`  phalanx: stopped after ${rounds.length} rounds: ${err.message}`);
    } finally {
      await load.stop();
    }
    const failures = load.failuresBetween(startedMs, Date.now() + 1);
    return { rounds, failedRequests: failures.length, failureKinds: countKinds(failures), requests: load.total(), error };
  } finally {
    await c.close();
  }
}

/** A node other than the load's entry that holds exactly one replica (else the fewest), rotating. */
function pickVictim(healthy, entry, round) {
  const counts = new Map();
  for (const x of healthy) if (x.node - 1 !== entry) counts.set(x.node - 1, (counts.get(x.node - 1) ?? 0) + 1);
  const candidates = [...counts.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  if (candidates.length === 0) throw new Error("Cannot pick a node to kill: every replica runs on the load's entry node");
  const fewest = candidates.filter(([, n]) => n === candidates[0][1]);
  return fewest[round % fewest.length][0];
}
