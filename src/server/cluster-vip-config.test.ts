// A node's clusterVip at start: capability parsing and which listeners answer on the VIP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { answersOn, CAP_NET_ADMIN, CAP_NET_RAW, hasEffectiveCapability } from "./cluster-vip-config.js";

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
