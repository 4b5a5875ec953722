// `npm run bench:sessions [-- --quick]`: the session fronts of a 3-node Phalanx cluster (fsync on,
// every write replicated) against Debian's redis-server (appendonly yes, appendfsync always, one
// process, no replication) and memcached, in the same run:
// - RESP: redis-benchmark SET and GET, 50 connections, 100-byte values, against Phalanx's leader and
//   against redis-server;
// - memcached: the same load from this script's own driver (50 connections, set then get of 100-byte
//   values; memcslap's settings) against Phalanx's memcached front and against memcached;
// - a kill -9 of the Phalanx leader while RESP writers run on every node; every acknowledged write is
//   read back afterwards.
// Prints a table; the last line is one JSON object. Everything started is stopped, also on failure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { PhalanxCluster } from "../kv/clusters.mjs";
import { waitForPort } from "../common/procs.mjs";
import { freePorts, killAllNow, start, stopAll } from "../kv/procs.mjs";
import { QUICK, opt } from "../common/argv.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const REQUESTS = opt("--requests", QUICK ? 20_000 : 200_000);
const CONNECTIONS = 50;
const VALUE_BYTES = 100;
const MC_DURATION_MS = opt("--mc-ms", QUICK ? 3_000 : 10_000);
const KILL_WRITE_MS = opt("--kill-ms", QUICK ? 2_000 : 5_000);
const log = (line) => process.stderr.write(`${line}\n`);

function ensureTools() {
  const missing = ["redis-server", "redis-benchmark", "memcached"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length === 0) return;
  log(`installing redis-server, redis-tools and memcached (missing: ${missing.join(", ")})`);
  const r = spawnSync("apt-get", ["install", "-y", "redis-server", "redis-tools", "memcached"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("Cannot install redis-server, redis-tools and memcached: apt-get failed");
}

/** A 3-node Phalanx cluster with both fronts on (bench/kv's cluster, configs patched before start). */
async function startPhalanx(root) {
  const { writeClusterFiles } = await import(join(REPO, "dist/cli/cluster-files.js"));
  const ports = await freePorts(12);
  const specs = [1, 2, 3].map((i) => ({ id: i, name: `n${i}`, peerListen: `127.0.0.1:${ports[i]}`, peerAdvertise: `127.0.0.1:${ports[i]}`, clientListen: `127.0.0.1:${ports[3 + i]}`, clientAdvertise: `127.0.0.1:${ports[3 + i]}` }));
  const dir = join(root, "phalanx");
  const files = await writeClusterFiles(dir, specs);
  const c = new PhalanxCluster();
  Object.assign(c, { dir, specs, token: files.clientToken, configFiles: files.configFiles, procs: [null, null, null], endpoints: specs.map((s) => s.clientAdvertise) });
  c.headers = { authorization: `Bearer ${c.token}`, "content-type": "application/json" };
  c.respPorts = [ports[7], ports[8], ports[9]];
  c.mcPorts = [ports[10], ports[11], ports[0]];
  specs.forEach((s, i) => {
    const file = files.configFiles.get(s.id);
    const config = parse(readFileSync(file, "utf8"));
    config.fronts = { resp: { enabled: true, listen: `127.0.0.1:${c.respPorts[i]}` }, memcached: { enabled: true, listen: `127.0.0.1:${c.mcPorts[i]}` } };
    writeFileSync(file, stringify(config));
  });
  for (let i = 0; i < 3; i++) c.spawn(i);
  await Promise.all([0, 1, 2].map((i) => c.waitHealthy(i)));
  await c.leader();
  return c;
}

/** redis-benchmark's CSV for SET and GET: { set: {rps, p99}, get: {rps, p99} }. */
function redisBenchmark(port, password) {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-c", String(CONNECTIONS), "-n", String(REQUESTS), "-d", String(VALUE_BYTES), "-r", "100000", "-t", "set,get", "--csv", ...(password ? ["-a", password] : [])];
  const r = spawnSync("redis-benchmark", args, { encoding: "utf8", env: { ...process.env, REDISCLI_AUTH: password ?? "" } });
  if (r.status !== 0) throw new Error(`redis-benchmark failed: ${r.stderr}`);
  const out = {};
  for (const line of r.stdout.split("\n")) {
    const cells = line.split(",").map((s) => s.replace(/"/g, ""));
    if (cells[0] === "SET" || cells[0] === "GET") out[cells[0].toLowerCase()] = { rps: Number(cells[1]), p99: Number(cells[6]) };
  }
  if (!out.set || !out.get) throw new Error(`redis-benchmark printed no SET/GET rows:\n${r.stdout}`);
  return out;
}

/** One memcached text connection that runs one command at a time. */
function mcConnection(port) {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let buf = "";
    let waiting = null;
    s.setNoDelay(true);
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (waiting && waiting.done(buf)) {
        const w = waiting;
        waiting = null;
        const reply = buf;
        buf = "";
        w.resolve(reply);
      }
    });
    let closed = false;
    s.on("error", reject);
    // A dead server answers null to the command waiting and to every later one.
    s.on("close", () => {
      closed = true;
      waiting?.resolve(null);
      waiting = null;
    });
    s.on("connect", () =>
      resolve({
        send: (text, done) => (closed ? Promise.resolve(null) : new Promise((res) => { waiting = { done, resolve: res }; s.write(text); })),
        close: () => s.destroy(),
      }));
  });
}

