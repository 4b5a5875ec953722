// Loading node configs: the admin token is required, and a config written before it existed gets
// an error that says what to add; a node refuses to start with one token for both roles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ConfigError } from "../config/errors.js";
import { startNode } from "./agent.js";
import { writeApiNodeFiles } from "../testing/api-testing.js";
import { checkFencingParams } from "../failover/fencing.js";
import { fencingParamsOf, loadNodeConfig, TIMING_PROFILES } from "./node-config.js";
import { DEFAULT_FAILOVER_FENCING } from "./services/failover-agent.js";

test("a config without adminTokenFile (written before the admin token) is refused with what to add", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir);
  const old = (await readFile(configFile, "utf8")).split("\n").filter((l) => !l.startsWith("adminTokenFile:")).join("\n");
  await writeFile(configFile, old);
  await assert.rejects(loadNodeConfig(configFile), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /adminTokenFile/);
    assert.match(err.message, /predates the admin token/);
    assert.match(err.message, /adminTokenFile: \.\/admin-token/);
    return true;
  });
});

test("a node refuses to start when the admin token equals the client token", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile, clientToken } = await writeApiNodeFiles(dir);
  await writeFile(join(dir, "admin-token"), `${clientToken}\n`);
  const config = await loadNodeConfig(configFile);
  assert.equal(config.adminTokenFile, join(dir, "admin-token"));
  await assert.rejects(startNode(config, pino({ level: "silent" })), /hold the same token: the admin token must differ from the client token/);
});

test("services defaults: no labels, a 2000 ms node lease, services enabled on ports 20000-29999, instance logs in ./logs, a 1000 ms fencing lease with 300 ms to stop; logDir relative to the file", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir);
  const config = await loadNodeConfig(configFile);
  assert.deepEqual(config.node.labels, {});
  assert.equal(config.node.leaseTtlMs, 2000);
  assert.deepEqual(config.services, { enabled: true, portRange: { from: 20_000, to: 29_999 }, logDir: join(dir, "logs"), fencingLeaseTtlMs: 1000, fencingRenewIntervalMs: 200, fencingStopTimeoutMs: 300, failoverTickMs: 500, failoverConfirmLeadership: true });
  assert.equal(config.profile, "default");
  await writeFile(configFile, `${await readFile(configFile, "utf8")}services:\n  logDir: ./elsewhere\n`);
  assert.equal((await loadNodeConfig(configFile)).services.logDir, join(dir, "elsewhere"));
});

test("a node refuses to start with a node lease shorter than the minimum lease TTL", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir);
  const config = await loadNodeConfig(configFile);
  await assert.rejects(startNode({ ...config, node: { ...config.node, leaseTtlMs: 1 } }, pino({ level: "silent" })), /node\.leaseTtlMs 1 .* is below the minimum lease TTL of \d+ ms/);
});

test("clusterVip: absent by default; ADDRESS/PREFIX and interface taken; a bad address, a bad interface or services off are refused at their file:line with the fix", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir);
  const base = await readFile(configFile, "utf8");
  assert.equal((await loadNodeConfig(configFile)).clusterVip, undefined);
  const vipLine = base.split("\n").length; // the line `clusterVip:` lands on below (base ends with a newline)
  const withVip = async (section: string): Promise<void> => writeFile(configFile, `${base}clusterVip:\n${section}`);

  await withVip("  address: 10.1.0.100/24\n  interface: eth0\n");
  assert.deepEqual((await loadNodeConfig(configFile)).clusterVip, { address: "10.1.0.100/24", interface: "eth0" });

  const refused = async (pattern: RegExp): Promise<void> => assert.rejects(loadNodeConfig(configFile), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
  await withVip("  address: 10.1.0.100\n  interface: eth0\n");
  await refused(new RegExp(`config\\.yaml:${vipLine + 1}:\\d+: clusterVip\\.address: .*no prefix length: write ADDRESS/PREFIX`));
  await withVip("  address: 10.1.0.100/24\n  interface: eth0 and more\n");
  await refused(new RegExp(`config\\.yaml:${vipLine + 2}:\\d+: clusterVip\\.interface: Interface must be a Linux interface name`));
  await withVip("  address: 10.1.0.100/24\n");
  await refused(/clusterVip.*interface/);
  await writeFile(configFile, `${base}services:\n  enabled: false\nclusterVip:\n  address: 10.1.0.100/24\n  interface: eth0\n`);
  await refused(new RegExp(`config\\.yaml:${vipLine + 3}:\\d+: clusterVip: clusterVip needs services\\.enabled[^]*remove services\\.enabled: false`));
});

