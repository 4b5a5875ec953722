// The HAProxy half of the replace benchmark: HAProxy (Debian package) in front of three replicas,
// health checks as its documentation's defaults (`inter 2s fall 3 rise 2`), `option redispatch`,
// `retries 3`. Each round kills one replica process with kill -9 under the steady load and measures
// the time until HAProxy marks it DOWN (from then on it routes nothing to it), then restarts it on
// the same port and waits until HAProxy has it UP again.
import { openSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { kill9, startTracked, waitForPort } from "../common/procs.mjs";
import { countKinds, startLoad } from "./load.mjs";
import { pollUntil } from "./poll.mjs";
import { stablePorts } from "./ports.mjs";

const APP = fileURLToPath(new URL("./app.mjs", import.meta.url));
/** Longest HAProxy may take to mark a killed replica down, or a restarted one up. */
const STATE_DEADLINE_MS = 60_000;
/** Failures up to this long after the kill's measurements ended are still counted for that kill. */
const TAIL_MS = 1_000;

function writeConfig(dir, frontendPort, replicaPorts) {
  const conf = join(dir, "haproxy.cfg");
  const socket = join(dir, "haproxy.sock");
  const servers = replicaPorts.map((p, i) => `  server r${i} 127.0.0.1:${p} check inter 2s fall 3 rise 2`).join("\n");
  writeFileSync(conf, `
global
  nbthread 1
  maxconn 4000
  stats socket ${socket} mode 600 level admin

defaults
  mode http
  option http-keep-alive
  option redispatch
  retries 3
  timeout connect 5s
  timeout client 30s
  timeout server 30s

frontend fe
  bind 127.0.0.1:${frontendPort}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk GET /healthz
${servers}
`);
  return { conf, socket };
}

/** Status of each server of the backend (UP, DOWN, "UP 1/3", ...) from `show stat`. */
function serverStates(socket) {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let out = "";
    c.on("data", (d) => (out += d));
    c.on("error", reject);
    c.on("end", () => {
      const lines = out.split("\n").filter((l) => l !== "");
      const header = lines[0].replace(/^# /, "").split(",");
      const at = (name) => header.indexOf(name);
      const states = new Map();
      for (const l of lines.slice(1)) {
        const f = l.split(",");
        if (f[at("pxname")] === "replicas" && /^r\d+$/.test(f[at("svname")])) states.set(f[at("svname")], f[at("status")]);
      }
      resolve(states);
    });
    c.end("show stat\n");
  });
}

function startReplica(dir, i, port) {
  return startTracked(`haproxy-replica r${i}`, process.execPath, [APP, String(port)], openSync(join(dir, `replica-r${i}.log`), "a"));
}

/** Runs `kills` rounds; returns { rounds: [{ victim, stopRoutingMs, failed }], failedRequests, requests }. */
export async function runHaproxyHalf({ dir, kills, rps, concurrency, log }) {
  const [frontendPort, ...replicaPorts] = await stablePorts(4);
  const replicas = [];
  for (let i = 0; i < 3; i++) {
    replicas[i] = startReplica(dir, i, replicaPorts[i]);
    await waitForPort(replicas[i], replicaPorts[i]);
  }
  const { conf, socket } = writeConfig(dir, frontendPort, replicaPorts);
  const haproxy = startTracked("haproxy", "haproxy", ["-db", "-f", conf], openSync(join(dir, "haproxy.log"), "a"));
  await waitForPort(haproxy, frontendPort);
  const allUp = () => pollUntil("see every replica UP in HAProxy", async () => [...(await serverStates(socket)).values()].filter((s) => s === "UP").length === 3, STATE_DEADLINE_MS);
  await allUp();
  const load = startLoad({ host: "127.0.0.1", port: frontendPort, concurrency, rps });
  const rounds = [];
  const startedMs = Date.now();
  try {
    await new Promise((r) => setTimeout(r, 1000));
    for (let k = 0; k < kills; k++) {
      const i = k % 3;
      await allUp();
      const t0 = Date.now();
      await kill9(replicas[i]);
      const down = await pollUntil(`see r${i} DOWN in HAProxy`, async () => ((await serverStates(socket)).get(`r${i}`)?.startsWith("DOWN") ? Date.now() : null), STATE_DEADLINE_MS);
      await new Promise((r) => setTimeout(r, TAIL_MS));
      const failed = load.failuresBetween(t0, Date.now()).length;
      rounds.push({ victim: `r${i}`, stopRoutingMs: down - t0, failed });
      log(`  haproxy kill ${k + 1}/${kills}: r${i} marked DOWN after ${down - t0} ms, ${failed} failed requests`);
      replicas[i] = startReplica(dir, i, replicaPorts[i]);
      await waitForPort(replicas[i], replicaPorts[i]);
    }
    await allUp();
  } finally {
    await load.stop();
  }
  const failures = load.failuresBetween(startedMs, Date.now() + 1);
  return { rounds, failedRequests: failures.length, failureKinds: countKinds(failures), requests: load.total() };
}
