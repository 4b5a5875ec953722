#!/usr/bin/env node
// `npm run bench:replace [-- --quick] [-- --kills N --rps N --concurrency N --only phalanx|haproxy]`
// Replacing a dead replica, Phalanx against HAProxy, in one run (issue 10, deliver 10). Both halves
// run three replicas of the same small app (app.mjs) under the same paced keep-alive load (load.mjs):
//   Phalanx: 3 nodes, the service applied with `phalanx apply -f`, load through node 1's proxy;
//            kill -9 the agent of another node holding a replica (phalanx.mjs).
//   HAProxy: the Debian package with `inter 2s fall 3 rise 2`, `option redispatch`, `retries 3`;
//            kill -9 a replica process (haproxy.mjs).
// Prints a table, then as its LAST line one JSON object with the figures.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanUpOnExit } from "../common/exit.mjs";
import { stopAll } from "../common/procs.mjs";
import { runHaproxyHalf } from "./haproxy.mjs";
import { runPhalanxHalf } from "./phalanx.mjs";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    kills: { type: "string" },
    rps: { type: "string", default: "200" },
    concurrency: { type: "string", default: "8" },
    only: { type: "string" },
  },
});
const kills = Number(flags.kills ?? (flags.quick ? 3 : 10));
const rps = Number(flags.rps);
const concurrency = Number(flags.concurrency);
const log = (text) => process.stderr.write(`${text}\n`);
let dir = mkdtempSync(join(tmpdir(), "phalanx-bench-replace-"));

cleanUpOnExit(() => {
  if (dir !== null && process.env.BENCH_KEEP_DIR === undefined) rmSync(dir, { recursive: true, force: true });
  dir = null;
}, log);

/** HAProxy from Debian, installed with apt-get when missing (as root). */
function ensureHaproxy() {
  if (spawnSync("sh", ["-c", "command -v haproxy"]).status === 0) return;
  if (process.getuid?.() !== 0) throw new Error("Cannot run the HAProxy half: haproxy is missing; as root run: apt-get install -y haproxy");
  log("Installing haproxy from Debian packages");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // apt's output goes to stderr: stdout holds only the table and the JSON line.
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: ["ignore", 2, 2], env });
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "haproxy"], { stdio: ["ignore", 2, 2], env });
  if (install.status !== 0) throw new Error(`Cannot install haproxy: apt-get update exited with ${update.status}, install with ${install.status}`);
  // The package starts a system service on port 80 we do not want running beside the benchmark.
  spawnSync("sh", ["-c", "(systemctl stop haproxy || service haproxy stop) >/dev/null 2>&1"], { stdio: "ignore" });
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const fmt = (v) => (v === null || v === undefined ? "—" : String(Math.round(v)));

function table(rows) {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => String(r[col]).length)));
  return rows.map((r) => r.map((cell, col) => String(cell).padEnd(widths[col])).join("  ")).join("\n");
}

async function main() {
  log(`Replace benchmark: ${kills} kills per system, ${rps} requests/s over ${concurrency} keep-alive connections; work dir ${dir}`);
  let phalanx = null;
  let phalanxError = null;
  let haproxy = null;
  if (flags.only !== "haproxy") {
    log("Phalanx: 3 nodes, service of 3 replicas, kill -9 an agent holding one");
    try {
      phalanx = await runPhalanxHalf({ dir, kills, rps, concurrency, log });
      phalanxError = phalanx.error;
    } catch (err) {
      phalanxError = err.message;
      log(`Phalanx half failed: ${err.message}`);
      await stopAll();
    }
  }
  if (flags.only !== "phalanx") {
    ensureHaproxy();
    log("HAProxy: 3 replicas, inter 2s fall 3 rise 2, option redispatch, retries 3, kill -9 a replica");
    haproxy = await runHaproxyHalf({ dir, kills, rps, concurrency, log });
  }
  const pStop = phalanx?.rounds.map((r) => r.stopRoutingMs) ?? [];
  const pRepl = phalanx?.rounds.map((r) => r.replacementHealthyMs) ?? [];
  const pRemoved = phalanx?.rounds.map((r) => r.removedFromPoolMs) ?? [];
  const hStop = haproxy?.rounds.map((r) => r.stopRoutingMs) ?? [];
  const rows = [
    ["system", "kills", "requests", "failed", "stop routing p50 ms", "p90", "max", "out of pool (lease) p50 ms", "replacement healthy p50 ms", "p90", "max"],
    ["phalanx", phalanx?.rounds.length ?? 0, phalanx?.requests ?? "—", phalanx?.failedRequests ?? "—", fmt(percentile(pStop, 50)), fmt(percentile(pStop, 90)), fmt(percentile(pStop, 100)), fmt(percentile(pRemoved, 50)), fmt(percentile(pRepl, 50)), fmt(percentile(pRepl, 90)), fmt(percentile(pRepl, 100))],
    ["haproxy", haproxy?.rounds.length ?? 0, haproxy?.requests ?? "—", haproxy?.failedRequests ?? "—", fmt(percentile(hStop, 50)), fmt(percentile(hStop, 90)), fmt(percentile(hStop, 100)), "—", "(not its job)", "", ""],
  ];
  process.stdout.write(`${table(rows)}\n`);
  if (phalanxError !== null) process.stdout.write(`phalanx: ${phalanx === null ? "not measured" : `stopped after ${phalanx.rounds.length} kills`}: ${phalanxError}\n`);
  const summary = {
    runs: Math.max(phalanx?.rounds.length ?? 0, haproxy?.rounds.length ?? 0),
    failed_requests: phalanx?.failedRequests ?? null,
    haproxy_failed_requests: haproxy?.failedRequests ?? null,
    stop_routing_ms_p50: percentile(pStop, 50),
    haproxy_stop_routing_ms_p50: percentile(hStop, 50),
    replacement_healthy_ms_p50: percentile(pRepl, 50),
    out_of_pool_ms_p50: percentile(pRemoved, 50),
    stop_routing_ms_max: percentile(pStop, 100),
    haproxy_stop_routing_ms_max: percentile(hStop, 100),
    replacement_healthy_ms_max: percentile(pRepl, 100),
    requests: phalanx?.requests ?? null,
    haproxy_requests: haproxy?.requests ?? null,
    failure_kinds: phalanx?.failureKinds ?? {},
    haproxy_failure_kinds: haproxy?.failureKinds ?? {},
    rps,
    concurrency,
    phalanx_rounds: phalanx?.rounds ?? [],
    haproxy_rounds: haproxy?.rounds ?? [],
    ...(phalanxError !== null ? { phalanx_error: phalanxError } : {}),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().then(
  async () => {
    await stopAll();
    process.exit(0);
  },
  async (err) => {
    log(`Benchmark failed: ${err.stack ?? err.message}`);
    await stopAll();
    process.exit(1);
  },
);
