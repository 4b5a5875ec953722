// Leases across a leader crash, in one process: the keep-alives of every surviving holder must reach
// the new leader within a TTL of its takeover. bench:replace once lost every node lease this way:
// the new leader had a linearizable read in flight to the dead leader, keep-alives (which need a
// ReadIndex round) queued behind it until the read timed out, and the leases expired meanwhile.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NodeId } from "../raft/raft.js";
import type { Replica } from "./replica.js";
import { LocalCluster, pollUntil } from "./testing.js";

/** Read timeout far above the lease TTL, as in production (3 s reads, 2 s node leases). */
const TUNING = { tickMs: 10, electionTicks: 10, heartbeatTicks: 1, proposalTimeoutMs: 3000, readTimeoutMs: 3000 };
/** 1.5 × the longest election timeout (200 ms): the smallest TTL a node accepts. */
const LEASE_TTL_MS = 300;

function leaderOf(cluster: LocalCluster): Replica | undefined {
  return [...cluster.members.values()].find((m) => m.replica.status().role === "leader")?.replica;
}

test("a lease kept alive survives a leader crash while the survivors had linearizable reads in flight to it", async (t) => {
  const cluster = await LocalCluster.start(3, TUNING);
  let renewing = true;
  t.after(async () => {
    renewing = false;
    await cluster.close();
  });
  const old = await cluster.waitForLeader();
  const g = await old.propose({ type: "leaseGrant", id: 0, ttlMs: LEASE_TTL_MS });
  assert.ok(g.ok && g.type === "leaseGrant");
  const survivors: NodeId[] = [...cluster.members.keys()].filter((id) => id !== old.id);
  for (const id of survivors) await pollUntil(() => (cluster.replica(id).kv.lease(g.id) ? true : undefined), 5000, `the lease on node ${id}`);

  // Each survivor asks the leader for a read index; the leader dies before it can answer.
  const reads = survivors.map((id) => cluster.replica(id).linearizableBarrier().then(() => "ok", (err: Error) => err.message));
  await cluster.stopNode(old.id);

  // The holder renews every TTL/4 at whichever node leads now, as a node agent does.
  const refusals: string[] = [];
  const renewals = (async () => {
    while (renewing) {
      const leader = leaderOf(cluster);
      if (leader !== undefined) {
        void leader.keepAlive(g.id).then(
          (r) => (r.ok ? undefined : refusals.push(r.code)),
          () => undefined, // not leader (yet): the next renewal tries again
        );
      }
      await new Promise((r) => setTimeout(r, LEASE_TTL_MS / 4)); // the agent's renewal period is the behaviour under test
    }
  })();

  const next = await cluster.waitForLeader();
  // Longer than the read timeout plus a TTL: a renewal stuck behind the lost read would let it expire.
  const watchUntilMs = Date.now() + TUNING.readTimeoutMs + 2 * LEASE_TTL_MS;
  while (Date.now() < watchUntilMs) {
    assert.ok(next.kv.lease(g.id) !== undefined, `lease ${g.id} expired on the new leader ${next.id} (refusals: ${refusals.join(", ") || "none"})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  renewing = false;
  await renewals;
  assert.deepEqual(refusals, []);
  // The reads asked of the dead leader were not lost either: each completed or was refused as retryable.
  const outcomes = await Promise.all(reads);
  assert.equal(outcomes.length, 2);
});
