// Elections: §5.2 (leader election), §5.4.1 (election restriction), thesis §9.6 (pre-vote),
// thesis §6.2 / §4.2.3 (check-quorum and leader stickiness).
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestNetwork, entriesWithTerms, TEST_CONFIG, seededRandomInt } from "./testing.js";
import { Raft } from "./core.js";
import { NO_NODE, nodeId, type Message, type RaftMutant, type VoteMessage } from "./types.js";

test("a 3-node cluster elects exactly one leader through election timeouts (§5.2)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  for (let i = 0; i < 30 && net.leader() === null; i++) net.tickAll();
  const leader = net.leader();
  assert.notEqual(leader, null);
  assert.equal(net.leaders().length, 1);
  for (const id of [1, 2, 3]) assert.equal(net.node(id).status().leader, leader);
});

test("a new leader is elected after the leader crashes (§5.2)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  const term = net.node(1).status().term;
  net.crash(1);
  for (let i = 0; i < 40 && net.leader() === null; i++) net.tickAll();
  const leader = net.leader();
  assert.ok(leader === 2 || leader === 3);
  assert.ok(net.node(leader).status().term > term);
});

test("a single-voter cluster elects itself and commits its proposals (§5.2)", () => {
  const net = new TestNetwork({ voters: [1] });
  net.elect(1);
  assert.deepEqual(net.propose(1, "x"), { ok: true, index: 2, term: 1 });
  assert.deepEqual(net.appliedTexts(1), ["x"]);
});

function voterWithLog(terms: number[], mutants: RaftMutant[] = []): Raft {
  const entries = entriesWithTerms(terms);
  return new Raft(
    { ...TEST_CONFIG, id: nodeId(1), randomInt: seededRandomInt(1), mutants: new Set(mutants) },
    { hardState: { term: 3, vote: NO_NODE, commit: 0 }, snapshot: null, entries, bootstrap: { voters: [1, 2, 3].map(nodeId), learners: [] } },
  );
}

function voteRequest(type: "vote" | "preVote", term: number, lastIndex: number, lastTerm: number): VoteMessage {
  return { type, from: nodeId(2), to: nodeId(1), term, lastIndex, lastTerm, transfer: false };
}

function responses(raft: Raft): Message[] {
  return raft.hasReady() ? [...raft.ready().messages] : [];
}

test("step() rejects a vote for a candidate whose log is behind (§5.4.1)", () => {
  const raft = voterWithLog([1, 2, 3]);
  raft.step(voteRequest("vote", 4, 5, 2));
  const [resp] = responses(raft);
  assert.equal(resp?.type, "voteResponse");
  assert.equal(resp.type === "voteResponse" && resp.reject, true);
  assert.equal(raft.status().vote, NO_NODE);
  assert.equal(raft.status().term, 4);
});

test("mutant vote-ignores-log grants that vote (and pre-vote) anyway", () => {
  const raft = voterWithLog([1, 2, 3], ["vote-ignores-log"]);
  raft.step(voteRequest("preVote", 4, 5, 2));
  raft.step(voteRequest("vote", 4, 5, 2));
  const msgs = responses(raft);
  assert.deepEqual(msgs.map((m) => m.type === "voteResponse" || m.type === "preVoteResponse" ? [m.type, m.reject] : null),
    [["preVoteResponse", false], ["voteResponse", false]]);
  assert.equal(raft.status().vote, 2);
});

test("step() grants one vote per term and the vote is in the hard state of the Ready that carries the response (§5.2)", () => {
  const raft = voterWithLog([1, 2]);
  raft.step(voteRequest("vote", 4, 2, 2));
  raft.step({ ...voteRequest("vote", 4, 9, 9), from: nodeId(3) });
  const rd = raft.ready();
  assert.deepEqual(rd.hardState, { term: 4, vote: 2, commit: 0 });
  assert.equal(rd.mustSync, true);
  assert.deepEqual(rd.messages.map((m) => [m.to, m.type === "voteResponse" && m.reject]), [[2, false], [3, true]]);
});

test("step() answers a pre-vote without changing term or vote (thesis §9.6)", () => {
  const raft = voterWithLog([1, 2]);
  raft.step(voteRequest("preVote", 4, 2, 2));
  const [resp] = responses(raft);
  assert.equal(resp?.type, "preVoteResponse");
  assert.equal(resp.term, 4);
  assert.equal(raft.status().term, 3);
  assert.equal(raft.status().vote, NO_NODE);
});

test("step() rejects a pre-vote from a stale term with its own term, and ignores a stale vote (§5.1)", () => {
  const raft = voterWithLog([1, 2]);
  raft.step(voteRequest("preVote", 2, 9, 9));
  raft.step(voteRequest("vote", 2, 9, 9));
  const msgs = responses(raft);
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0]?.type, "preVoteResponse");
  assert.equal(msgs[0]?.term, 3);
});

