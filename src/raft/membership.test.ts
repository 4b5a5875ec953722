// Membership (Raft thesis §4.1 single-server changes, §4.2.2 removing the leader, §4.2.1 learners
// catching up) with the fix from the raft-dev "bug in single-server membership changes" thread:
// a leader commits an entry of its term before proposing a change.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestNetwork } from "./testing.js";
import { nodeId, type ConfChange, type NodeId, type RaftMutant } from "./types.js";
import type { ConfChangeResult } from "./config.js";

function cc(type: ConfChange["type"], id: number): ConfChange {
  return { type, nodeId: nodeId(id) };
}

function voters(net: TestNetwork, id: number): readonly NodeId[] {
  return net.node(id).status().confState.voters;
}

test("a learner receives the log but is never counted for commit (thesis §4.2.1)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.propose(1, "a");
  net.addNode(nodeId(4), null);
  assert.equal(net.node(1).proposeConfChange(cc("addLearner", 4)).ok, true);
  net.stabilize();
  net.tickAll(2);
  assert.deepEqual(net.appliedTexts(4), ["a"]);
  assert.deepEqual(net.node(4).status().confState, { voters: [1, 2, 3], learners: [4] });
  // With only the learner reachable, nothing commits.
  net.cut(1, 2);
  net.cut(1, 3);
  const r = net.node(1).propose(new TextEncoder().encode("b"));
  net.stabilize();
  assert.equal(r.ok, true);
  assert.equal(net.node(4).status().lastIndex, r.ok ? r.index : -1);
  assert.ok(net.node(1).status().commit < (r.ok ? r.index : 0));
});

test("a candidate does not count a learner's vote", () => {
  const net = new TestNetwork({ voters: [1, 2], learners: [3], config: { preVote: false } });
  net.crash(2);
  net.node(1).campaign();
  net.stabilize();
  assert.ok(net.delivered.every((m) => m.type !== "vote" || m.to !== 3));
  net.node(1).step({ type: "voteResponse", from: nodeId(3), to: nodeId(1), term: net.node(1).status().term, reject: false });
  assert.equal(net.node(1).status().role, "candidate");
});

test("members are added and removed one at a time; a second change waits for the first to commit (thesis §4.1)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.addNode(nodeId(4), null);
  assert.equal(net.node(1).proposeConfChange(cc("addVoter", 4)).ok, true);
  assert.deepEqual(net.node(1).proposeConfChange(cc("removeNode", 3)), { ok: false, code: "config_change_pending" });
  assert.ok(net.node(1).status().pendingConfIndex > 0);
  net.stabilize();
  assert.equal(net.node(1).status().pendingConfIndex, 0);
  for (const id of [1, 2, 3, 4]) assert.deepEqual(voters(net, id), [1, 2, 3, 4]);
  assert.equal(net.node(1).proposeConfChange(cc("removeNode", 3)).ok, true);
  net.stabilize();
  for (const id of [1, 2, 4]) assert.deepEqual(voters(net, id), [1, 2, 4]);
  net.crash(3);
  net.crash(2);
  // 1 and 4 are a majority of {1, 2, 4}.
  const r = net.propose(1, "after");
  net.tickAll(1);
  assert.equal(r.ok, true);
  assert.deepEqual(net.appliedTexts(4), ["after"]);
});

test("a new leader cannot propose a config change before it commits an entry of its term (thesis §4.1 fix)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.dropIf = (m) => m.type === "appendResponse";
  net.elect(1);
  assert.deepEqual(net.node(1).proposeConfChange(cc("addLearner", 4)), { ok: false, code: "config_change_pending" });
  net.dropIf = null;
  net.tickAll(1);
  assert.equal(net.node(1).proposeConfChange(cc("addLearner", 4)).ok, true);
});

test("a config entry takes effect when appended and is rolled back when truncated (thesis §4.1)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3, 4, 5], config: { preVote: false, checkQuorum: false } });
  net.elect(1);
  // The change reaches node 2 only and never commits.
  for (const id of [3, 4, 5]) net.cut(1, id);
  net.dropIf = (m) => m.type === "appendResponse";
  assert.equal(net.node(1).proposeConfChange(cc("addVoter", 6)).ok, true);
  assert.deepEqual(voters(net, 1), [1, 2, 3, 4, 5, 6]);
  net.stabilize();
  assert.deepEqual(voters(net, 2), [1, 2, 3, 4, 5, 6]);
  assert.equal(net.node(2).status().pendingConfIndex, net.node(2).status().lastIndex);
  net.crash(1);
  net.dropIf = null;
  net.heal();
  net.cut(2, 3); // 3 wins with 4 and 5; its no-op then truncates 2's config entry.
  net.elect(3);
  net.heal();
  net.tickAll(2);
  assert.deepEqual(voters(net, 2), [1, 2, 3, 4, 5]);
  assert.equal(net.node(2).status().pendingConfIndex, 0);
});

