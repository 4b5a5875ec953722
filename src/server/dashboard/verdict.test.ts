import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterVerdict, quorumOf, type VerdictInput } from "./verdict.js";

const HEALTHY: VerdictInput = { leader: 1, voters: 3, votersReachable: 3, nodesDown: [], servicesDegraded: [], servicesDown: [], alertsFiring: 0 };

test("quorumOf() is a strict majority", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(quorumOf), [1, 2, 2, 3, 3]);
});

test("clusterVerdict() is ok only when nothing is wrong", () => {
  const v = clusterVerdict(HEALTHY);
  assert.equal(v.level, "ok");
  assert.deepEqual(v.reasons, []);
});

test("clusterVerdict() puts critical findings before warnings, and says the node lost the leader", () => {
  const v = clusterVerdict({ ...HEALTHY, leader: 0, votersReachable: 1, nodesDown: ["n2", "n3"], alertsFiring: 2 });
  assert.equal(v.level, "critical");
  assert.match(v.summary, /lost the leader/);
  assert.deepEqual(v.reasons.map((r) => r.split(":")[0]), ["this node has lost the leader", "quorum lost", "nodes down", "2 alerts firing"]);
});

test("clusterVerdict(): a node down or a degraded service is a warning; a service with nothing healthy is critical", () => {
  assert.equal(clusterVerdict({ ...HEALTHY, nodesDown: ["n3"] }).level, "warning");
  assert.equal(clusterVerdict({ ...HEALTHY, servicesDegraded: ["web"] }).level, "warning");
  const down = clusterVerdict({ ...HEALTHY, servicesDown: ["db"] });
  assert.equal(down.level, "critical");
  assert.match(down.summary, /no healthy instance: db/);
  // Two of three voters still make a quorum.
  assert.equal(clusterVerdict({ ...HEALTHY, votersReachable: 2 }).level, "ok");
});
