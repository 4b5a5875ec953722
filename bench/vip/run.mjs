// `npm run bench:vip [-- --quick] [-- --runs N] [-- --partition-s S] [-- --no-fast] [-- --phalanx-only] [-- --fast-only]`: virtual-IP
// failover on real network stacks (test/hosts' namespaces on a bridge: hosts h1, h2, client c1),
// Keepalived beside Phalanx, serving the same client.
// - Keepalived (Debian `keepalived`, installed if missing): VRRP unicast between h1 and h2,
//   advert_int 1, a health-tracking script (is the host's HTTP server alive?). Failover time: from
//   kill -9 of every keepalived process on the holder to the client in c1 being served through the
//   VIP by the other host; ≥ 10 runs (--quick: 3). Then the same with advert_int 0.1 (VRRPv3).
//   Overlap: h1 ↔ h2 partitioned for --partition-s (client sees both), an overlap sampler reading
//   both hosts' addresses throughout (test/hosts/vip-overlap.ts).
// - The VIP mechanism alone (src/vip, test/hosts/testdata/vip-host.ts): role moved h1 ⇄ h2 by hand,
//   time from the new holder being told to the client served by it; overlaps sampled.
// - Phalanx: the same through `phalanx apply -f` of a `mode: active-standby` service with `vip:`,
//   once with the node config's default timing profile and once with `profile: fast` (unless
//   --no-fast), each run with its breakdown (VIP off the old host, record gone at the leader,
//   promoted, VIP added on the new host, served).
//   Guarded (phalanxUnavailable): skipped with the reason on a build without `vip:` wiring.
// Prints a table on stderr; the LAST line on stdout is one JSON object. Everything created
// (namespaces, processes in them, temp files) is removed, also on failure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HostNet } from "../../test/hosts/harness.ts";
import { namespacePids, pidAlive } from "../../test/hosts/netns.ts";
import { OverlapSampler } from "../../test/hosts/vip-overlap.ts";
import { QUICK, argv, opt } from "../common/argv.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const RUNS = opt("--runs", QUICK ? 3 : 10);
const PARTITION_S = opt("--partition-s", QUICK ? 8 : 20);
const FAST = !argv.includes("--no-fast");
// Iterating on Phalanx's timings: Keepalived and the VIP-move half are left out (their fields
// null); --fast-only also leaves out Phalanx's default profile.
const PHALANX_ONLY = argv.includes("--phalanx-only");
const VIP = "10.231.0.200";
const VIP_CIDR = `${VIP}/24`;
const FAILOVER_DEADLINE_MS = 30_000;
/** Longest a Phalanx run waits for the controller to move Raft leadership off the VIP holder. */
const LEADER_OFF_HOLDER_WAIT_MS = 15_000;
const log = (line) => process.stderr.write(`${line}\n`);
const HTTPD = fileURLToPath(new URL("./httpd.mjs", import.meta.url));
const POLLER = fileURLToPath(new URL("./poller.mjs", import.meta.url));

function ensureTools() {
  if (process.getuid?.() !== 0) throw new Error("bench:vip needs root (network namespaces, keepalived)");
  const has = (t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0;
  if (!has("keepalived")) {
    log("installing keepalived (Debian package)");
    const r = spawnSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", "keepalived"], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) throw new Error("apt-get install keepalived failed: install it by hand (apt-get install keepalived)");
  }
  for (const t of ["ip", "nft"]) if (!has(t)) throw new Error(`${t} is missing: apt-get install iproute2 nftables`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, deadlineMs, check) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
const pct = (xs, p) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** The client's poller: every change of who serves it, with the time. */
class Poller {
  events = [];
  constructor(net) {
    this.proc = net.spawn("c1", process.execPath, [POLLER, VIP, "150"]);
    createInterface({ input: this.proc.child.stdout }).on("line", (l) => this.events.push(JSON.parse(l)));
  }
  get current() {
    return this.events.at(-1)?.by ?? null;
  }
  /** First time at or after `t0` that `address` served the client. */
  servedBy(address, t0) {
    // The answer before t0 may already be `address` (no change printed): count it from t0.
    let state = null;
    for (const e of this.events) {
      if (e.t < t0) state = e.by;
      else if (e.by === address) return e.t;
      else state = e.by;
    }
    return state === address && this.events.length > 0 ? t0 : null;
  }
}

// ---------------------------------------------------------------- Keepalived

function keepalivedConf(net, dir, host, peer, priority, advertInt) {
  const check = join(dir, `chk-${host}.sh`);
  // Health tracking: the host's HTTP server process is alive (its pid, written at start).
  writeFileSync(check, `#!/bin/sh\nkill -0 "$(cat ${join(dir, `httpd-${host}.pid`)})"\n`, { mode: 0o755 });
  const v3 = advertInt < 1;
  const conf = `global_defs {
  router_id ${host}
  script_user root
${v3 ? "  vrrp_version 3\n" : ""}}
vrrp_script chk_http {
  script "${check}"
  interval 1
  fall 1
  rise 1
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  advert_int ${advertInt}
  unicast_src_ip ${net.node(host).address}
  unicast_peer {
    ${net.node(peer).address}
  }
  virtual_ipaddress {
    ${VIP_CIDR} dev eth0
  }
  track_script {
    chk_http
  }
}
`;
  const file = join(dir, `keepalived-${host}-${String(advertInt).replace(".", "_")}.conf`);
  writeFileSync(file, conf);
  return file;
}

async function keepalivedPids(net, host) {
  const pids = await namespacePids(net.node(host).namespace);
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "keepalived";
    } catch {
      return false;
    }
  });
}

