// Log replication: §5.3 (AppendEntries, log matching, catch-up), fast backtracking (§5.3 last
// paragraphs; etcd-io/raft findConflictByTerm), §5.4.2 / Figure 8 (commit only current-term
// entries by counting), pipelining and batching bounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestNetwork, entriesWithTerms } from "./testing.js";
import { NO_NODE, nodeId, type Entry, type Message } from "./types.js";

function storageWith(terms: number[], term: number, commit: number): { hardState: { term: number; vote: typeof NO_NODE; commit: number }; snapshot: null; entries: Entry[] } {
  return { hardState: { term, vote: NO_NODE, commit }, snapshot: null, entries: entriesWithTerms(terms) };
}

function repeat(term: number, n: number): number[] {
  return Array.from({ length: n }, () => term);
}

function rejectsTo(net: TestNetwork, to: number): number {
  return net.delivered.filter((m) => m.type === "appendResponse" && m.reject && m.from === to).length;
}

test("the leader replicates proposals and every node applies the same entries in order (§5.3)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  for (const t of ["a", "b", "c"]) assert.equal(net.propose(1, t).ok, true);
  net.tickAll(2);
  for (const id of [1, 2, 3]) assert.deepEqual(net.appliedTexts(id), ["a", "b", "c"]);
});

test("propose() on a follower answers not_leader with the leader's id", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  assert.deepEqual(net.node(2).propose(new Uint8Array([1])), { ok: false, code: "not_leader", leaderHint: 1 });
});

test("a lagging follower catches up after a partition heals (§5.3)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { maxEntriesPerAppend: 4 } });
  net.elect(1);
  net.isolate(3);
  for (let i = 0; i < 50; i++) net.propose(1, `v${i}`);
  assert.equal(net.appliedTexts(3).length, 0);
  net.heal();
  net.tickAll(3);
  assert.equal(net.appliedTexts(3).length, 50);
  assert.deepEqual(net.appliedTexts(3), net.appliedTexts(1));
  // Batching bound: no append carried more than maxEntriesPerAppend entries.
  assert.ok(net.delivered.every((m) => m.type !== "append" || m.entries.length <= 4));
});

test("fast backtracking skips a divergent term in one round trip, not one per entry (§5.3)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  const conf = { voters: [1, 2, 3].map(nodeId), learners: [] };
  net.addNode(nodeId(1), conf, storageWith([...repeat(1, 10), ...repeat(3, 100)], 3, 10));
  net.addNode(nodeId(2), conf, storageWith([...repeat(1, 10), ...repeat(2, 200)], 2, 10));
  net.addNode(nodeId(3), conf, storageWith([...repeat(1, 10), ...repeat(3, 100)], 3, 10));
  net.elect(1);
  net.tickAll(3);
  assert.ok(rejectsTo(net, 2) <= 2, `follower 2 rejected ${rejectsTo(net, 2)} times`);
  assert.equal(net.node(2).status().lastIndex, net.node(1).status().lastIndex);
  assert.deepEqual(net.node(2).entries(1, 111).map((e) => e.term), net.node(1).entries(1, 111).map((e) => e.term));
});

test("fast backtracking over several divergent terms takes O(terms) round trips (§5.3)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  const conf = { voters: [1, 2, 3].map(nodeId), learners: [] };
  const leaderLog = [...repeat(1, 5), ...repeat(2, 30), ...repeat(4, 30), ...repeat(6, 30)];
  net.addNode(nodeId(1), conf, storageWith(leaderLog, 6, 5));
  net.addNode(nodeId(2), conf, storageWith([...repeat(1, 5), ...repeat(3, 100), ...repeat(5, 100)], 5, 5));
  net.addNode(nodeId(3), conf, storageWith(leaderLog, 6, 5));
  net.elect(1);
  net.tickAll(3);
  const rejects = rejectsTo(net, 2);
  assert.ok(rejects <= 4, `follower 2 rejected ${rejects} times for a 200-entry divergence`);
  const last = net.node(1).status().lastIndex;
  assert.equal(net.node(2).status().lastIndex, last);
  assert.equal(net.node(2).status().commit, last);
});

/**
 * Figure 8 of the Raft paper: S1 (term 5) has an entry of term 2 at index 2 replicated on S1, S3,
 * S4, a majority, while S5 holds a conflicting entry of term 3. S1 must not commit index 2 by
 * counting: S5 can still win an election (S2, S3, S4 vote for its newer last term) and overwrite it.
 */
