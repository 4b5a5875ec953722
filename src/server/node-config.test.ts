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
import { loadNodeConfig } from "./node-config.js";

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
  assert.deepEqual(config.services, { enabled: true, portRange: { from: 20_000, to: 29_999 }, logDir: join(dir, "logs"), fencingLeaseTtlMs: 1000, fencingStopTimeoutMs: 300 });
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
