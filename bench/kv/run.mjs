// `npm run bench:kv [-- --quick]`: Phalanx against etcd 3.4, both as 3-node clusters on 127.0.0.1
// with fsync on, in the same run: put and linearizable get throughput and latency through each one's
// HTTP/JSON API at several concurrencies (wrk + Lua, the same script for both), leader changes during
// those runs, and leader failover as seen by a writing client. Prints a table; the last line is one
// JSON object. Everything started is stopped and the temp dir removed, also on failure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdCluster, PhalanxCluster } from "./clusters.mjs";
import { measureFailover } from "./failover.mjs";
import { cpuSeconds, killAllNow, stopAll } from "./procs.mjs";
import { runWrk, writeScript } from "./wrk.mjs";

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const CONCURRENCIES = opt("--concurrency", "1,16,64,256").split(",").map(Number);
const OPS = opt("--ops", "put,get").split(",");
const SYSTEMS = opt("--systems", "phalanx,etcd").split(",");
const DURATION_S = Number(opt("--duration", QUICK ? 3 : 10));
const KILLS = Number(opt("--kills", QUICK ? 3 : 5));
const NODES = 3;

const log = (line) => process.stderr.write(`${line}\n`);

function ensureTools() {
  const missing = ["etcd", "wrk"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length === 0) return;
  log(`installing etcd-server and wrk (missing: ${missing.join(", ")})`);
  const r = spawnSync("apt-get", ["install", "-y", "etcd-server", "wrk"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("Cannot install etcd-server and wrk: apt-get failed");
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

async function main(root) {
  ensureTools();
  const started = {};
  const clusters = [];
  try {
    for (const name of SYSTEMS) {
      log(`starting ${name} (${NODES} nodes)`);
      const c = name === "phalanx" ? await PhalanxCluster.start(root, NODES) : await EtcdCluster.start(root, NODES);
      started[name] = c;
      clusters.push(c);
    }
    const scripts = {};
    for (const c of clusters) for (const op of ["put", "get"]) scripts[`${c.name}-${op}`] = writeScript(root, c.name, op, c.headers);

    // Warm-up: writes every key once (gets then find them) and lets connections/JIT settle.
    for (const c of clusters) {
      const { leaderIndex } = await c.leader();
      await runWrk({ url: `http://${c.endpoints[leaderIndex]}`, connections: 16, durationS: 2, script: scripts[`${c.name}-put`] });
    }

    // Throughput: every point runs for each system back to back (interleaved, so drift in the
    // machine's load hits both alike), against the leader of each.
    const results = {};
    const leaderChanges = Object.fromEntries(clusters.map((c) => [c.name, 0]));
    let point = 0;
    for (const conc of CONCURRENCIES) {
      for (const op of OPS) {
        // Alternate which system goes first, so neither always runs right after the other's load.
        const order = point++ % 2 === 0 ? clusters : [...clusters].reverse();
        for (const c of order) {
          const before = await c.leader();
          const cpu0 = clusterCpuSeconds(c);
          const r = await runWrk({ url: `http://${c.endpoints[before.leaderIndex]}`, connections: conc, durationS: DURATION_S, script: scripts[`${c.name}-${op}`] });
          r.serverCpuCores = (clusterCpuSeconds(c) - cpu0) / ((r.requests / r.rps) || 1);
          const after = await c.leader();
          if (after.key !== before.key) leaderChanges[c.name]++;
          results[`${c.name}-${op}-${conc}`] = r;
          log(`  ${c.name.padEnd(7)} ${op} c${String(conc).padEnd(3)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  wrk cpu ${r.cpuPct.toFixed(0)}%  servers ${r.serverCpuCores.toFixed(2)} cores (${((1000 * r.serverCpuCores) / r.rps).toFixed(2)} cpu-ms/req)  errors ${r.errors + r.non2xx}  leader ${before.key}${after.key !== before.key ? ` -> ${after.key}` : ""}`);
        }
      }
    }

    const failover = {};
    if (KILLS > 0) {
      for (const c of clusters) {
        log(`failover: ${c.name}, ${KILLS} kills`);
        failover[c.name] = await measureFailover(c, KILLS, log);
      }
    }
    return { results, leaderChanges, failover };
  } finally {
    await Promise.all(clusters.map((c) => c.close()));
  }
}

/** CPU seconds used so far by the cluster's live node processes. */
function clusterCpuSeconds(c) {
  return c.procs.reduce((sum, p) => sum + (p && !p.exited ? cpuSeconds(p.child.pid) : 0), 0);
}

function report({ results, leaderChanges, failover }) {
  const lines = [];
  lines.push(`KV store: Phalanx vs etcd ${etcdVersion()}, 3 nodes each on 127.0.0.1, fsync on; wrk -t1, ${DURATION_S} s per point, requests to the leader`);
  lines.push(`date ${new Date().toISOString()}, ${process.arch} ${spawnSync("nproc").stdout.toString().trim()} cores, load average before ${LOAD_BEFORE}`);
  lines.push("");
  lines.push("op   conc | phalanx req/s   p50 ms   p99 ms  wrk cpu | etcd req/s   p50 ms   p99 ms  wrk cpu | ratio");
  for (const op of OPS) {
    for (const conc of CONCURRENCIES) {
      const p = results[`phalanx-${op}-${conc}`];
      const e = results[`etcd-${op}-${conc}`];
      const cell = (r) => (r ? `${r.rps.toFixed(0).padStart(13)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${(r.cpuPct.toFixed(0) + "%").padStart(8)}` : "".padStart(40));
      const ratio = p && e ? (p.rps / e.rps).toFixed(2) : "-";
      lines.push(`${op.padEnd(4)} ${String(conc).padStart(4)} | ${cell(p)} | ${cell(e).slice(3)} | ${ratio}`);
    }
  }
  lines.push("");
  for (const [name, gaps] of Object.entries(failover)) {
    lines.push(`failover ${name}: longest write gap per kill ${gaps.map((g) => g.toFixed(0)).join(", ")} ms; median ${median(gaps).toFixed(0)} ms`);
  }
  lines.push(`leader changes during throughput runs: ${Object.entries(leaderChanges).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  const ratio = (metric, op, conc) => {
    const p = results[`phalanx-${op}-${conc}`];
    const e = results[`etcd-${op}-${conc}`];
    return p && e ? round(p[metric] / e[metric], 3) : null;
  };
  const raw = {};
  for (const [k, r] of Object.entries(results)) raw[k.replaceAll("-", "_")] = { rps: round(r.rps, 0), p50_ms: round(r.p50Ms), p99_ms: round(r.p99Ms), wrk_cpu_pct: round(r.cpuPct, 0), server_cpu_cores: round(r.serverCpuCores), errors: r.errors + r.non2xx };
  const json = {
    put_rps_ratio_c64: ratio("rps", "put", 64),
    put_rps_ratio_c256: ratio("rps", "put", 256),
    get_rps_ratio_c64: ratio("rps", "get", 64),
    put_p99_ratio_c64: ratio("p99Ms", "put", 64),
    failover_gap_ms_p50: failover.phalanx ? round(median(failover.phalanx), 0) : null,
    etcd_failover_gap_ms_p50: failover.etcd ? round(median(failover.etcd), 0) : null,
    leader_changes_under_load: leaderChanges.phalanx ?? null,
    etcd_leader_changes_under_load: leaderChanges.etcd ?? null,
    failover_gaps_ms: Object.fromEntries(Object.entries(failover).map(([k, v]) => [k, v.map((g) => round(g, 0))])),
    duration_s: DURATION_S,
    quick: QUICK,
    load_average_before: LOAD_BEFORE,
    ...raw,
  };
  for (const l of lines) process.stdout.write(`${l}\n`);
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

function etcdVersion() {
  const r = spawnSync("etcd", ["--version"], { encoding: "utf8" });
  return (r.stdout.match(/etcd Version: (\S+)/) ?? [])[1] ?? "?";
}

const LOAD_BEFORE = loadavg().map((x) => x.toFixed(2)).join(" ");
const root = mkdtempSync(join(tmpdir(), "phalanx-bench-kv-"));
const cleanupNow = () => {
  killAllNow();
  rmSync(root, { recursive: true, force: true });
};
process.on("exit", cleanupNow);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    void stopAll().finally(() => process.exit(130));
  });
}
try {
  const out = await main(root);
  report(out);
} catch (err) {
  log(`bench:kv failed: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  rmSync(root, { recursive: true, force: true });
}