test("a leader that removes itself steps down once the change commits and the rest elect a leader (thesis §4.2.2)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  assert.equal(net.node(1).proposeConfChange(cc("removeNode", 1)).ok, true);
  // Until the change commits, the removed leader still replicates it but accepts nothing else.
  assert.deepEqual(net.node(1).propose(new Uint8Array([1])), { ok: false, code: "not_leader", leaderHint: 0 });
  net.stabilize();
  assert.equal(net.node(1).status().role, "follower");
  net.tickAll(30);
  const leader = net.leader();
  assert.ok(leader === 2 || leader === 3);
  for (const id of [2, 3]) assert.deepEqual(voters(net, id), [2, 3]);
  net.tick(1, 100);
  assert.notEqual(net.node(1).status().role, "candidate");
});

test("proposeConfChange() refuses to remove the last voter", () => {
  const net = new TestNetwork({ voters: [1] });
  net.elect(1);
  assert.deepEqual(net.node(1).proposeConfChange(cc("removeNode", 1)), { ok: false, code: "invalid_conf_change" });
});

test("a learner promoted to voter counts from then on (thesis §4.2.1)", () => {
  const net = new TestNetwork({ voters: [1, 2], learners: [3] });
  net.elect(1);
  assert.equal(net.node(1).proposeConfChange(cc("addVoter", 3)).ok, true);
  net.stabilize();
  net.crash(2);
  const r = net.propose(1, "with 3");
  assert.equal(r.ok, true);
  net.tickAll(1);
  assert.deepEqual(net.appliedTexts(3), ["with 3"]);
});

test("a leader that lost leadership before its own removal committed campaigns to finish it (thesis §4.2.2)", () => {
  const net = new TestNetwork({ voters: [1, 2] });
  net.elect(1);
  net.isolate(1);
  assert.equal(net.node(1).proposeConfChange(cc("removeNode", 1)).ok, true);
  // Check-quorum deposes it: its only voter, 2, is unreachable.
  net.tick(1, 20);
  assert.equal(net.node(1).status().role, "follower");
  net.heal();
  // 2 cannot win alone (1's log is newer and 1 counts in 2's configuration); 1 must campaign.
  for (let i = 0; i < 100 && !(net.leader() === 2 && net.node(2).status().pendingConfIndex === 0); i++) net.tickAll();
  assert.equal(net.leader(), 2);
  assert.deepEqual(voters(net, 2), [2]);
  assert.deepEqual(voters(net, 1), [2]);
});

test("a new leader whose commit index lags behind committed config entries refuses changes until its no-op commits (thesis §4.1, etcd pendingConfIndex)", () => {
  // The shape of simulator seed 2055804: an old leader committed two changes; node 2 holds both
  // entries but restarted with an older commit index (the hard state carrying it was lost).
  const net = new TestNetwork({ voters: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
  net.elect(1);
  net.addNode(nodeId(4), null);
  assert.equal(net.node(1).proposeConfChange(cc("addLearner", 4)).ok, true);
  net.stabilize();
  const added = net.node(1).status().lastIndex;
  assert.equal(net.node(1).proposeConfChange(cc("removeNode", 4)).ok, true);
  net.stabilize();
  net.tickAll(1);
  assert.ok(net.node(2).status().commit >= net.node(2).status().lastIndex, "node 2 learned both changes committed");
  net.crash(2);
  const s2 = net.storage.get(nodeId(2));
  assert.ok(s2 !== undefined);
  s2.hardState = { ...s2.hardState, commit: added - 1 };
  net.restart(2);
  net.crash(1);
  net.dropIf = (m) => m.type === "appendResponse";
  net.elect(2);
  const st = net.node(2).status();
  assert.ok(st.commit < added && st.pendingConfIndex > added, `commit ${st.commit}, pending ${st.pendingConfIndex}`);
  assert.deepEqual(net.node(2).proposeConfChange(cc("addLearner", 5)), { ok: false, code: "config_change_pending" });
  net.dropIf = null;
  net.tickAll(1);
  assert.equal(net.node(2).status().pendingConfIndex, 0);
  assert.equal(net.node(2).proposeConfChange(cc("addLearner", 5)).ok, true);
});

test("the conf-change-while-pending mutant appends a second change while the first is pending (simulator only)", () => {
  const second = (mutants: RaftMutant[]): ConfChangeResult => {
    const net = new TestNetwork({ voters: [1, 2, 3], mutants });
    net.elect(1);
    assert.equal(net.node(1).proposeConfChange(cc("addLearner", 4)).ok, true);
    return net.node(1).proposeConfChange(cc("addLearner", 5));
  };
  assert.deepEqual(second([]), { ok: false, code: "config_change_pending" });
  assert.equal(second(["conf-change-while-pending"]).ok, true);
});

test("the conf-change-before-term-commit mutant appends a change before the new leader's no-op commits (simulator only)", () => {
  const first = (mutants: RaftMutant[]): ConfChangeResult => {
    const net = new TestNetwork({ voters: [1, 2, 3], mutants });
    net.dropIf = (m) => m.type === "appendResponse";
    net.elect(1);
    return net.node(1).proposeConfChange(cc("addLearner", 4));
  };
  assert.deepEqual(first([]), { ok: false, code: "config_change_pending" });
  assert.equal(first(["conf-change-before-term-commit"]).ok, true);
});
