#!/usr/bin/env node
// `npm run bench:proxy [-- --quick] [-- --rounds N --duration S --connections N]`
// Phalanx against HAProxy (one thread), nginx (one worker), and http-proxy, on the same two nginx
// backends with the same wrk load. wrk and both backends are pinned to CPU 0, the proxy under test
// alone to CPU 1. Contenders are interleaved in every round (rotating the order), several rounds,
// medians. Prints a table, then as its LAST line one JSON object with the ratios and raw figures.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { get } from "node:http";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  LARGE_BODY_BYTES, SMALL_BODY, hasNginxStream, writeHaproxy, writeNginxBackend, writeNginxProxy, writePhalanx,
} from "./configs.mjs";
import { cleanUpOnExit } from "../common/exit.mjs";
import { cpuSeconds, freePorts, startPinned, stopAll, waitForPort } from "./procs.mjs";
import { formatTable, ratio, summarize } from "./stats.mjs";
import { runWrk, writeWrkScript } from "./wrk.mjs";

const LOAD_CPU = 0;
const PROXY_CPU = 1;
const ROOT = new URL("../../", import.meta.url).pathname;
const REQUIRED_TOOLS = { haproxy: "haproxy", nginx: "nginx", wrk: "wrk", taskset: "util-linux" };

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string", default: "50" },
    // Comma-separated case ids (l7_small,l7_64k,l4_small,l4_64k) to run a subset while profiling.
    only: { type: "string" },
  },
});
const rounds = Number(flags.rounds ?? (flags.quick ? 2 : 5));
const durationS = Number(flags.duration ?? (flags.quick ? 3 : 10));
const warmupS = flags.quick ? 1 : 2;
const connections = Number(flags.connections);

const log = (text) => process.stderr.write(`${text}\n`);
let dir = null;

const cleanupNow = cleanUpOnExit(() => {
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
}, log);

function ensureTools() {
  const missing = Object.keys(REQUIRED_TOOLS).filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  const packages = [...new Set(missing.map((tool) => REQUIRED_TOOLS[tool]))];
  // The nginx stream module gives nginx a TCP contender; the benchmark runs without it.
  if (!hasNginxStream()) packages.push("libnginx-mod-stream");
  if (packages.length === 0) return;
  if (process.getuid?.() !== 0) {
    if (missing.length === 0) return;
    throw new Error(`Cannot run the proxy benchmark: ${missing.join(", ")} missing; as root run: apt-get install -y ${packages.join(" ")}`);
  }
  log(`Installing ${packages.join(" ")} from Debian packages`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const result = spawnSync("apt-get", ["install", "-y", "-qq", ...packages], { stdio: "inherit", env });
  // Only the optional stream module missing: go on without nginx's TCP contender.
  if (result.status !== 0 && missing.length > 0) {
    throw new Error(`Cannot install ${packages.join(" ")}: apt-get update exited with ${update.status}, install with ${result.status}`);
  }
}

/** Starts a server pinned to `cpu` with its output in a log file, and waits until `port` accepts. */
async function startServer(name, cpu, command, args, port) {
  const logFile = join(dir, `${name}.log`);
  const proc = startPinned(name, cpu, command, args, { logFd: openSync(logFile, "a") });
  proc.logFile = logFile;
  try {
    await waitForPort(proc, port);
  } catch (err) {
    const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n") : "";
    throw new Error(`${err.message}\n--- ${name} log ---\n${tail}`);
  }
  return proc;
}

/** One line naming the machine and the contenders' versions, for BENCHMARKS.md. */
function describeMachine() {
  const version = (command, args, pattern) => {
    const r = spawnSync(command, args, { encoding: "utf8" });
    return (`${r.stdout}${r.stderr}`.match(pattern) ?? [])[1] ?? "?";
  };
  const haproxy = version("haproxy", ["-v"], /version (\S+)/);
  const nginx = version("nginx", ["-v"], /nginx\/(\S+)/);
  const wrk = version("wrk", ["-v"], /wrk (\S+)/);
  return `${cpus()[0]?.model ?? "?"} × ${cpus().length}, Linux ${release()}, Node ${process.version}, HAProxy ${haproxy}, nginx ${nginx}, wrk ${wrk}`;
}

/** Fetches `url` once and checks the body length, so that no contender is measured serving errors. */
function checkResponse(name, url, expectedBytes) {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let bytes = 0;
      res.on("data", (chunk) => (bytes += chunk.length));
      res.on("end", () => {
        if (res.statusCode === 200 && bytes === expectedBytes) resolve();
        else reject(new Error(`Cannot benchmark ${name}: ${url} answered ${res.statusCode} with ${bytes} bytes, expected 200 with ${expectedBytes}`));
      });
    }).on("error", (err) => reject(new Error(`Cannot benchmark ${name}: ${url} failed with ${err.message}`)));
  });
}