async function killKeepalived(net, host) {
  const pids = await keepalivedPids(net, host);
  // Stop them all first, then kill: keepalived's VRRP child gets SIGTERM when its parent dies
  // (parent-death signal) and would shut down gracefully — drop the VIP, send a priority-0 advert —
  // if the parent died a moment before the child's own SIGKILL arrived. A stopped process cannot.
  for (const sig of ["SIGSTOP", "SIGKILL"]) {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch { /* already gone */ }
    }
  }
  await until(`keepalived on ${host} to exit`, 10_000, async () => pids.every((p) => !pidAlive(p)));
}

function startKeepalived(net, dir, host, conf) {
  const tag = `${host}-${Date.now()}`;
  return net.spawn(host, "keepalived", ["-n", "-l", "-P", "-f", conf, "-p", join(dir, `ka-${tag}.pid`), "-r", join(dir, `vrrp-${tag}.pid`)]);
}

/** Both keepalived stopped, the VIP removed, both started again; h1 (priority 150) becomes master. */
async function keepalivedFresh(net, dir, poller, advertInt) {
  for (const h of ["h1", "h2"]) await killKeepalived(net, h);
  for (const h of ["h1", "h2"]) await net.exec(h, "ip", ["addr", "del", VIP_CIDR, "dev", "eth0"]).catch(() => undefined);
  const k1 = startKeepalived(net, dir, "h1", keepalivedConf(net, dir, "h1", "h2", 150, advertInt));
  const k2 = startKeepalived(net, dir, "h2", keepalivedConf(net, dir, "h2", "h1", 100, advertInt));
  await until("h1 to hold the VIP (keepalived master)", 30_000, async () => (await net.addresses("h1")).includes(VIP)).catch((err) => {
    throw new Error(`${err.message}\nkeepalived h1: ${k1.output()}\nkeepalived h2: ${k2.output()}`);
  });
  await until("c1 to be served by h1 through the VIP", 15_000, async () => poller.current === net.node("h1").address);
}

async function keepalivedFailovers(net, dir, poller, advertInt, runs) {
  const times = [];
  let deadKeptVip = 0;
  for (let i = 0; i < runs; i++) {
    await keepalivedFresh(net, dir, poller, advertInt);
    const t0 = Date.now();
    await killKeepalived(net, "h1");
    const t = await until(`c1 served by h2 after killing h1's keepalived (advert_int ${advertInt})`, FAILOVER_DEADLINE_MS, async () => poller.servedBy(net.node("h2").address, t0) ?? undefined);
    if ((await net.addresses("h1")).includes(VIP)) deadKeptVip++;
    times.push(t - t0);
    log(`  keepalived advert_int ${advertInt} run ${i + 1}/${runs}: ${t - t0} ms${deadKeptVip > 0 ? ` (dead holder still has the VIP: ${deadKeptVip} so far)` : ""}`);
  }
  return { times, deadKeptVip };
}

