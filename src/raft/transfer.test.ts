// Leadership transfer (Raft thesis §3.10): the leader stops accepting proposals, brings the target
// up to date, sends it timeoutNow; the target campaigns at once; the transfer aborts after an
// election timeout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestNetwork, TEST_CONFIG } from "./testing.js";
import { nodeId } from "./types.js";

test("leadership moves to an up-to-date target at the next term (thesis §3.10)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.propose(1, "a");
  const term = net.node(1).status().term;
  assert.deepEqual(net.node(1).transferLeadership(nodeId(2)), { ok: true });
  net.stabilize();
  assert.equal(net.leader(), 2);
  assert.equal(net.node(2).status().term, term + 1);
  assert.equal(net.node(1).status().role, "follower");
  assert.equal(net.propose(2, "b").ok, true);
  net.tickAll(1);
  assert.deepEqual(net.appliedTexts(1), ["a", "b"]);
});

test("the leader refuses proposals during a transfer and catches a lagging target up first (thesis §3.10)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.isolate(3);
  for (let i = 0; i < 5; i++) net.propose(1, `v${i}`);
  net.heal();
  net.node(1).transferLeadership(nodeId(3));
  assert.deepEqual(net.node(1).propose(new Uint8Array([1])), { ok: false, code: "transfer_in_progress" });
  net.stabilize();
  assert.equal(net.leader(), 3);
  net.tickAll(1);
  assert.deepEqual(net.appliedTexts(3), ["v0", "v1", "v2", "v3", "v4"]);
});

test("a transfer to an unreachable target aborts after an election timeout (thesis §3.10)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.isolate(3);
  net.node(1).transferLeadership(nodeId(3));
  net.tick(1, TEST_CONFIG.electionTicks - 1);
  assert.equal(net.node(1).propose(new Uint8Array([1])).ok, false);
  net.tick(1);
  assert.equal(net.node(1).status().leadTransferee, 0);
  assert.equal(net.node(1).propose(new Uint8Array([1])).ok, true);
  assert.equal(net.leader(), 1);
});

test("a transfer bypasses the followers' leader stickiness (thesis §3.10, §4.2.3)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { checkQuorum: true } });
  net.elect(1);
  net.tickAll(1);
  net.node(1).transferLeadership(nodeId(3));
  net.stabilize();
  assert.equal(net.leader(), 3);
});

test("transferLeadership() refuses on a follower and for a learner", () => {
  const net = new TestNetwork({ voters: [1, 2], learners: [3] });
  net.elect(1);
  assert.deepEqual(net.node(2).transferLeadership(nodeId(1)), { ok: false, code: "not_leader", leaderHint: 1 });
  assert.deepEqual(net.node(1).transferLeadership(nodeId(3)), { ok: false, code: "not_a_voter" });
});