async function main() {
  ensureTools();
  const distCli = join(ROOT, "dist/cli/main.js");
  if (!existsSync(distCli)) throw new Error("Cannot run Phalanx from dist: run `npm run build` first (npm run bench:proxy does)");
  dir = mkdtempSync(join(tmpdir(), "phalanx-bench-"));
  const stream = hasNginxStream();
  const [back1, back2, phHttp, phTcp, haHttp, haTcp, ngHttp, ngTcp, hpHttp] = await freePorts(9);
  const backendPorts = [back1, back2];

  log(`Starting backends on CPU ${LOAD_CPU} and contenders on CPU ${PROXY_CPU} in ${dir}`);
  for (const [name, port] of [["backend-a", back1], ["backend-b", back2]]) {
    const { conf, prefix } = writeNginxBackend(dir, name, port);
    await startServer(name, LOAD_CPU, "nginx", ["-p", prefix, "-c", conf, "-e", join(prefix, "error.log")], port);
  }
  const phalanxConf = writePhalanx(dir, { httpPort: phHttp, tcpPort: phTcp, backendPorts });
  const haproxyConf = writeHaproxy(dir, { httpPort: haHttp, tcpPort: haTcp, backendPorts });
  const nginxConf = writeNginxProxy(dir, { httpPort: ngHttp, tcpPort: stream ? ngTcp : undefined, backendPorts });
  const phalanx = await startServer("phalanx", PROXY_CPU, process.execPath,
    [join(ROOT, "bin/phalanx.mjs"), "proxy", "--config", phalanxConf.conf, "--log-level", "warn"], phHttp);
  await waitForPort(phalanx, phTcp);
  const haproxy = await startServer("haproxy", PROXY_CPU, "haproxy", ["-db", "-f", haproxyConf.conf], haHttp);
  const nginx = await startServer("nginx", PROXY_CPU, "nginx",
    ["-p", nginxConf.prefix, "-c", nginxConf.conf, "-e", join(nginxConf.prefix, "error.log")], ngHttp);
  const httpProxy = await startServer("http-proxy", PROXY_CPU, process.execPath,
    [join(ROOT, "bench/proxy/http-proxy-server.mjs"), String(hpHttp), ...backendPorts.map(String)], hpHttp);

  const l7 = [
    { name: "phalanx", proc: phalanx, port: phHttp },
    { name: "haproxy", proc: haproxy, port: haHttp },
    { name: "nginx", proc: nginx, port: ngHttp },
    { name: "http-proxy", proc: httpProxy, port: hpHttp },
  ];
  const l4 = [
    { name: "phalanx", proc: phalanx, port: phTcp },
    { name: "haproxy", proc: haproxy, port: haTcp },
    ...(stream ? [{ name: "nginx", proc: nginx, port: ngTcp }] : []),
  ];
  const allCases = [
    { id: "l7_small", label: "L7 small", path: "/small", bytes: SMALL_BODY.length, contenders: l7 },
    { id: "l7_64k", label: "L7 64k", path: "/64k", bytes: LARGE_BODY_BYTES, contenders: l7 },
    { id: "l4_small", label: "L4 small", path: "/small", bytes: SMALL_BODY.length, contenders: l4 },
    { id: "l4_64k", label: "L4 64k", path: "/64k", bytes: LARGE_BODY_BYTES, contenders: l4 },
  ];
  const only = flags.only?.split(",");
  const cases = allCases.filter((c) => only === undefined || only.includes(c.id));
  const url = (c, contender) => `http://127.0.0.1:${contender.port}${c.path}`;
  const script = writeWrkScript(dir);

  for (const c of cases) {
    for (const contender of c.contenders) await checkResponse(`${contender.name} (${c.label})`, url(c, contender), c.bytes);
  }
  log(`Warming up every contender for ${warmupS} s per case`);
  for (const c of cases) {
    for (const contender of c.contenders) {
      await runWrk({ cpu: LOAD_CPU, url: url(c, contender), connections, durationS: warmupS, script });
    }
  }

  const loadBefore = loadavg()[0];
  const samples = Object.fromEntries(cases.map((c) => [c.id, Object.fromEntries(c.contenders.map((x) => [x.name, []]))]));
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      // Rotate the order each round so no contender always runs first (or right after another).
      const order = c.contenders.map((_, i) => c.contenders[(i + round) % c.contenders.length]);
      for (const contender of order) {
        const cpuBefore = cpuSeconds(contender.proc.child.pid);
        const result = await runWrk({ cpu: LOAD_CPU, url: url(c, contender), connections, durationS, script });
        const cpuUsed = cpuSeconds(contender.proc.child.pid) - cpuBefore;
        const sample = { ...result, cpuUsPerReq: (cpuUsed * 1e6) / Math.max(1, result.requests) };
        samples[c.id][contender.name].push(sample);
        log(`round ${round + 1}/${rounds} ${c.label.padEnd(8)} ${contender.name.padEnd(10)} ${result.rps.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms.toFixed(2)} ms  ${sample.cpuUsPerReq.toFixed(1)} µs/req`);
      }
    }
  }
  const loadAfter = loadavg()[0];

  const results = Object.fromEntries(cases.map((c) => [
    c.id, Object.fromEntries(c.contenders.map((x) => [x.name, summarize(samples[c.id][x.name])])),
  ]));
  const rps = (caseId, name) => results[caseId]?.[name]?.rps;
  const p99 = (caseId, name) => results[caseId]?.[name]?.p99Ms;
  const summary = {
    l7_rps_ratio_haproxy: ratio(rps("l7_small", "phalanx"), rps("l7_small", "haproxy")),
    l7_rps_ratio_nginx: ratio(rps("l7_small", "phalanx"), rps("l7_small", "nginx")),
    l7_p99_ratio_haproxy: ratio(p99("l7_small", "phalanx"), p99("l7_small", "haproxy")),
    l7_64k_ratio_haproxy: ratio(rps("l7_64k", "phalanx"), rps("l7_64k", "haproxy")),
    l4_rps_ratio_haproxy: ratio(rps("l4_small", "phalanx"), rps("l4_small", "haproxy")),
    l4_64k_ratio_haproxy: ratio(rps("l4_64k", "phalanx"), rps("l4_64k", "haproxy")),
    l7_rps_ratio_http_proxy: ratio(rps("l7_small", "phalanx"), rps("l7_small", "http-proxy")),
    l4_rps_ratio_nginx: stream ? ratio(rps("l4_small", "phalanx"), rps("l4_small", "nginx")) : null,
    machine: describeMachine(), rounds, duration_s: durationS, connections, load_avg_1m: [loadBefore, loadAfter].map((x) => Math.round(x * 100) / 100),
    raw: results,
  };
  await stopAll();
  process.stdout.write(`\nProxy benchmark: ${rounds} rounds × ${durationS} s, ${connections} connections, medians; wrk + backends on CPU ${LOAD_CPU}, proxy on CPU ${PROXY_CPU}\n`);
  process.stdout.write(`Machine: ${summary.machine}; 1-minute load average ${summary.load_avg_1m.join(" → ")}\n`);
  process.stdout.write(`${formatTable(cases, results)}\n\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main()
  .catch(async (err) => {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    cleanupNow();
  });
