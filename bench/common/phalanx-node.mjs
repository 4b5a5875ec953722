// One Phalanx node of a 3-node benchmark cluster on this machine (bench/failover, bench/replace):
// its agent process with output to its agent.log, the wait for its /healthz, and the instance port
// range each node gets so that nodes sharing one machine do not clash.
import { openSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pollUntil } from "../replace/poll.mjs";
import { startTracked } from "./procs.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** The built CLI (`npm run build`). */
const PHALANX = join(REPO, "bin/phalanx.mjs");
/** How long a node may take to start answering /healthz. */
const START_DEADLINE_MS = 60_000;
/** How long one probe request may take. */
const PROBE_TIMEOUT_MS = 1_000;
/** Node i's instances take ports from INSTANCE_PORT_BASE + 1000 i onwards. */
const INSTANCE_PORT_BASE = 20_000;

/** Starts `phalanx agent` of `spec` (its log in `<dir>/<name>/agent.log`); a tracked process. */
export function spawnPhalanxNode(dir, spec, configFile) {
  return startTracked(`phalanx ${spec.name}`, process.execPath, [PHALANX, "agent", "--config", configFile], openSync(join(dir, spec.name, "agent.log"), "a"));
}

/** Waits until node `i` (process `proc`) answers /healthz 200; fails at once if it exited. */
export function waitPhalanxHealthy(dir, spec, proc, i) {
  return pollUntil(`start phalanx node ${i + 1}`, async () => {
    if (proc.exited) throw new Error(`phalanx node ${i + 1} exited with ${proc.exitCode}; see ${join(dir, spec.name, "agent.log")}`);
    const r = await fetch(`http://${spec.clientAdvertise}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return r.status === 200;
  }, START_DEADLINE_MS, 50);
}

/** The config lines giving node `i` its own instance port range. */
export function instancePortRangeLines(i) {
  return ["services:", `  portRange: { from: ${INSTANCE_PORT_BASE + 1000 * i}, to: ${INSTANCE_PORT_BASE + 1000 * i + 999} }`];
}