async function keepalivedPartition(net, dir, poller, advertInt, seconds) {
  await keepalivedFresh(net, dir, poller, advertInt);
  const sampler = new OverlapSampler(net, ["h1", "h2"], VIP, 10);
  await sampler.waitRounds(2);
  const t0 = Date.now();
  const eventsBefore = poller.events.length;
  await net.partition(["h1"], ["h2"]);
  await sleep(seconds * 1000); // the measured interval itself, not a synchronisation
  await net.heal();
  const flips = poller.events.slice(eventsBefore).filter((e) => e.t >= t0).length;
  await sampler.waitRounds(2);
  const overlaps = await sampler.stop();
  const spanMs = overlaps.length === 0 ? 0 : overlaps.at(-1).atMs - overlaps[0].atMs;
  return { overlaps: overlaps.length, overlapSpanMs: spanMs, rounds: sampler.rounds, clientChanges: flips };
}

// ---------------------------------------------------------------- Phalanx

/**
 * Phalanx's half needs active-standby services that move a `vip:` (src/vip/ VipFollower wired to
 * the agent's ActiveGuard). Returns why it cannot run with this build, or null.
 */
async function phalanxUnavailable() {
  const schemaFile = join(REPO, "dist/config/service.js");
  if (!existsSync(schemaFile)) return "dist/ is not built (npm run build)";
  const { serviceObjectSchema } = await import(schemaFile);
  const probe = serviceObjectSchema.safeParse({ name: "web", run: { command: "node" }, mode: "active-standby", vip: { address: VIP_CIDR, interface: "eth0" } });
  if (!probe.success) return "the service schema does not accept `vip:` yet (src/config/service.ts: vip: vipSchema.optional(), from src/config/vip.ts)";
  const wired = spawnSync("grep", ["-rlq", "VipFollower", join(REPO, "dist/agent"), join(REPO, "dist/server")]).status === 0;
  if (!wired) return "no agent wiring of the VIP yet (a VipFollower next to each active-standby service's ActiveGuard)";
  return null;
}

/** pino lines of `output` at or after `t0` (epoch ms) whose msg matches. */
function logTimes(output, msg, t0) {
  const out = [];
  for (const line of output.split("\n")) {
    if (!line.includes(msg)) continue;
    try {
      const j = JSON.parse(line);
      if (j.msg === msg && j.time >= t0) out.push(j.time);
    } catch { /* a partial first line of the kept tail */ }
  }
  return out;
}

/**
 * kill -9 of the holder's agent, `runs` times, with the node config's timing `profile`. Each run's
 * breakdown (ms after the kill): the old host's VIP gone (its VipWatchdog, from the sampler's
 * reads), the leader seeing the active record gone (the fencing lease expired there), the acquire
 * txn committed, the new holder's `ip addr add` done, its first gratuitous ARP sent, the client served.
 */
