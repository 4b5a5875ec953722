// The Ready loop end to end in one process: real storage, in-memory transport, real Raft and KV.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeId } from "../raft/raft.js";
import { ServerError } from "./errors.js";
import { LocalCluster, pollUntil } from "./testing.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

test("a 3-node replica set elects a leader and applies a write on every node", async (t) => {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  const leader = await cluster.waitForLeader();
  const put = await leader.propose({ type: "put", key: "a", value: text("1") });
  assert.equal(put.ok, true);
  for (const m of cluster.members.values()) {
    await pollUntil(() => (m.replica.kv.get("a") ? true : undefined), 5000, `key a on node ${m.id}`);
    assert.equal(str(m.replica.kv.get("a")?.value), "1");
  }
});

test("a follower refuses a write with the leader's id, and serves a linearizable read through ReadIndex", async (t) => {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  const leader = await cluster.waitForLeader();
  const follower = [...cluster.members.values()].find((m) => m.id !== leader.id)!.replica;
  await assert.rejects(follower.propose({ type: "put", key: "k", value: text("v") }), (err: unknown) => {
    assert.ok(err instanceof ServerError);
    assert.equal(err.code, "not_leader");
    assert.equal(err.details.leaderId, leader.id);
    return true;
  });
  await leader.propose({ type: "put", key: "k", value: text("v2") });
  // The write is acknowledged by the leader; a linearizable read on the follower must see it even if
  // the follower has not applied it yet when the read starts.
  const r = await follower.range({ key: "k" }, "linearizable");
  assert.ok(r.ok);
  assert.equal(str(r.kvs[0]?.value), "v2");
});

test("writes survive a full restart of every node, and a new leader keeps every acknowledged write", async (t) => {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  let leader = await cluster.waitForLeader();
  for (let i = 0; i < 50; i++) {
    const r = await leader.propose({ type: "put", key: `k${i}`, value: text(String(i)) });
    assert.equal(r.ok, true);
  }
  await cluster.stopNode(leader.id);
  leader = await cluster.waitForLeader();
  const r = await leader.range({ key: "k", rangeEnd: "l" }, "linearizable");
  assert.ok(r.ok);
  assert.equal(r.count, 50);
  for (const id of [1, 2, 3].map(nodeId)) await cluster.stopNode(id);
  for (const id of [1, 2, 3].map(nodeId)) await cluster.startNode(id);
  leader = await cluster.waitForLeader();
  const after = await leader.range({ key: "k", rangeEnd: "l" }, "linearizable");
  assert.ok(after.ok);
  assert.equal(after.count, 50);
});

test("a lagging node catches up through a snapshot after the log was compacted", async (t) => {
  const cluster = await LocalCluster.start(3, { tickMs: 10, electionTicks: 10, heartbeatTicks: 1, snapshotEveryEntries: 20 });
  t.after(() => cluster.close());
  let leader = await cluster.waitForLeader();
  const lagging = [...cluster.members.keys()].find((id) => id !== leader.id)!;
  await cluster.stopNode(lagging);
  leader = await cluster.waitForLeader();
  for (let i = 0; i < 100; i++) await leader.propose({ type: "put", key: `s${i}`, value: text("x") });
  assert.ok(leader.status().firstIndex > 2, "the leader compacted its log");
  const back = await cluster.startNode(lagging);
  await pollUntil(() => (back.kv.get("s99") ? true : undefined), 5000, "the lagging node to catch up");
  assert.equal(back.kv.range({ key: "s", rangeEnd: "t" }).ok, true);
});

test("leases expire on the leader's clock and their keys vanish on every node", async (t) => {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  const leader = await cluster.waitForLeader();
  const g = await leader.propose({ type: "leaseGrant", id: 0, ttlMs: 300 });
  assert.ok(g.ok && g.type === "leaseGrant");
  await leader.propose({ type: "put", key: "ephemeral", value: text("x"), lease: g.id });
  for (const m of cluster.members.values()) {
    await pollUntil(() => (m.replica.kv.get("ephemeral") === undefined && m.replica.kv.appliedIndex > 0 && m.replica.kv.lease(g.id) === undefined ? true : undefined), 5000, `lease expiry on node ${m.id}`);
  }
});

test("keep-alives on the leader hold a lease past its TTL; once they stop, it expires", async (t) => {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  const leader = await cluster.waitForLeader();
  const g = await leader.propose({ type: "leaseGrant", id: 0, ttlMs: 300 });
  assert.ok(g.ok && g.type === "leaseGrant");
  await leader.propose({ type: "put", key: "held", value: text("x"), lease: g.id });
  // Renew every 100 ms for three TTLs: the key must stay.
  for (let i = 0; i < 9; i++) {
    const r = await leader.keepAlive(g.id);
    assert.ok(r.ok, `keep-alive ${i} refused`);
    await new Promise((r) => setTimeout(r, 100)); // paced renewals are the behaviour under test
  }
  assert.ok(leader.kv.get("held"), "the key outlived its TTL while kept alive");
  await pollUntil(() => (leader.kv.lease(g.id) === undefined ? true : undefined), 5000, "the lease to expire after keep-alives stop");
  assert.equal(leader.kv.get("held"), undefined);
  const late = await leader.keepAlive(g.id);
  assert.equal(late.ok, false);
});