/** 50 connections doing `op` for a duration: { rps, p99 } (ms). */
async function mcLoad(port, op) {
  const value = "v".repeat(VALUE_BYTES);
  const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => mcConnection(port)));
  const latencies = [];
  const until = Date.now() + MC_DURATION_MS;
  let n = 0;
  const started = performance.now();
  await Promise.all(conns.map(async (c, ci) => {
    for (let i = 0; Date.now() < until; i++) {
      const key = `key:${(ci * 7919 + i) % 10000}`;
      const t0 = performance.now();
      if (op === "set") await c.send(`set ${key} 0 0 ${VALUE_BYTES}\r\n${value}\r\n`, (b) => b.endsWith("\r\n"));
      else await c.send(`get ${key}\r\n`, (b) => b.endsWith("END\r\n"));
      latencies.push(performance.now() - t0);
      n++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  for (const c of conns) c.close();
  latencies.sort((a, b) => a - b);
  return { rps: n / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN };
}

/** RESP writers on every node; kill -9 the leader mid-run; count acknowledged writes not read back. */
async function leaderKill(c) {
  const { leaderIndex } = await c.leader();
  const acked = new Map();
  let stopFlag = false;
  const writer = async (node, name) => {
    const conn = await mcConnectionResp(c.respPorts[node], c.token).catch(() => null);
    if (conn === null) return;
    for (let n = 0; !stopFlag; n++) {
      const key = `bench:${name}:${n}`;
      const reply = await conn.cmd(["SET", key, `${name}-${n}`, "EX", "3600"]);
      if (reply === null) return; // the node died under this writer
      if (reply === "+OK\r\n") acked.set(key, `${name}-${n}`);
      else await new Promise((r) => setTimeout(r, 20));
    }
    conn.close();
  };
  const writers = [0, 1, 2].flatMap((i) => [writer(i, `w${i}a`), writer(i, `w${i}b`)]);
  await new Promise((r) => setTimeout(r, KILL_WRITE_MS / 2));
  await c.kill(leaderIndex);
  await new Promise((r) => setTimeout(r, KILL_WRITE_MS / 2));
  stopFlag = true;
  await Promise.all(writers);
  const survivor = [0, 1, 2].find((i) => i !== leaderIndex);
  await c.leader();
  const reader = await mcConnectionResp(c.respPorts[survivor], c.token);
  let lost = 0;
  for (const [key, value] of acked) {
    const reply = await reader.cmd(["GET", key]);
    if (reply !== `$${value.length}\r\n${value}\r\n`) lost++;
  }
  reader.close();
  await c.restart(leaderIndex);
  return { acked: acked.size, lost };
}

/** A minimal RESP connection: one command at a time, the raw reply text (replies here are one line or one bulk). */
async function mcConnectionResp(port, token) {
  const conn = await mcConnection(port);
  const complete = (b) => (b.startsWith("$") && !b.startsWith("$-1") ? /^\$(\d+)\r\n/.test(b) && b.length >= b.indexOf("\r\n") + 2 + Number(/^\$(\d+)/.exec(b)[1]) + 2 : b.endsWith("\r\n"));
  const cmd = (args) => conn.send(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`, complete);
  const auth = await cmd(["AUTH", token]);
  if (auth !== "+OK\r\n") throw new Error(`AUTH failed: ${auth}`);
  return { cmd, close: conn.close };
}

async function main(root) {
  ensureTools();
  const redisPort = (await freePorts(1))[0];
  const mcPort = (await freePorts(1))[0];
  log("starting redis-server (appendonly yes, appendfsync always) and memcached");
  const redis = start("redis-server", "redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", root], join(root, "redis.log"));
  const memcached = start("memcached", "memcached", ["-p", String(mcPort), "-l", "127.0.0.1", "-U", "0", "-m", "512", "-u", "root"], join(root, "memcached.log"));
  await waitForPort(redis, redisPort);
  await waitForPort(memcached, mcPort);
  log("starting phalanx (3 nodes, fronts on)");
  const c = await startPhalanx(root);
  const { leaderIndex } = await c.leader();
  log(`redis-benchmark: ${REQUESTS} requests, ${CONNECTIONS} connections, ${VALUE_BYTES}-byte values`);
  const respRedis = redisBenchmark(redisPort, null);
  const respPhalanx = redisBenchmark(c.respPorts[leaderIndex], c.token);
  log(`memcached load: ${CONNECTIONS} connections, ${MC_DURATION_MS} ms per op`);
  const mc = { memcached: {}, phalanx: {} };
  for (const op of ["set", "get"]) {
    mc.memcached[op] = await mcLoad(mcPort, op);
    mc.phalanx[op] = await mcLoad(c.mcPorts[leaderIndex], op);
  }
  log("kill -9 of the leader under RESP writers");
  const kill = await leaderKill(c);

  const r2 = (x) => Math.round(x * 100) / 100;
  const rows = [
    ["RESP SET", respPhalanx.set, respRedis.set, "redis-server"],
    ["RESP GET", respPhalanx.get, respRedis.get, "redis-server"],
    ["memcached set", mc.phalanx.set, mc.memcached.set, "memcached"],
    ["memcached get", mc.phalanx.get, mc.memcached.get, "memcached"],
  ];
  console.log("| load | phalanx ops/s | phalanx p99 ms | reference | ref ops/s | ref p99 ms | ratio |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const [name, p, ref, refName] of rows) console.log(`| ${name} | ${Math.round(p.rps)} | ${r2(p.p99)} | ${refName} | ${Math.round(ref.rps)} | ${r2(ref.p99)} | ${r2(p.rps / ref.rps)} |`);
  console.log(`leader kill: ${kill.acked} acknowledged writes, ${kill.lost} lost`);
  console.log(JSON.stringify({
    resp_get_ratio_redis: r2(respPhalanx.get.rps / respRedis.get.rps),
    resp_set_ratio_redis: r2(respPhalanx.set.rps / respRedis.set.rps),
    mc_get_ratio_memcached: r2(mc.phalanx.get.rps / mc.memcached.get.rps),
    mc_set_ratio_memcached: r2(mc.phalanx.set.rps / mc.memcached.set.rps),
    resp_get_p99_ms: r2(respPhalanx.get.p99),
    resp_set_p99_ms: r2(respPhalanx.set.p99),
    acked_writes_on_leader_kill: kill.acked,
    lost_acked_writes_on_leader_kill: kill.lost,
  }));
}

const root = mkdtempSync(join(tmpdir(), "phalanx-bench-sessions-"));
process.on("exit", () => killAllNow());
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));
try {
  await main(root);
} finally {
  await stopAll();
  rmSync(root, { recursive: true, force: true });
}
