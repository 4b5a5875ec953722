import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SafetyChecker, ViolationFound } from "./checkers.js";
import { LogImage } from "./storage-model.js";
import type { Entry, NodeId } from "../raft/types.js";

const node = (n: number): NodeId => n as NodeId;
const entry = (index: number, term: number, byte = 0): Entry => ({ index, term, type: "normal", data: new Uint8Array([byte]) });
function logOf(...entries: Entry[]): LogImage {
  const log = new LogImage();
  log.apply({ kind: "entries", entries });
  return log;
}
function violation(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ViolationFound) return err.violation.checker;
    throw err;
  }
  return "none";
}

describe("safety checkers", () => {
  it("flag two leaders in one term (election safety)", () => {
    const c = new SafetyChecker();
    c.onLeader(node(1), 3, logOf());
    assert.equal(violation(() => c.onLeader(node(2), 3, logOf())), "election-safety");
  });

  it("flag a node that grants two votes in one term", () => {
    const c = new SafetyChecker();
    c.onSend(node(1), node(2), "voteResponse", 5, false);
    c.onSend(node(1), node(2), "voteResponse", 5, false);
    assert.equal(violation(() => c.onSend(node(1), node(3), "voteResponse", 5, false)), "monotonic-hard-state");
  });

  it("flag a node that restarts below a term it already sent", () => {
    const c = new SafetyChecker();
    c.onSend(node(1), node(2), "append", 4, false);
    assert.equal(violation(() => c.onRestart(node(1), { term: 3, vote: node(1), commit: 0 })), "monotonic-hard-state");
  });

  it("flag different entries at the same index and term (log matching)", () => {
    const c = new SafetyChecker();
    c.onEntriesWritten(node(1), [entry(1, 1, 7)], logOf(entry(1, 1, 7)));
    assert.equal(violation(() => c.onEntriesWritten(node(2), [entry(1, 1, 8)], logOf(entry(1, 1, 8)))), "log-matching");
  });

  it("flag a leader that misses an entry committed in an earlier term (leader completeness)", () => {
    const c = new SafetyChecker();
    c.onCommit(node(1), 2, 0, 2, logOf(entry(1, 1), entry(2, 2)));
    c.onLeader(node(3), 2, logOf(entry(1, 1)));  // a stale leader of the same term may lag
    assert.equal(violation(() => c.onLeader(node(2), 3, logOf(entry(1, 1), entry(2, 3)))), "leader-completeness");
  });

  it("flag different entries applied at one index (state machine safety) and a lost acknowledged write", () => {
    const c = new SafetyChecker();
    c.onApplied(node(1), 1, 1, 111);
    c.onAcknowledged(1, 1);
    assert.equal(violation(() => c.onApplied(node(2), 1, 2, 222)), "acknowledged-write-lost");
    c.onApplied(node(1), 2, 1, 333);
    assert.equal(violation(() => c.onApplied(node(2), 2, 1, 444)), "state-machine-safety");
  });

  describe("single-pending-config-change (thesis §4.1 and the 2015 fix)", () => {
    const cfg = (index: number, term: number): Entry => ({ index, term, type: "config", data: new Uint8Array([1]) });
    /** A checker that knows `leader` is in `term`. */
    function leaderIn(term: number, leader = node(1)): SafetyChecker {
      const c = new SafetyChecker();
      c.onHardState(leader, { term, vote: leader, commit: 0 });
      return c;
    }

    it("flag a leader that appends a config entry while the previous one is above its commit index", () => {
      const log = logOf(entry(1, 2), cfg(2, 2), entry(3, 2), cfg(4, 2));
      assert.equal(violation(() => leaderIn(2).onLeaderLog(node(1), 1, log)), "single-pending-config-change");
      assert.equal(violation(() => leaderIn(2).onLeaderLog(node(1), 2, log)), "none");
    });

    it("flag a leader that appends a config entry before committing an entry of its term", () => {
      const log = logOf(entry(1, 1), entry(2, 2), cfg(3, 2));
      assert.equal(violation(() => leaderIn(2).onLeaderLog(node(1), 1, log)), "single-pending-config-change");
      assert.equal(violation(() => leaderIn(2).onLeaderLog(node(1), 2, log)), "none");
    });

    it("accept a new leader whose log holds config entries of earlier leaders above the commit index it knows", () => {
      // Seed 2055804 (5 voters): the leader of term 3 committed a learner's addition at 10 and its
      // removal at 15; node 2 kept those entries through a crash but lost the hard state that
      // carried commit 15, then won term 5 with commit 7. Only its own config entries count.
      const log = logOf(...Array.from({ length: 16 }, (_, k) => (k + 1 === 10 || k + 1 === 15 ? cfg(k + 1, 3) : entry(k + 1, k + 1 === 16 ? 5 : 3))));
      assert.equal(violation(() => leaderIn(5, node(2)).onLeaderLog(node(2), 7, log)), "none");
    });
  });
});
