import { test } from "node:test";
import assert from "node:assert/strict";
import { clockSkewWarnings, clusterVipLine, renderStatus } from "./status.js";
import type { MemberRow } from "./status.js";

const row = (id: number, clockSkewMs: number | null, clockSkewThresholdMs: number | null = 500): MemberRow => ({
  id, name: `n${id}`, address: `127.0.0.1:${2379 + id}`, role: id === 1 ? "leader" : "follower", state: "running", term: 3, commit: 10, applied: 10, lag: 0,
  uptimeMs: 60_000, lastHeartbeatMs: 40, health: "healthy", services: "up", instances: 1, clockSkewMs, clockSkewThresholdMs,
});

test("clockSkewWarnings() warns of each node past its threshold, ahead or behind, and of no other", () => {
  const warnings = clockSkewWarnings([row(1, 0), row(2, 2040), row(3, -700), row(4, 499), row(5, null), row(6, 800, 1000)]);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^WARNING: the clock of node 2 \(n2\) is 2\.0s ahead of the leader's \(threshold 500 ms\): check NTP on that host/);
  assert.match(warnings[1]!, /^WARNING: the clock of node 3 \(n3\) is 700ms behind the leader's/);
});

test("renderStatus() adds a CLOCK SKEW column (- when unknown) and returns the warnings", () => {
  let headers: string[] = [];
  let cells: string[][] = [];
  const warnings = renderStatus([row(1, 0), row(2, 1500), row(3, null)], (h, r) => { headers = h; cells = r; });
  assert.equal(headers.at(-1), "CLOCK SKEW");
  assert.deepEqual(cells.map((c) => c.at(-1)), ["+0ms", "+1.5s", "-"]);
  assert.equal(warnings.length, 1);
});

test("clusterVipLine names the holder and its token, says when nobody holds it, and prints nothing without a cluster VIP", () => {
  assert.equal(clusterVipLine({ address: "10.1.0.100/24", holder: 2, holderName: "n2", token: 1234 }), "Cluster VIP 10.1.0.100/24: on node 2 (n2), fencing token 1234");
  assert.equal(clusterVipLine({ address: "10.1.0.100/24", holder: null, holderName: null, token: null }), "Cluster VIP 10.1.0.100/24: held by no node (no live node may take it yet)");
  assert.equal(clusterVipLine({ address: null, holder: null, holderName: null, token: null }), null);
  assert.equal(clusterVipLine(null), null, "a node of an older version answers without clusterVip");
});