async function phalanxFailovers(net, poller, via, runs, profile) {
  const { HostAgents } = await import("../../test/hosts/agents.ts");
  const { selfCommand } = await import("../../src/cli/commands/dev.ts");
  const hosts = ["h1", "h2", "h3"];
  const agents = await HostAgents.start(net, via, { hosts, profile });
  try {
    const file = join(agents.root, "web.yaml");
    // Flap damping off: every run is a deliberate fault, and damping would hold the 4th takeover
    // back (as in bench:failover).
    writeFileSync(file, `name: web\nmode: active-standby\nstandbys: 1\nrun:\n  command: ${process.execPath}\n  args: ["${HTTPD}"]\nvip:\n  address: ${VIP_CIDR}\n  interface: eth0\nflapDamping: { threshold: 100000 }\n`);
    const self = selfCommand();
    const endpoints = hosts.map((h) => `${net.node(h).address}:2379`).join(",");
    await net.exec("c2", self.cmd, [...self.args, "apply", "-f", file, "--endpoints", endpoints, "--token", agents.token, "--admin-token-file", join(agents.root, "h1", "admin-token")]);
    const times = [];
    const breakdowns = [];
    // Watches every failover: Phalanx must never show two holders (phalanx_overlaps).
    const sampler = new OverlapSampler(net, hosts, VIP, 10);
    const samplerEpochMs = Date.now();
    for (let i = 0; i < runs; i++) {
      const holder = await until("a host to hold the VIP", 60_000, async () => {
        for (const h of hosts) if ((await net.addresses(h)).includes(VIP)) return h;
        return undefined;
      }).catch((err) => {
        // Say why: the agents' last lines (placement, health, fencing) are the evidence.
        for (const h of hosts) log(`--- ${h} (profile ${profile ?? "default"}) last output:\n${agents.process(h).output().split("\n").slice(-25).join("\n")}`);
        throw err;
      });
      await until(`c1 served by ${holder}`, 15_000, async () => poller.current === net.node(holder).address);
      // The steady state the failover controller keeps: Raft leadership off the holder's node (an
      // active on the leader waits for an election as well). Bounded: under load an election can
      // put it back; such a run is counted (holderWasLeader), not skipped.
      let leader = await agents.waitLeader(hosts, 60_000);
      const steadyBy = Date.now() + LEADER_OFF_HOLDER_WAIT_MS;
      while (leader === holder && Date.now() < steadyBy) {
        await sleep(100);
        leader = await agents.waitLeader(hosts, 60_000);
      }
      const t0 = Date.now();
      // kill -9 of the holder's agent alone, as Keepalived's processes alone are killed: its
      // instance and watchdogs live on; the VIP must leave that host before another takes it.
      await net.kill(agents.process(holder));
      const t = await until("c1 served by another host", FAILOVER_DEADLINE_MS, async () => {
        const e = poller.events.find((ev) => ev.t >= t0 && ev.by !== null && ev.by !== net.node(holder).address);
        return e?.t;
      });
      times.push(t - t0);
      const to = hosts.find((h) => net.node(h).address === poller.events.find((ev) => ev.t >= t0 && ev.by !== null && ev.by !== net.node(holder).address).by);
      const after = (ms) => (ms === undefined ? null : Math.round(ms - t0));
      const readAt = (host, held) => sampler.reads.find((r) => r.host === host && r.held === held && samplerEpochMs + r.atMs >= t0);
      const leaderOut = leader === holder ? "" : agents.process(leader).output();
      const b = {
        profile, from: holder, to, holderWasLeader: leader === holder,
        vipGoneMs: after(readAt(holder, false) && samplerEpochMs + readAt(holder, false).atMs),
        recordGoneMs: after(logTimes(leaderOut, "the active record is gone: choosing a new active", t0)[0]),
        promotedMs: after(logTimes(leaderOut, "promoted a standby to active", t0)[0]),
        vipAddedMs: after(logTimes(agents.process(to).output(), "virtual IP acquired", t0)[0]),
        announcedMs: after(logTimes(agents.process(to).output(), "virtual IP announced", t0)[0]),
        servedMs: t - t0,
      };
      breakdowns.push(b);
      log(`  phalanx (${profile}) run ${i + 1}/${runs}: ${t - t0} ms (from ${holder}${b.holderWasLeader ? ", the Raft leader" : ""} to ${to}: VIP off ${holder} ${b.vipGoneMs}, record gone at the leader ${b.recordGoneMs}, promoted ${b.promotedMs}, VIP added on ${to} ${b.vipAddedMs}, announced ${b.announcedMs}, served ${b.servedMs})`);
      agents.spawn(holder);
      await agents.waitLeader(hosts, 60_000);
    }
    const overlaps = (await sampler.stop()).length;
    return { times, overlaps, breakdowns };
  } finally {
    await agents.close();
  }
}

// ---------------------------------------------------------------- the VIP mechanism alone

/**
 * How long the VIP itself takes to move once the role has moved: h1's VipFollower releases, then
 * h2's acquires and announces (test/hosts/testdata/vip-host.ts), timed from h2 being told it holds
 * the role to the client being served by h2. Not a failover time: that adds the lease expiry
 * at the leader and the promotion, which the services wiring provides.
 */
