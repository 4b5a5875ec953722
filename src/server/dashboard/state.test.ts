// The node table's clock-skew cell and the overview's cluster VIP, as the dashboard state builds them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configuredVip, nodeSkew } from "./state.js";

const part = { skews: { "1": 0, "2": 2000, "3": -40 } };

test("nodeSkew() takes the leader's measurement and highlights it only beyond the threshold", () => {
  assert.deepEqual(nodeSkew({ node: 2, self: 1, part, ownMs: null, thresholdMs: 500 }), { clockSkewMs: 2000, clockSkewed: true });
  assert.deepEqual(nodeSkew({ node: 3, self: 1, part, ownMs: null, thresholdMs: 500 }), { clockSkewMs: -40, clockSkewed: false });
  assert.deepEqual(nodeSkew({ node: 3, self: 1, part, ownMs: null, thresholdMs: 30 }), { clockSkewMs: -40, clockSkewed: true }, "behind counts as much as ahead");
  assert.deepEqual(nodeSkew({ node: 2, self: 1, part, ownMs: null, thresholdMs: 2000 }), { clockSkewMs: 2000, clockSkewed: false }, "at the threshold is not beyond it");
});

test("nodeSkew() falls back to this node's own skew, and is unknown for other nodes without the leader's part", () => {
  assert.deepEqual(nodeSkew({ node: 2, self: 2, part: null, ownMs: 900, thresholdMs: 500 }), { clockSkewMs: 900, clockSkewed: true });
  assert.deepEqual(nodeSkew({ node: 3, self: 2, part: null, ownMs: 900, thresholdMs: 500 }), { clockSkewMs: null, clockSkewed: false });
  // A leader of an older version sends no skews at all.
  assert.deepEqual(nodeSkew({ node: 3, self: 2, part: {}, ownMs: 0, thresholdMs: 500 }), { clockSkewMs: null, clockSkewed: false });
});

test("configuredVip() is null without a cluster VIP, else the address, holder and fencing token", () => {
  assert.equal(configuredVip({ address: null, holder: null, holderName: null, token: null }), null);
  const held = { address: "10.0.0.100/24", holder: 2, holderName: "n2", token: 41 };
  assert.deepEqual(configuredVip(held), held);
  const pending = { address: "10.0.0.100/24", holder: null, holderName: null, token: null };
  assert.deepEqual(configuredVip(pending), pending, "configured but held by nobody is still shown");
});
