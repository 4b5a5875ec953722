#!/usr/bin/env node
// `npm run bench:failover [-- --quick] [-- --runs N]` — active-standby takeover time (issue 11,
// deliver 7). A 3-node cluster of compiled agents with DEFAULT settings (Raft ticks, node lease,
// fencing lease 1000 ms), one active-standby service (cold standbys on the two other nodes) applied
// with `phalanx apply -f`. Each run waits for a healthy active, then faults the node holding it:
//   kill   — kill -9 of that node's agent (its instance dies with it: the agent's watchdog);
//   freeze — SIGSTOP of that agent and of its active instance's process group, so no connection is
//            closed, as when a host hangs (the fencing watchdog, a separate process, kills the
//            frozen instance at its acting deadline; the test lets the rest stay frozen);
// and measures the time from the fault until the store lists an active on another node whose
// instance passed its health check. Overlaps are judged from the instances' own acting records
// (src/failover/acting-log.ts), not from Phalanx's view. Prints each run, a summary per scenario,
// and as its LAST line one JSON object.
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { kill9, killAllNow, stopAll } from "../common/procs.mjs";
import { pollUntil } from "../replace/poll.mjs";
import { BenchPhalanxCluster } from "../common/phalanx-node.mjs";
import { stablePorts } from "../replace/ports.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const APP = fileURLToPath(new URL("./app.mjs", import.meta.url));
const SERVICE = "db";
const START_DEADLINE_MS = 60_000;
const ROUND_DEADLINE_MS = 30_000;
const PROBE_TIMEOUT_MS = 1_000;

const { values: flags } = parseArgs({ options: { quick: { type: "boolean", default: false }, runs: { type: "string" } } });
const runs = Number(flags.runs ?? (flags.quick ? 3 : 20));
const log = (text) => process.stderr.write(`${text}\n`);
const out = (text) => process.stdout.write(`${text}\n`);
let dir = mkdtempSync(join(tmpdir(), "phalanx-bench-failover-"));

process.on("exit", () => {
  killAllNow();
  if (dir !== null && process.env.BENCH_KEEP_DIR === undefined) rmSync(dir, { recursive: true, force: true });
  dir = null;
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    log(`Benchmark interrupted by ${signal}: stopping every process it started`);
    stopAll().finally(() => process.exit(130));
  });
}

/** True while the process runs (a zombie counts as dead: it stopped acting when it died). */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

class Cluster extends BenchPhalanxCluster {
  static async start(root) {
    const ports = await stablePorts(6);
    const c = new Cluster();
    const specs = [0, 1, 2].map((i) => {
      const peer = `127.0.0.1:${ports[2 * i]}`;
      const client = `127.0.0.1:${ports[2 * i + 1]}`;
      return { id: i + 1, name: `n${i + 1}`, peerListen: peer, peerAdvertise: peer, clientListen: client, clientAdvertise: client };
    });
    // Three nodes on one machine: each its own instance port range; no proxy needed here.
    await c.boot(join(root, "phalanx"), specs, () => ["proxy:", "  enabled: false"]);
    return c;
  }