function figure8(mutant: boolean): { net: TestNetwork; commitOnS1: number } {
  const net = new TestNetwork({
    voters: [1, 2, 3, 4, 5], config: { maxEntriesPerAppend: 1, preVote: false, checkQuorum: false }, mutants: mutant ? ["commit-old-term"] : [],
  });
  const conf = { voters: [1, 2, 3, 4, 5].map(nodeId), learners: [] };
  net.addNode(nodeId(1), conf, storageWith([1, 2], 4, 1));
  net.addNode(nodeId(2), conf, storageWith([1, 2], 4, 1));
  net.addNode(nodeId(3), conf, storageWith([1], 4, 1));
  net.addNode(nodeId(4), conf, storageWith([1], 4, 1));
  net.addNode(nodeId(5), conf, storageWith([1, 3], 4, 1));
  // S1's no-op (index 3) reaches nobody, except inside the first probe to S3 and S4, which they
  // reject because they lack index 2; the leader then sends index 2 alone.
  const probed = new Set<number>();
  net.dropIf = (m: Message): boolean => {
    if (m.type !== "append" || !m.entries.some((e) => e.index === 3)) return false;
    if ((m.to === 3 || m.to === 4) && !probed.has(m.to)) {
      probed.add(m.to);
      return false;
    }
    return true;
  };
  net.elect(1);
  assert.equal(net.node(1).status().term, 5);
  assert.deepEqual([3, 4].map((id) => net.node(id).entries(2, 2)[0]?.term), [2, 2]);
  return { net, commitOnS1: net.node(1).status().commit };
}

test("a leader does not commit an entry of an earlier term by counting replicas (§5.4.2, Figure 8)", () => {
  const { net, commitOnS1 } = figure8(false);
  assert.equal(commitOnS1, 1);
  // S1 crashes; S5 wins with its newer last term and overwrites index 2 — which was never committed.
  net.crash(1);
  net.dropIf = null;
  net.elect(5);
  net.tickAll(2);
  for (const id of [2, 3, 4, 5]) assert.equal(net.node(id).entries(2, 2)[0]?.term, 3);
  assert.equal(net.applied.get(nodeId(1))?.get(2), undefined);
});

test("mutant commit-old-term commits it, and the entry S1 applied is then lost (Figure 8 bug)", () => {
  const { net, commitOnS1 } = figure8(true);
  assert.equal(commitOnS1, 2);
  assert.equal(net.applied.get(nodeId(1))?.get(2)?.term, 2);
  net.crash(1);
  net.dropIf = null;
  net.elect(5);
  net.tickAll(2);
  // A different entry is committed at index 2: S1 applied term 2, the rest apply term 3.
  assert.equal(net.applied.get(nodeId(5))?.get(2)?.term, 3);
  assert.ok(net.node(5).status().commit >= 2);
});

test("pipelining: at most maxInflightAppends appends are unacknowledged per follower", () => {
  const net = new TestNetwork({ voters: [1, 2], config: { maxInflightAppends: 3, maxEntriesPerAppend: 1 } });
  net.elect(1);
  // Responses from 2 are lost: the leader must stop after 3 appends in flight.
  net.dropIf = (m) => m.type === "appendResponse" && m.from === 2;
  const before = net.delivered.length;
  for (let i = 0; i < 10; i++) net.node(1).propose(new TextEncoder().encode(`p${i}`));
  net.stabilize();
  const appends = net.delivered.slice(before).filter((m) => m.type === "append" && m.to === 2 && m.entries.length > 0);
  assert.equal(appends.length, 3);
  net.dropIf = null;
  net.tickAll(5);
  assert.equal(net.appliedTexts(2).length, 10);
});

test("propose() answers overloaded beyond maxUncommittedEntries", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { maxUncommittedEntries: 3 } });
  net.elect(1);
  net.isolate(1);
  const results = [0, 1, 2, 3].map((i) => net.node(1).propose(new Uint8Array([i])));
  assert.deepEqual(results.map((r) => r.ok || r.code), [true, true, true, "overloaded"]);
});

const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(7);

test("propose() answers overloaded once the uncommitted payload would pass maxUncommittedBytes; a commit makes room (etcd MaxUncommittedEntriesSize)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { maxUncommittedBytes: 10 } });
  net.elect(1);
  net.isolate(1);
  const leader = net.node(1);
  const results = [4, 4, 4, 0, 2].map((n) => leader.propose(bytes(n)));
  // 4 + 4 fit, a third 4 would make 12; an empty entry always fits; 2 more makes exactly 10.
  assert.deepEqual(results.map((r) => r.ok || r.code), [true, true, "overloaded", true, true]);
  assert.equal(leader.status().uncommittedBytes, 10);
  assert.deepEqual(leader.proposeConfChange({ type: "addLearner", nodeId: nodeId(4) }).ok || "refused", "refused");
  net.heal();
  net.tickAll(2);
  assert.equal(leader.status().commit, leader.status().lastIndex);
  assert.equal(leader.status().uncommittedBytes, 0);
  assert.equal(leader.propose(bytes(10)).ok, true);
});

