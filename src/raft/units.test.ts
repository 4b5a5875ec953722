// Unit tests of the Raft core's small parts: the log (§5.3 log matching, fast backtracking), the
// quorum arithmetic (§5.2, §5.3), progress flow control, membership history (thesis §4.1) and
// the config-entry encoding.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RaftLog } from "./log.js";
import { entriesWithTerms } from "./testing.js";
import { majorityCommittedIndex, voteResult, hasQuorum } from "./quorum.js";
import { Progress } from "./progress.js";
import { Inflights } from "./inflights.js";
import { MembershipLog } from "./membership.js";
import { applyConfChange, confStatesEqual, decodeConfChange, decodeConfChangeResult, encodeConfChange } from "./confchange.js";
import { RaftInvariantError } from "./assert.js";
import { nodeId, type NodeId } from "./types.js";

const ids = (...ns: number[]): NodeId[] => ns.map(nodeId);

test("findConflictByTerm() returns the last index whose term is at most the given term (fast backtracking)", () => {
  const log = new RaftLog(null, entriesWithTerms([1, 1, 2, 2, 2, 4, 4]));
  assert.deepEqual(log.findConflictByTerm(7, 3), { index: 5, term: 2 });
  assert.deepEqual(log.findConflictByTerm(7, 4), { index: 7, term: 4 });
  assert.deepEqual(log.findConflictByTerm(7, 1), { index: 2, term: 1 });
  assert.deepEqual(log.findConflictByTerm(9, 0), { index: 0, term: 0 });
});

test("findConflict() finds the first entry with another term or missing, 0 when all match (§5.3)", () => {
  const log = new RaftLog(null, entriesWithTerms([1, 1, 2]));
  assert.equal(log.findConflict(entriesWithTerms([1, 1, 2])), 0);
  assert.equal(log.findConflict(entriesWithTerms([1, 3], 2)), 3);
  assert.equal(log.findConflict(entriesWithTerms([2, 3], 3)), 4);
});

test("append() overwrites an uncommitted suffix but refuses to overwrite a committed entry (§5.3)", () => {
  const log = new RaftLog(null, entriesWithTerms([1, 1, 1]));
  log.commitTo(2);
  assert.equal(log.append(entriesWithTerms([2], 3)), 3);
  assert.equal(log.term(3), 2);
  assert.equal(log.persistedIndex(), 2);
  assert.throws(() => log.append(entriesWithTerms([3], 2)), RaftInvariantError);
});

test("commitTo() never moves back and never beyond the last entry", () => {
  const log = new RaftLog(null, entriesWithTerms([1, 1]));
  log.commitTo(2);
  log.commitTo(1);
  assert.equal(log.committed, 2);
  assert.throws(() => log.commitTo(3), RaftInvariantError);
});

test("slice() respects the entry and byte bounds but always returns one entry", () => {
  const log = new RaftLog(null, entriesWithTerms([1, 1, 1, 1, 1]));
  assert.equal(log.slice(1, 3, 1 << 20)?.length, 3);
  assert.equal(log.slice(1, 10, 1)?.length, 1);
  assert.equal(log.slice(6, 10, 100)?.length, 0);
});

test("a compacted log answers undefined for compacted terms and entries (§7)", () => {
  const log = new RaftLog(null, entriesWithTerms([1, 1, 2, 2]));
  log.commitTo(4);
  log.appliedTo(3);
  log.compact({ meta: { index: 3, term: 2, confState: { voters: [], learners: [] } }, data: new Uint8Array() });
  assert.equal(log.firstIndex(), 4);
  assert.equal(log.term(3), 2);
  assert.equal(log.term(2), undefined);
  assert.equal(log.slice(3, 10, 100), undefined);
  assert.deepEqual(log.findConflictByTerm(2, 1), { index: 2, term: 0 });
});

test("committed entries are delivered only up to the persisted index", () => {
  const log = new RaftLog(null, []);
  log.append(entriesWithTerms([1, 1, 1]));
  log.commitTo(3);
  assert.deepEqual(log.nextCommittedEntries(10), []);
  log.stableTo(2, 1);
  assert.deepEqual(log.nextCommittedEntries(10).map((e) => e.index), [1, 2]);
});

test("majorityCommittedIndex() is the index a majority of voters has matched (§5.3)", () => {
  const match = new Map([[1, 5], [2, 3], [3, 9], [4, 1], [5, 3]]);
  assert.equal(majorityCommittedIndex(ids(1, 2, 3, 4, 5), (id) => match.get(id) ?? 0), 3);
  assert.equal(majorityCommittedIndex(ids(1, 2, 3), (id) => match.get(id) ?? 0), 5);
  assert.equal(majorityCommittedIndex(ids(1, 4), (id) => match.get(id) ?? 0), 1);
  assert.equal(majorityCommittedIndex([], () => 7), 0);
});