async function vipMoves(net, poller, runs) {
  const VIP_HOST = fileURLToPath(new URL("../../test/hosts/testdata/vip-host.ts", import.meta.url));
  const hosts = {};
  for (const h of ["h1", "h2"]) {
    const proc = net.spawn(h, process.execPath, ["--import", "tsx", VIP_HOST, h, VIP_CIDR]);
    const pending = new Map();
    let ready = false;
    createInterface({ input: proc.child.stdout }).on("line", (line) => {
      const m = JSON.parse(line);
      if (m.event === "ready") ready = true;
      else pending.get(m.id)?.(m);
    });
    let nextId = 1;
    const ask = (cmd, extra = {}) => new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      proc.child.stdin.write(`${JSON.stringify({ id, cmd, ...extra })}\n`);
    });
    await until(`vip-host on ${h}`, 30_000, async () => ready);
    hosts[h] = { proc, ask };
  }
  const sampler = new OverlapSampler(net, ["h1", "h2"], VIP, 10);
  const times = [];
  let from = "h1";
  await hosts.h1.ask("role", { holder: true, fenceInMs: 600_000 });
  // vip-host.ts answers with the host's name, not its address.
  await until("c1 served by h1 through the VIP host", 15_000, async () => poller.current === "h1");
  for (let i = 0; i < runs; i++) {
    const to = from === "h1" ? "h2" : "h1";
    await hosts[from].ask("role", { holder: false, fenceInMs: 600_000 });
    await until(`${from} to release`, 10_000, async () => (await hosts[from].ask("held")).value === false);
    const t0 = Date.now();
    await hosts[to].ask("role", { holder: true, fenceInMs: 600_000 });
    const t = await until(`c1 served by ${to}`, FAILOVER_DEADLINE_MS, async () => poller.servedBy(to, t0) ?? undefined);
    times.push(t - t0);
    log(`  VIP move ${from} → ${to} run ${i + 1}/${runs}: ${t - t0} ms`);
    from = to;
  }
  const overlaps = (await sampler.stop()).length;
  for (const h of Object.values(hosts)) await net.kill(h.proc);
  for (const h of ["h1", "h2"]) await net.exec(h, "ip", ["addr", "del", VIP_CIDR, "dev", "eth0"]).catch(() => undefined);
  return { times, overlaps };
}

/** Keepalived's half: failovers with advert_int 1, a partition, failovers with advert_int 0.1. */
async function keepalivedPart(net, dir, poller, out) {
  log(`keepalived: ${RUNS} failovers with advert_int 1`);
  out.keepalived = await keepalivedFailovers(net, dir, poller, 1, RUNS);
  log(`keepalived: partition h1 | h2 for ${PARTITION_S} s`);
  out.partition = await keepalivedPartition(net, dir, poller, 1, PARTITION_S);
  if (FAST) {
    log(`keepalived: ${RUNS} failovers with advert_int 0.1 (VRRPv3)`);
    out.fast = await keepalivedFailovers(net, dir, poller, 0.1, RUNS);
  }
  for (const h of ["h1", "h2"]) await killKeepalived(net, h);
  // From here on others serve :8080 (vip-host.ts, then Phalanx's service instance).
  for (const h of ["h1", "h2"]) await net.exec(h, "ip", ["addr", "del", VIP_CIDR, "dev", "eth0"]).catch(() => undefined);
}

// ---------------------------------------------------------------- main

