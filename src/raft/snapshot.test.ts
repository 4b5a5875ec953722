// Snapshots and log compaction (Raft §7): InstallSnapshot for a follower that needs compacted
// entries, restore on the follower, and restart from durable state (Figure 2 persistent state).
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestNetwork } from "./testing.js";
import { RaftInvariantError } from "./assert.js";
import { nodeId } from "./types.js";

test("a follower behind the compacted log is sent the snapshot, restores it and catches up (§7)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.isolate(3);
  for (let i = 0; i < 20; i++) net.propose(1, `v${i}`);
  const snap = net.compact(1);
  assert.equal(net.node(1).status().firstIndex, snap.meta.index + 1);
  net.propose(1, "after");
  let seenSnapshot = false;
  net.onReady = (id, rd): void => {
    if (id !== 3 || rd.snapshot === null) return;
    seenSnapshot = true;
    assert.deepEqual(rd.snapshot.meta.confState, { voters: [1, 2, 3], learners: [] });
    // Nothing from the old log is handed to the app while the snapshot is not yet durable.
    assert.deepEqual(rd.committedEntries, []);
  };
  net.heal();
  net.tickAll(2);
  assert.ok(seenSnapshot);
  assert.equal(net.node(3).status().lastIndex, net.node(1).status().lastIndex);
  assert.equal(net.node(3).status().commit, net.node(1).status().commit);
  assert.deepEqual(net.appliedTexts(3), ["after"]);
  assert.ok(net.delivered.some((m) => m.type === "snapshot" && m.to === 3));
});

test("a lost snapshot is sent again after an election timeout (§7)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.isolate(2);
  for (let i = 0; i < 5; i++) net.propose(1, `v${i}`);
  net.heal();
  net.dropIf = (m) => m.type === "append" && m.to === 2;
  net.tick(1, 3);
  net.compact(1);
  assert.ok(net.node(1).status().firstIndex > net.node(2).status().lastIndex + 1);
  let snapshotsDropped = 0;
  net.dropIf = (m) => m.type === "snapshot" && snapshotsDropped++ === 0;
  net.tickAll(15);
  assert.ok(snapshotsDropped >= 2);
  assert.equal(net.node(2).status().commit, net.node(1).status().commit);
});

test("a member added after compaction is brought up by snapshot, with the membership it needs (§7, thesis §4.2.1)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  for (let i = 0; i < 10; i++) net.propose(1, `v${i}`);
  net.compact(1);
  net.addNode(nodeId(4), null);
  assert.equal(net.node(1).proposeConfChange({ type: "addLearner", nodeId: nodeId(4) }).ok, true);
  net.stabilize();
  net.tickAll(3);
  assert.equal(net.node(4).status().commit, net.node(1).status().commit);
  assert.deepEqual(net.node(4).status().confState, { voters: [1, 2, 3], learners: [4] });
});

test("a restarted node rebuilds term, vote, commit, log and membership from RestoredState (Figure 2)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  for (let i = 0; i < 6; i++) net.propose(1, `v${i}`);
  net.tickAll(1);
  net.compact(2, 4);
  const before = net.node(2).status();
  net.crash(2);
  const again = net.restart(2).status();
  assert.equal(again.term, before.term);
  assert.equal(again.vote, before.vote);
  assert.equal(again.commit, before.commit);
  assert.equal(again.lastIndex, before.lastIndex);
  assert.equal(again.firstIndex, 5);
  assert.equal(again.applied, 4);
  assert.deepEqual(again.confState, before.confState);
  // It re-applies the committed entries after the snapshot, then keeps following.
  net.tickAll(1);
  assert.deepEqual(net.appliedTexts(2), ["v3", "v4", "v5"]);
  net.propose(1, "later");
  net.tickAll(1);
  assert.deepEqual(net.appliedTexts(2), ["v3", "v4", "v5", "later"]);
});

test("the whole cluster restarts and a new leader keeps every committed entry (§5.4)", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  for (let i = 0; i < 4; i++) net.propose(1, `v${i}`);
  net.tickAll(1);
  for (const id of [1, 2, 3]) net.crash(id);
  for (const id of [1, 2, 3]) net.restart(id);
  for (let i = 0; i < 50 && net.leader() === null; i++) net.tickAll();
  const leader = net.leader();
  assert.notEqual(leader, null);
  net.propose(leader as number, "v4");
  net.tickAll(1);
  for (const id of [1, 2, 3]) assert.deepEqual(net.appliedTexts(id), ["v0", "v1", "v2", "v3", "v4"]);
});

test("compact() refuses a snapshot beyond the applied index or with a wrong membership", () => {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.propose(1, "a");
  const st = net.node(1).status();
  const meta = net.node(1).snapshotMeta(st.applied);
  assert.throws(() => net.node(1).compact({ meta: { ...meta, index: st.applied + 1 }, data: new Uint8Array() }), RaftInvariantError);
  assert.throws(() => net.node(1).compact({ meta: { ...meta, confState: { voters: [nodeId(1)], learners: [] } }, data: new Uint8Array() }), RaftInvariantError);
});

test("a restored commit index beyond the durable log is refused", () => {
  assert.throws(() => {
    const net = new TestNetwork({ voters: [1] });
    net.addNode(nodeId(1), { voters: [nodeId(1)], learners: [] }, { hardState: { term: 1, vote: nodeId(1), commit: 5 }, snapshot: null, entries: [] });
  }, RaftInvariantError);
});