test("one proposal larger than maxUncommittedBytes is admitted while nothing is uncommitted", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { maxUncommittedBytes: 10 } });
  net.elect(1);
  net.isolate(1);
  assert.equal(net.node(1).propose(bytes(100)).ok, true);
  assert.deepEqual(net.node(1).propose(bytes(1)), { ok: false, code: "overloaded" });
});

test("maxUncommittedBytes 0 means no limit", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { maxUncommittedBytes: 0 } });
  net.elect(1);
  net.isolate(1);
  for (let i = 0; i < 5; i++) assert.equal(net.node(1).propose(bytes(1 << 20)).ok, true);
  assert.equal(net.node(1).status().uncommittedBytes, 5 << 20);
});

test("a leader counts only the bytes it proposed in its term: elected over an uncommitted tail of an earlier term, it starts from 0", () => {
  const net = new TestNetwork({ voters: [1, 2, 3], config: { maxUncommittedBytes: 10, preVote: false, checkQuorum: false } });
  net.elect(1);
  net.isolate(1);
  assert.equal(net.node(1).propose(bytes(9)).ok, true);
  net.stabilize();
  // Node 2 campaigns within reach of node 1 only: node 1 steps down (keeping its log) and refuses.
  net.heal();
  net.cut(2, 3);
  net.cut(1, 3);
  net.node(2).campaign();
  net.stabilize();
  assert.equal(net.node(1).status().role, "follower");
  assert.equal(net.node(1).status().uncommittedBytes, 0);
  net.heal();
  net.elect(1); // its log is the longest, so it wins; the 9 bytes commit with its no-op
  const st = net.node(1).status();
  assert.equal(st.commit, st.lastIndex);
  assert.equal(st.uncommittedBytes, 0, "committing entries of an earlier term must not count against this term's bytes");
  assert.equal(net.node(1).propose(bytes(10)).ok, true);
  assert.equal(net.node(1).status().uncommittedBytes, 10);
});

test("createRaft() refuses a negative maxUncommittedBytes", () => {
  assert.throws(() => new TestNetwork({ voters: [1], config: { maxUncommittedBytes: -1 } }), /maxUncommittedBytes -1 must be a non-negative integer/);
});

/**
 * A 3-node group where leader 1 proposed one entry and node 2 received the append (with the
 * leader's commit already past it); returns node 2's next Ready.
 */
function followerReadyAfterOneProposal(): ReturnType<ReturnType<TestNetwork["node"]>["ready"]> {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.node(1).propose(new TextEncoder().encode("x"));
  net.processReady(nodeId(1));
  net.deliver();
  return net.node(2).ready();
}

test("committed entries reach the app only once they are durable locally (etcd rule)", () => {
  const rd = followerReadyAfterOneProposal();
  assert.equal(rd.entries.length, 1);
  assert.ok(rd.committedEntries.every((e) => e.index < (rd.entries[0]?.index ?? 0)));
});

test("a single-node leader counts its own entry only after persisting it", () => {
  const net = new TestNetwork({ voters: [1] });
  net.elect(1);
  const raft = net.node(1);
  const r = raft.propose(new TextEncoder().encode("y"));
  assert.equal(r.ok, true);
  assert.ok(raft.status().commit < raft.status().lastIndex);
  const rd = raft.ready();
  assert.equal(rd.hardState?.commit ?? raft.status().commit, raft.status().commit);
  raft.advance(rd);
  assert.equal(raft.status().commit, raft.status().lastIndex);
});

test("a follower never overwrites a committed entry: a conflicting append below commit is answered, not applied (§5.3)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.propose(1, "a");
  net.tickAll(1);
  const two = net.node(2);
  const commit = two.status().commit;
  two.step({ type: "append", from: nodeId(1), to: nodeId(2), term: two.status().term, prevIndex: 0, prevTerm: 0,
    entries: entriesWithTerms([9]), commit: 0 });
  assert.equal(two.status().commit, commit);
  assert.equal(two.entries(1, 1)[0]?.term, 1);
});

test("a follower's acknowledgement travels in the same Ready as the entries it acknowledges (persist before send)", () => {
  const rd = followerReadyAfterOneProposal();
  const ack = rd.messages.find((m) => m.type === "appendResponse");
  assert.ok(ack !== undefined && ack.type === "appendResponse" && !ack.reject);
  assert.ok(rd.entries.some((e) => e.index === ack.index));
  assert.equal(rd.mustSync, true);
});
