// The cluster VIP line `phalanx status` prints under its member table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterVipLine } from "./status.js";

test("clusterVipLine names the holder and its token, says when nobody holds it, and prints nothing without a cluster VIP", () => {
  assert.equal(clusterVipLine({ address: "10.1.0.100/24", holder: 2, holderName: "n2", token: 1234 }), "Cluster VIP 10.1.0.100/24: on node 2 (n2), fencing token 1234");
  assert.equal(clusterVipLine({ address: "10.1.0.100/24", holder: null, holderName: null, token: null }), "Cluster VIP 10.1.0.100/24: held by no node (no live node may take it yet)");
  assert.equal(clusterVipLine({ address: null, holder: null, holderName: null, token: null }), null);
  assert.equal(clusterVipLine(null), null, "a node of an older version answers without clusterVip");
});