test("a granted pre-vote response at the next term does not bump a pre-candidate's term (thesis §9.6)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  const raft = net.node(1);
  raft.campaign();
  assert.equal(raft.status().role, "preCandidate");
  assert.equal(raft.status().term, 0);
  raft.step({ type: "preVoteResponse", from: nodeId(2), to: nodeId(1), term: 1, reject: false });
  // Winning the pre-vote starts the real election at term 1, exactly once.
  assert.equal(raft.status().role, "candidate");
  assert.equal(raft.status().term, 1);
});

test("a rejected pre-vote response at a higher term makes the pre-candidate follow that term", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  const raft = net.node(1);
  raft.campaign();
  raft.step({ type: "preVoteResponse", from: nodeId(2), to: nodeId(1), term: 7, reject: true });
  assert.equal(raft.status().role, "follower");
  assert.equal(raft.status().term, 7);
});

test("pre-vote keeps a partitioned node from inflating its term and disrupting the leader (thesis §9.6)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { checkQuorum: false } });
  net.elect(1);
  net.propose(1, "a");
  const term = net.node(1).status().term;
  net.isolate(3);
  net.tickAll(100);
  assert.equal(net.node(3).status().term, term);
  net.heal();
  net.propose(1, "b");
  net.tickAll(30);
  assert.equal(net.leader(), 1);
  assert.equal(net.node(1).status().term, term);
});

test("without pre-vote the same partition inflates the term and deposes the leader on rejoin (contrast)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { checkQuorum: false, preVote: false } });
  net.elect(1);
  const term = net.node(1).status().term;
  net.isolate(3);
  net.tickAll(100);
  assert.ok(net.node(3).status().term > term + 3);
  net.heal();
  net.tickAll(30);
  assert.ok(net.node(1).status().term > term);
});

test("check-quorum makes an isolated leader step down within an election timeout (thesis §6.2)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.isolate(1);
  net.tick(1, TEST_CONFIG.electionTicks * 2);
  assert.equal(net.node(1).status().role, "follower");
  net.tickAll(40);
  const leader = net.leader();
  assert.ok(leader === 2 || leader === 3);
});

test("followers ignore vote requests while they hear from a leader, unless it is a transfer (thesis §4.2.3)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  const term = net.node(1).status().term;
  const raft = net.node(2);
  raft.step({ type: "preVote", from: nodeId(3), to: nodeId(2), term: term + 1, lastIndex: 99, lastTerm: 99, transfer: false });
  raft.step({ type: "vote", from: nodeId(3), to: nodeId(2), term: term + 1, lastIndex: 99, lastTerm: 99, transfer: false });
  assert.equal(raft.status().term, term);
  assert.equal(raft.ready().messages.length, 0);
  raft.step({ type: "vote", from: nodeId(3), to: nodeId(2), term: term + 1, lastIndex: 99, lastTerm: 99, transfer: true });
  assert.equal(raft.status().term, term + 1);
  assert.equal(raft.status().vote, 3);
});

test("a restarted node keeps its vote and does not vote twice in a term (§5.2, Figure 2 persistent state)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  const two = net.node(2);
  two.step({ type: "vote", from: nodeId(1), to: nodeId(2), term: 5, lastIndex: 0, lastTerm: 0, transfer: false });
  net.processReady(nodeId(2));
  net.dropInFlight();
  net.crash(2);
  const again = net.restart(2);
  assert.equal(again.status().vote, 1);
  again.step({ type: "vote", from: nodeId(3), to: nodeId(2), term: 5, lastIndex: 0, lastTerm: 0, transfer: false });
  const msgs = again.ready().messages;
  assert.equal(msgs[0]?.type === "voteResponse" && msgs[0].reject, true);
});

test("a learner never campaigns (learners never vote in elections of their own)", () => {
  const net = new TestNetwork({ voters: [1, 2], learners: [3] });
  net.elect(1);
  net.crash(1);
  net.crash(2);
  net.tick(3, 200);
  assert.equal(net.node(3).status().role, "follower");
  assert.equal(net.node(3).status().term, 1);
});

test("a stale leader back from a partition learns the newer term from the reply to its heartbeat and steps down (§5.1, thesis §9.6)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { checkQuorum: false } });
  net.elect(1);
  net.isolate(1);
  net.elect(2);
  const term = net.node(2).status().term;
  net.heal();
  net.tick(1);
  assert.equal(net.node(1).status().role, "follower");
  assert.equal(net.node(1).status().term, term);
  assert.equal(net.leader(), 2);
});
