// The fault model's rendering into nftables rules (pure; runs without root). harness.test.ts
// proves the rules do what they say on real traffic.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NO_FAULTS, faultRules, faultRuleset, isHealthy, validateFaults } from "./faults.js";
import type { FaultState } from "./faults.js";

const ports = new Set(["h1", "h2", "h3", "c1"]);
const state = (s: Partial<FaultState>): FaultState => ({ ...NO_FAULTS, ...s });

test("a partition drops frames between every pair of groups, in both directions", () => {
  assert.deepEqual(faultRules(state({ partition: [["h1"], ["h2", "h3"]] })), [
    'iifname "h1" oifname { "h2", "h3" } drop',
    'iifname { "h2", "h3" } oifname "h1" drop',
  ]);
});

test("a partition with one group drops nothing", () => {
  assert.deepEqual(faultRules(state({ partition: [["h1", "h2"]] })), []);
});

test("a one-way cut drops only IP from `from` to `to`, letting ARP through", () => {
  assert.deepEqual(faultRules(state({ oneWay: [{ from: ["h1"], to: ["h2"] }] })), ['iifname "h1" oifname "h2" ether type != arp drop']);
});

test("loss of 0 % adds no rule, 100 % drops all, between draws at random, both directions", () => {
  assert.deepEqual(faultRules(state({ lossPercent: new Map([["h1", 0]]) })), []);
  assert.deepEqual(faultRules(state({ lossPercent: new Map([["h1", 100]]) })), ['iifname "h1" drop', 'oifname "h1" drop']);
  assert.deepEqual(faultRules(state({ lossPercent: new Map([["c1", 30]]) })), [
    'iifname "c1" numgen random mod 100 < 30 drop',
    'oifname "c1" numgen random mod 100 < 30 drop',
  ]);
  assert.equal(isHealthy(state({ lossPercent: new Map([["h1", 0]]) })), true);
  assert.equal(isHealthy(state({ lossPercent: new Map([["h1", 1]]) })), false);
});

test("the ruleset replaces the table in one transaction", () => {
  const text = faultRuleset("phalanx_faults", state({ partition: [["h1"], ["h2"]] }));
  const lines = text.split("\n");
  assert.equal(lines[0], "add table bridge phalanx_faults");
  assert.equal(lines[1], "delete table bridge phalanx_faults");
  assert.ok(lines.includes("    type filter hook forward priority 0; policy accept;"));
  assert.ok(lines.includes('    iifname "h1" oifname "h2" drop'));
});

test("validateFaults refuses unknown nodes, unsafe names, a node on two sides and bad percents", () => {
  assert.throws(() => validateFaults(state({ partition: [["h1"], ["h9"]] }), ports), /no node named "h9"/);
  assert.throws(() => validateFaults(state({ oneWay: [{ from: ['h1" accept'], to: ["h2"] }] }), ports), /not a valid node name/);
  assert.throws(() => validateFaults(state({ partition: [["h1"], ["h1", "h2"]] }), ports), /"h1" is in two groups/);
  assert.throws(() => validateFaults(state({ lossPercent: new Map([["h1", 101]]) }), ports), /integer percent from 0 to 100/);
  assert.throws(() => validateFaults(state({ lossPercent: new Map([["h1", 2.5]]) }), ports), /integer percent/);
  validateFaults(state({ partition: [["h1"], ["h2"]], oneWay: [{ from: ["c1"], to: ["h3"] }], lossPercent: new Map([["h1", 50]]) }), ports);
});