test("voteResult() counts only voters and decides won, lost or pending (§5.2)", () => {
  const votes = new Map<NodeId, boolean>([[nodeId(1), true], [nodeId(9), true]]);
  assert.equal(voteResult(ids(1, 2, 3), votes), "pending");
  votes.set(nodeId(2), true);
  assert.equal(voteResult(ids(1, 2, 3), votes), "won");
  assert.equal(voteResult(ids(1, 2, 3, 4), new Map([[nodeId(2), false], [nodeId(3), false]])), "lost");
  assert.equal(hasQuorum(ids(1, 2, 3), new Set(ids(1, 9))), false);
});

test("progress: probe sends one append at a time, replicate pipelines up to the inflight bound", () => {
  const pr = new Progress(5, 2);
  assert.equal(pr.isPaused(), false);
  pr.sentEntries(1, 5);
  assert.equal(pr.isPaused(), true);
  assert.equal(pr.maybeUpdate(5), true);
  pr.becomeReplicate();
  pr.sentEntries(2, 7);
  pr.sentEntries(1, 8);
  assert.equal(pr.isPaused(), true);
  assert.equal(pr.next, 9);
  pr.maybeUpdate(7);
  pr.inflights.freeLE(7);
  assert.equal(pr.isPaused(), false);
});

test("progress: a stale rejection is ignored, a fresh one backs off to the hint (etcd MaybeDecrTo)", () => {
  const pr = new Progress(11, 4);
  assert.equal(pr.maybeDecrTo(7, 3), false);
  assert.equal(pr.maybeDecrTo(10, 3), true);
  assert.equal(pr.next, 4);
  pr.match = 6;
  pr.becomeReplicate();
  assert.equal(pr.maybeDecrTo(5, 0), false);
  assert.equal(pr.maybeDecrTo(8, 0), true);
  assert.equal(pr.next, 7);
});

test("inflights refuse more than their capacity", () => {
  const inf = new Inflights(2);
  inf.add(3);
  inf.add(5);
  assert.throws(() => inf.add(6), RaftInvariantError);
  inf.freeFirstOne();
  assert.equal(inf.count(), 1);
});

test("membership history: the latest config entry is in force and truncation rolls it back (thesis §4.1)", () => {
  const m = new MembershipLog(0, { voters: ids(1, 2, 3), learners: [] });
  m.append(5, { voters: ids(1, 2, 3, 4), learners: [] });
  m.append(8, { voters: ids(1, 2, 4), learners: [] });
  assert.deepEqual(m.current().voters, [1, 2, 4]);
  assert.deepEqual(m.confAt(6).voters, [1, 2, 3, 4]);
  assert.equal(m.truncateFrom(8), true);
  assert.deepEqual(m.current().voters, [1, 2, 3, 4]);
  m.compactTo(6);
  assert.deepEqual(m.current().voters, [1, 2, 3, 4]);
  assert.equal(m.lastChangeIndex(), 0);
});

test("config entries round-trip through encodeConfChange/decodeConfChange", () => {
  const cc = { type: "addLearner" as const, nodeId: nodeId(7) };
  const result = applyConfChange({ voters: ids(1, 2), learners: [] }, cc);
  const data = encodeConfChange(cc, result);
  assert.deepEqual(decodeConfChange(data), cc);
  assert.deepEqual(decodeConfChangeResult(data), { voters: [1, 2], learners: [7] });
  assert.equal(decodeConfChangeResult(encodeConfChange(cc)), null);
  assert.throws(() => decodeConfChange(new TextEncoder().encode("{}")), RaftInvariantError);
});

test("applyConfChange() adds, promotes, demotes and removes single servers", () => {
  const base = { voters: ids(1, 2), learners: ids(3) };
  assert.ok(confStatesEqual(applyConfChange(base, { type: "addVoter", nodeId: nodeId(3) }), { voters: ids(1, 2, 3), learners: [] }));
  assert.ok(confStatesEqual(applyConfChange(base, { type: "addLearner", nodeId: nodeId(2) }), { voters: ids(1), learners: ids(2, 3) }));
  assert.ok(confStatesEqual(applyConfChange(base, { type: "removeNode", nodeId: nodeId(3) }), { voters: ids(1, 2), learners: [] }));
  assert.ok(confStatesEqual(applyConfChange(base, { type: "removeNode", nodeId: nodeId(9) }), base));
});