test("the proxy section defaults to on and takes a bind host and an admin address; unknown fields are refused", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir);
  const base = await readFile(configFile, "utf8");
  const defaults = await loadNodeConfig(configFile);
  assert.deepEqual(defaults.proxy, { enabled: true, drainGraceMs: 10_000 });
  await writeFile(configFile, `${base}\nproxy:\n  bindHost: 127.0.0.2\n  admin: 127.0.0.2:9901\n`);
  const set = await loadNodeConfig(configFile);
  assert.deepEqual(set.proxy, { enabled: true, bindHost: "127.0.0.2", admin: { host: "127.0.0.2", port: 9901 }, drainGraceMs: 10_000 });
  await writeFile(configFile, `${base}\nproxy:\n  listen: 127.0.0.2:80\n`);
  await assert.rejects(loadNodeConfig(configFile), (err: unknown) => err instanceof ConfigError && /proxy/.test(err.message));
});

test("profile: fast sets every failover timing the file leaves unset; a field set in the file wins", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir);
  // The test files set Raft timings of their own: left out here so that the profile decides them.
  const base = (await readFile(configFile, "utf8")).replace(/^raft:\n(?: {2}.*\n)+/m, "");
  assert.doesNotMatch(base, /tickMs/);
  await writeFile(configFile, `${base}\nprofile: fast\n`);
  const fast = await loadNodeConfig(configFile);
  const p = TIMING_PROFILES.fast;
  assert.equal(fast.node.leaseTtlMs, p.nodeLeaseTtlMs);
  assert.deepEqual([fast.raft.tickMs, fast.raft.heartbeatTicks, fast.raft.electionTicks], [p.raft.tickMs, p.raft.heartbeatTicks, p.raft.electionTicks]);
  assert.deepEqual(
    [fast.services.fencingLeaseTtlMs, fast.services.fencingRenewIntervalMs, fast.services.fencingStopTimeoutMs, fast.services.failoverTickMs, fast.services.failoverConfirmLeadership],
    [p.fencingLeaseTtlMs, p.fencingRenewIntervalMs, p.fencingStopTimeoutMs, p.failoverTickMs, false],
  );
  assert.ok(fast.services.fencingLeaseTtlMs < TIMING_PROFILES.default.fencingLeaseTtlMs);
  // The safety margin and the clock-rate bound are the default's: only TTL, cadence and stop time change.
  assert.deepEqual(fencingParamsOf(fast.services), { ...DEFAULT_FAILOVER_FENCING, leaseTtlMs: p.fencingLeaseTtlMs, renewIntervalMs: p.fencingRenewIntervalMs, stopTimeoutMs: p.fencingStopTimeoutMs });
  assert.equal(checkFencingParams(fencingParamsOf(fast.services)), null);
  await writeFile(configFile, `${base}\nprofile: fast\nservices:\n  fencingLeaseTtlMs: 600\nraft:\n  tickMs: 25\n`);
  const mixed = await loadNodeConfig(configFile);
  assert.equal(mixed.services.fencingLeaseTtlMs, 600);
  assert.equal(mixed.services.fencingRenewIntervalMs, p.fencingRenewIntervalMs);
  assert.equal(mixed.raft.tickMs, 25);
  assert.equal(mixed.raft.electionTicks, p.raft.electionTicks);
});

test("an unknown profile and fencing timings that cannot fence safely are refused with the field and the fix", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir);
  const base = await readFile(configFile, "utf8");
  await writeFile(configFile, `${base}\nprofile: fastest\n`);
  await assert.rejects(loadNodeConfig(configFile), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /config\.yaml:\d+:\d+: profile: Invalid value "fastest" — use one of: default, fast/);
    return true;
  });
  // The fast profile's 300 ms lease with a 200 ms stop leaves no room for two keep-alives.
  await writeFile(configFile, `${base}\nprofile: fast\nservices:\n  fencingStopTimeoutMs: 200\n`);
  await assert.rejects(loadNodeConfig(configFile), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /services\.fencingLeaseTtlMs 300, fencingRenewIntervalMs 50, fencingStopTimeoutMs 200 \(profile fast\): Fencing would start -?\d+ ms after a keep-alive/);
    return true;
  });
  // A heartbeat as slow as the election timeout, from the profile's election ticks and the file's heartbeat.
  await writeFile(configFile, `${base.replace(/^raft:\n(?: {2}.*\n)+/m, "")}\nprofile: fast\nraft:\n  heartbeatTicks: 10\n`);
  await assert.rejects(loadNodeConfig(configFile), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /raft\.heartbeatTicks 10 must be below raft\.electionTicks 10 \(profile fast\)/);
    return true;
  });
});