async function main() {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "phalanx-bench-vip-"));
  const net = await HostNet.start({ hosts: 3, clients: 2 });
  const out = { keepalived: null, fast: null, partition: null, move: null, phalanx: null, phalanxFast: null, phalanxSkipped: null };
  try {
    const httpds = [];
    for (const h of ["h1", "h2", "h3"]) {
      const httpd = net.spawn(h, process.execPath, [HTTPD]);
      httpds.push(httpd);
      writeFileSync(join(dir, `httpd-${h}.pid`), `${httpd.pid}\n`);
      await until(`httpd on ${h}`, 15_000, async () => httpd.output().includes("ready"));
    }
    const poller = new Poller(net);
    if (!PHALANX_ONLY) await keepalivedPart(net, dir, poller, out);
    for (const p of httpds) await net.kill(p);
    if (!PHALANX_ONLY) {
      log(`VIP mechanism alone (src/vip): ${RUNS} moves h1 ⇄ h2`);
      out.move = await vipMoves(net, poller, RUNS);
    }
    out.phalanxSkipped = await phalanxUnavailable();
    if (out.phalanxSkipped === null) {
      const { Prober } = await import("../../test/hosts/probe.ts");
      // One probe in c2 for both clusters (it listens on a fixed port there).
      const via = await Prober.start(net, "c2");
      if (!argv.includes("--fast-only")) {
        log(`phalanx (profile default): ${RUNS} failovers`);
        out.phalanx = await phalanxFailovers(net, poller, via, RUNS, "default");
      }
      if (FAST) {
        log(`phalanx (profile fast): ${RUNS} failovers`);
        out.phalanxFast = await phalanxFailovers(net, poller, via, RUNS, "fast");
      }
    } else log(`phalanx half NOT run: ${out.phalanxSkipped}`);
  } finally {
    await net.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const k50 = out.keepalived ? pct(out.keepalived.times, 50) : null;
  const f50 = out.fast ? pct(out.fast.times, 50) : null;
  const p50 = out.phalanx ? pct(out.phalanx.times, 50) : null;
  const pf50 = out.phalanxFast ? pct(out.phalanxFast.times, 50) : null;
  const row = (name, r) => (r ? `${name.padEnd(34)} ${String(r.times.length).padStart(4)} ${String(pct(r.times, 50)).padStart(8)} ${String(pct(r.times, 90)).padStart(8)} ${String(Math.max(...r.times)).padStart(8)}` : `${name.padEnd(34)} not run`);
  log("");
  log(`${"failover: kill -9 → client served by the other host".padEnd(34)}`);
  log(`${"".padEnd(34)} runs  p50 ms   p90 ms   max ms`);
  log(row("keepalived advert_int 1", out.keepalived));
  log(row("keepalived advert_int 0.1 (VRRPv3)", out.fast));
  log(row("phalanx (profile default)", out.phalanx));
  log(row("phalanx (profile fast)", out.phalanxFast));
  log(row("src/vip move alone (no lease expiry)", out.move));
  for (const r of [out.phalanx, out.phalanxFast]) {
    if (r === null) continue;
    const med = (k) => pct(r.breakdowns.map((b) => b[k]).filter((x) => x !== null), 50);
    log(`phalanx (profile ${r.breakdowns[0]?.profile}) median ms after the kill: VIP off the old host ${med("vipGoneMs")}, record gone at the leader ${med("recordGoneMs")}, promoted ${med("promotedMs")}, VIP added on the new host ${med("vipAddedMs")}, announced ${med("announcedMs")}, client served ${med("servedMs")}; holder was the Raft leader in ${r.breakdowns.filter((b) => b.holderWasLeader).length}/${r.breakdowns.length}`);
  }
  if (out.keepalived) log(`keepalived: dead holder still had the VIP after failover in ${out.keepalived.deadKeptVip}/${out.keepalived.times.length} runs${out.fast ? ` (advert_int 0.1: ${out.fast.deadKeptVip}/${out.fast.times.length})` : ""}`);
  if (out.partition) log(`keepalived partition h1|h2 ${PARTITION_S} s: ${out.partition.overlaps} overlap instants over ${out.partition.overlapSpanMs} ms (${out.partition.rounds} sampler rounds), client saw ${out.partition.clientChanges} changes of server`);
  if (out.move) log(`src/vip moves: ${out.move.overlaps} overlap instants (release, then acquire + gratuitous ARP)`);
  if (out.phalanxSkipped) log(`phalanx: not run: ${out.phalanxSkipped}`);
  const ratio = (a, b) => (a === null || b === null ? null : Math.round((a / b) * 100) / 100);
  console.log(JSON.stringify({
    phalanx_p50_ms: p50,
    keepalived_p50_ms: k50,
    keepalived_fast_p50_ms: f50,
    phalanx_fast_p50_ms: pf50,
    ratio_p50: ratio(p50, k50),
    // The fast profile against Keepalived's advert_int 0.1.
    fast_ratio_p50: ratio(pf50, f50),
    // Both profiles' failovers: must be 0.
    phalanx_overlaps: out.phalanx || out.phalanxFast ? (out.phalanx?.overlaps ?? 0) + (out.phalanxFast?.overlaps ?? 0) : null,
    keepalived_overlaps: out.partition ? out.partition.overlaps : null,
    keepalived_overlap_span_ms: out.partition ? out.partition.overlapSpanMs : null,
    keepalived_dead_holder_kept_vip: out.keepalived ? out.keepalived.deadKeptVip : null,
    vip_move_p50_ms: out.move ? pct(out.move.times, 50) : null,
    vip_move_overlaps: out.move ? out.move.overlaps : null,
    runs: RUNS,
    partition_s: PARTITION_S,
    phalanx_skipped: out.phalanxSkipped,
  }));
}

main().catch((err) => {
  log(`bench:vip failed: ${err.stack ?? err}`);
  process.exitCode = 1;
});