  apply(file) {
    const r = this.runApply(file);
    if (r.status !== 0) throw new Error(`Cannot apply ${file} (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  }

  /** The service row as node `i` answers it (a linearizable read there). */
  async row(i) {
    const r = await fetch(`http://${this.specs[i].clientAdvertise}/v3/phalanx/services`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (r.status !== 200) return null;
    return ((await r.json()).services ?? []).find((s) => s.name === SERVICE) ?? null;
  }
}

/** The active on a node other than `notOn` whose instance is healthy, as node `via` reads it. */
async function healthyActive(c, via, notOn) {
  const row = await c.row(via);
  const a = row?.failover?.active ?? null;
  if (a === null || a.node === notOn) return null;
  // A cold standby's placeholder report (healthy, "starts when promoted") is not the started instance.
  const inst = row.instances.find((i) => i.node === a.node && i.healthy && i.message !== "cold standby: starts when promoted");
  return inst === undefined ? null : { node: a.node, token: a.token, instance: inst.id, row };
}

/** The cluster is whole: every node up, three placements on three nodes, a healthy active. */
async function waitWhole(c) {
  return pollUntil("see the cluster whole (3 placements, a healthy active)", async () => {
    const a = await healthyActive(c, 0, -1) ?? await healthyActive(c, 1, -1);
    if (a === null) return null;
    const placed = a.row.instances.filter((i) => i.placed && i.state !== "node_down");
    return new Set(placed.map((i) => i.node)).size === 3 ? a : null;
  }, START_DEADLINE_MS, 50);
}

function writeService(root, actingDir) {
  const file = join(root, "db.yaml");
  writeFileSync(file, `
name: ${SERVICE}
run: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(APP)}] }
env: { ACTING_DIR: ${JSON.stringify(actingDir)} }
mode: active-standby
standbys: 2
standby: cold
ports: [{ name: http }]
healthCheck: { type: http, path: /healthz, intervalMs: 100, timeoutMs: 100, rise: 1, fall: 3 }
# Every run is a deliberate fault: without this, damping would hold the 4th takeover back 10 s.
flapDamping: { threshold: 100000 }
`);
  return file;
}

/** Waits for `pid` to be gone; appends the stop line a SIGKILLed instance could not write (stamped when seen gone). */
async function recordDeath(actingDir, instance, pid) {
  await pollUntil(`see instance ${instance} (pid ${pid}) gone`, async () => !alive(pid), ROUND_DEADLINE_MS, 2);
  const at = process.hrtime.bigint();
  const file = join(actingDir, "acting.log");
  const lines = readFileSync(file, "utf8").split("\n");
  const count = (w) => lines.filter((l) => l.startsWith(`${w} ${instance} `)).length;
  if (count("start") > count("stop")) appendFileSync(file, `stop ${instance} ${at}\n`);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main() {
  if (!existsSync(join(REPO, "dist/server/services/failover-agent.js"))) throw new Error("Cannot run: dist/ has no active-standby support; run `npm run build` first");
  const actingDir = join(dir, "acting");
  spawnSync("mkdir", ["-p", actingDir]);
  const c = await Cluster.start(dir);
  const results = { kill: [], freeze: [] };
  try {
    c.apply(writeService(dir, actingDir));
    for (const scenario of ["kill", "freeze"]) {
      for (let k = 0; k < runs; k++) {
        const a = await waitWhole(c);
        const victim = a.node - 1;
        const via = victim === 0 ? 1 : 0;
        const pid = Number(readFileSync(join(actingDir, `${a.instance}.pid`), "utf8"));
        const wasLeader = (await c.leaderId(via).catch(() => 0)) === a.node;
        const t0 = performance.now();
        if (scenario === "kill") await kill9(c.procs[victim]);
        else {
          process.kill(c.procs[victim].child.pid, "SIGSTOP");
          try { process.kill(-pid, "SIGSTOP"); } catch { /* already gone */ }
        }
        const death = recordDeath(actingDir, a.instance, pid);
        const next = await pollUntil(`see a new active after the ${scenario} of n${a.node}`, () => healthyActive(c, via, a.node), ROUND_DEADLINE_MS, 10);
        const ms = Math.round(performance.now() - t0);
        await death;
        results[scenario].push({ ms, wasLeader });
        out(`${scenario} #${k + 1}: n${a.node} (token ${a.token}${wasLeader ? ", was Raft leader" : ""}) → n${next.node} (token ${next.token}) active and healthy after ${ms} ms`);
        if (scenario === "kill") {
          c.spawn(victim);
          await c.waitHealthy(victim);
        } else {
          process.kill(c.procs[victim].child.pid, "SIGCONT");
        }
      }
    }
  } finally {
    await c.close();
  }
  const { judgeActingLog } = await import(join(REPO, "dist/failover/acting-log.js"));
  const report = judgeActingLog(readFileSync(join(actingDir, "acting.log"), "utf8").split("\n"));
  const summary = {};
  for (const s of ["kill", "freeze"]) {
    const sorted = results[s].map((r) => r.ms).sort((x, y) => x - y);
    summary[s] = { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? null, leaderRuns: results[s].filter((r) => r.wasLeader).length };
    out(`${s}: ${sorted.length} runs, p50 ${summary[s].p50} ms, p99 ${summary[s].p99} ms, max ${summary[s].max} ms (${summary[s].leaderRuns} with the active on the Raft leader)`);
  }
  out(`acting log: ${report.intervals.length} acting intervals, ${report.overlaps.length} overlaps, ${report.staleTokens.length} tokens that did not grow; fencing lease 1000 ms (keep-alive every 200 ms, stop budget 300 ms, margin 100 ms, ρ 0.5 %), node lease 2000 ms, Raft tick 50 ms`);
  out(JSON.stringify({
    runs: runs * 2, kill_p50_ms: summary.kill.p50, kill_p99_ms: summary.kill.p99, freeze_p50_ms: summary.freeze.p50, freeze_p99_ms: summary.freeze.p99,
    overlaps: report.overlaps.length, stale_tokens: report.staleTokens.length, fencing_lease_ttl_ms: 1000,
  }));
}

main().catch((err) => {
  log(`bench:failover failed: ${err.stack ?? err}`);
  process.exitCode = 1;
});
