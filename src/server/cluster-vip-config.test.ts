// A node's clusterVip at start: capability parsing and which listeners answer on the VIP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { writeApiNodeFiles } from "../testing/api-testing.js";
import { answersOn, CAP_NET_ADMIN, CAP_NET_RAW, clusterVipOfNode, hasEffectiveCapability } from "./cluster-vip-config.js";
import { loadNodeConfig } from "./node-config.js";

test("hasEffectiveCapability reads CapEff from /proc/self/status text: root's full set, an unprivileged empty set, NET_ADMIN alone; null without the line", () => {
  const status = (capEff: string) => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;
  assert.equal(hasEffectiveCapability(status("000001ffffffffff"), CAP_NET_ADMIN), true);
  assert.equal(hasEffectiveCapability(status("0000000000000000"), CAP_NET_ADMIN), false);
  assert.equal(hasEffectiveCapability(status("0000000000001000"), CAP_NET_ADMIN), true, "bit 12 alone");
  assert.equal(hasEffectiveCapability(status("0000000000001000"), CAP_NET_RAW), false);
  assert.equal(hasEffectiveCapability("Name:\tnode\n", CAP_NET_ADMIN), null);
});

test("answersOn: the wildcards and the VIP itself answer on it; another address does not", () => {
  assert.equal(answersOn("0.0.0.0", "10.1.0.100"), true);
  assert.equal(answersOn("::", "10.1.0.100"), true);
  assert.equal(answersOn("10.1.0.100", "10.1.0.100"), true);
  assert.equal(answersOn("10.1.0.11", "10.1.0.100"), false);
  assert.equal(answersOn("127.0.0.1", "10.1.0.100"), false);
});

test("clusterVipOfNode: without CAP_NET_ADMIN the node does not take part (null, an error naming the fix); with it the VIP, and a warning for a listener off the wildcard", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-cvip-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { configFile } = await writeApiNodeFiles(dir);
  await writeFile(configFile, `${await readFile(configFile, "utf8")}clusterVip:\n  address: 10.1.0.100/24\n  interface: eth0\n`);
  const config = await loadNodeConfig(configFile);
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  const capEff = (hex: string) => () => `CapEff:\t${hex}\n`;

  assert.equal(clusterVipOfNode(config, log, capEff("0000000000000000")), null);
  assert.ok(lines.some((l) => l.level === 50 && /lacks CAP_NET_ADMIN[^]*will not hold the cluster VIP[^]*AmbientCapabilities/.test(l.msg)), JSON.stringify(lines));

  lines.length = 0;
  const vip = clusterVipOfNode(config, log, capEff("000001ffffffffff"));
  assert.equal(vip?.cidr, "10.1.0.100/24");
  assert.ok(!lines.some((l) => l.level >= 50));
  // The test files' client API listens on 127.0.0.1: it cannot answer on the VIP.
  assert.equal(config.node.clientListen.host, "127.0.0.1");
  assert.ok(lines.some((l) => l.level === 40 && /node\.clientListen listens on 127\.0\.0\.1 only/.test(l.msg)), JSON.stringify(lines));
  assert.equal(clusterVipOfNode({ ...config, clusterVip: undefined }, log, capEff("0")), null);
});
