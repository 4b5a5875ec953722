// ReadIndex (Raft thesis §6.4): a read is served at the leader's commit index only after a
// heartbeat round acknowledged by a majority proves it is still leader, and only once it has
// committed an entry of its own term.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestNetwork } from "./testing.js";
import { NO_NODE, nodeId, type RaftMutant } from "./types.js";

test("readIndex on the leader answers only after a heartbeat round is acknowledged by a quorum (thesis §6.4)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.propose(1, "a");
  net.isolate(1);
  assert.deepEqual(net.node(1).readIndex("r1"), { ok: true });
  net.stabilize();
  net.tick(1, 3);
  assert.deepEqual(net.readStates.get(nodeId(1)), []);
  net.heal();
  net.tick(1);
  assert.deepEqual(net.readStates.get(nodeId(1)), [{ context: "r1", index: net.node(1).status().commit }]);
  assert.ok(net.delivered.some((m) => m.type === "heartbeatResponse" && m.context === "r1"));
});

test("a follower's readIndex is forwarded to the leader and answered with the leader's commit index (thesis §6.4)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.propose(1, "a");
  assert.deepEqual(net.node(2).readIndex("f1"), { ok: true });
  net.stabilize();
  assert.deepEqual(net.readStates.get(nodeId(2)), [{ context: "f1", index: net.node(1).status().commit }]);
});

test("readIndex without a known leader answers not_leader", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  assert.deepEqual(net.node(2).readIndex("x"), { ok: false, code: "not_leader", leaderHint: NO_NODE });
});

test("a new leader answers reads only after its no-op entry commits (thesis §6.4 step 1)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.dropIf = (m) => m.type === "appendResponse";
  net.elect(1);
  assert.equal(net.node(1).status().commit, 0);
  net.node(1).readIndex("early");
  net.tick(1, 2);
  assert.deepEqual(net.readStates.get(nodeId(1)), []);
  net.dropIf = null;
  net.tick(1, 2);
  const noop = net.node(1).status().lastIndex;
  assert.deepEqual(net.readStates.get(nodeId(1)), [{ context: "early", index: noop }]);
});

function deposedLeaderRead(mutants: RaftMutant[]): { readIndexes: number[]; newCommit: number } {
  const net = new TestNetwork({ voters: [1, 2, 3], mutants });
  net.elect(1);
  net.propose(1, "old");
  net.isolate(1);
  // 2 and 3 elect a new leader (node 1 does not tick, so check-quorum has not deposed it yet).
  for (let i = 0; i < 60 && net.leader() === 1; i++) {
    net.tick(2);
    net.tick(3);
  }
  const leader = net.leader();
  assert.ok(leader === 2 || leader === 3);
  net.propose(leader, "new");
  const newCommit = net.node(leader).status().commit;
  assert.equal(net.node(1).status().role, "leader");
  net.node(1).readIndex("stale?");
  net.stabilize();
  return { readIndexes: (net.readStates.get(nodeId(1)) ?? []).map((r) => r.index), newCommit };
}

test("a deposed leader cut off from the majority serves no read (thesis §6.4)", () => {
  const { readIndexes } = deposedLeaderRead([]);
  assert.deepEqual(readIndexes, []);
});

test("mutant stale-read makes the deposed leader serve a read behind the new leader's commit", () => {
  const { readIndexes, newCommit } = deposedLeaderRead(["stale-read"]);
  assert.equal(readIndexes.length, 1);
  assert.ok((readIndexes[0] as number) < newCommit);
});

test("reads queued behind one heartbeat round are all released by its quorum", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.isolate(1);
  net.node(1).readIndex("a");
  net.node(1).readIndex("b");
  net.stabilize();
  net.heal();
  net.tick(1);
  assert.deepEqual(net.readStates.get(nodeId(1))?.map((r) => r.context), ["a", "b"]);
});
