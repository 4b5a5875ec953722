// A 3-node Phalanx cluster of a benchmark on this machine (bench/failover, bench/replace): its
// files, each node's agent process with output to its agent.log, the wait for /healthz, `phalanx
// apply` against it, and the instance port range each node gets so that nodes sharing one machine
// do not clash. Each benchmark extends it with its own ports, config lines and probes.
import { spawnSync } from "node:child_process";
import { appendFileSync, openSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pollUntil } from "../replace/poll.mjs";
import { startTracked, stop } from "./procs.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** The built CLI (`npm run build`). */
const PHALANX = join(REPO, "bin/phalanx.mjs");
/** How long a node may take to start answering /healthz. */
const START_DEADLINE_MS = 60_000;
/** How long one probe request may take. */
const PROBE_TIMEOUT_MS = 1_000;
/** Node i's instances take ports from INSTANCE_PORT_BASE + 1000 i onwards. */
const INSTANCE_PORT_BASE = 20_000;

/** The nodes of a benchmark's cluster; `specs`, `dir`, `configFiles`, tokens and `procs` once booted. */
export class BenchPhalanxCluster {
  /** Writes the cluster files of `specs` into `dir`, adds `extraLines(i)` and node i's instance port range to its config, starts every node and waits until all are healthy. */
  async boot(dir, specs, extraLines) {
    const { writeClusterFiles } = await import(join(REPO, "dist/cli/cluster-files.js"));
    this.specs = specs;
    this.dir = dir;
    const files = await writeClusterFiles(dir, specs);
    this.configFiles = files.configFiles;
    this.token = files.clientToken;
    this.adminToken = files.adminToken;
    specs.forEach((s, i) => appendFileSync(this.configFiles.get(s.id), [
      ...extraLines(i),
      "services:", `  portRange: { from: ${INSTANCE_PORT_BASE + 1000 * i}, to: ${INSTANCE_PORT_BASE + 1000 * i + 999} }`, "",
    ].join("\n")));
    this.procs = [];
    for (let i = 0; i < specs.length; i++) this.spawn(i);
    await Promise.all(specs.map((_, i) => this.waitHealthy(i)));
  }

  /** Starts node i's `phalanx agent` (its log in `<dir>/<name>/agent.log`). */
  spawn(i) {
    const s = this.specs[i];
    this.procs[i] = startTracked(`phalanx ${s.name}`, process.execPath, [PHALANX, "agent", "--config", this.configFiles.get(s.id)], openSync(join(this.dir, s.name, "agent.log"), "a"));
  }

  /** Waits until node i answers /healthz 200; fails at once if it exited. */
  waitHealthy(i) {
    return pollUntil(`start phalanx node ${i + 1}`, async () => {
      if (this.procs[i].exited) throw new Error(`phalanx node ${i + 1} exited with ${this.procs[i].exitCode}; see ${join(this.dir, this.specs[i].name, "agent.log")}`);
      const r = await fetch(`http://${this.specs[i].clientAdvertise}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      return r.status === 200;
    }, START_DEADLINE_MS, 50);
  }

  /** Runs `phalanx apply -f file` (the control plane's CLI) against this cluster; its spawnSync result. */
  runApply(file) {
    const env = { ...process.env, PHALANX_ENDPOINTS: this.specs.map((s) => s.clientAdvertise).join(","), PHALANX_TOKEN: this.token, PHALANX_ADMIN_TOKEN: this.adminToken };
    return spawnSync(process.execPath, [PHALANX, "apply", "-f", file], { env, encoding: "utf8" });
  }

  /** The leader's node id as node `i` knows it (0 when none). */
  async leaderId(i) {
    const r = await fetch(`http://${this.specs[i].clientAdvertise}/v3/phalanx/status`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return r.status === 200 ? Number((await r.json()).leader) : 0;
  }

  async close() {
    await Promise.all(this.procs.map((p) => (p ? stop(p) : undefined)));
  }
}
