// End to end through real agent processes and the real mutual-TLS transport: a follower that was
// down while the store grew past 64 MiB (the old single-frame snapshot cap) and the log was
// compacted catches up through a streamed snapshot. Uses only the process harness and the SDK.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { restartAfterMissedWrites } from "../testing/follower-catch-up.js";
import { PROCESS_TEST_RAFT, ProcessCluster } from "../testing/process-cluster.js";
import { waitUntil } from "../testing/wait.js";

const VALUE_BYTES = 1024 * 1024;
const KEYS = 80;

/** A 1 MiB value of its own for key `i` (printable, so it travels as a string). */
function valueOf(i: number): string {
  const seed = createHash("sha256").update(`value-${i}`).digest("hex");
  return seed.repeat(Math.ceil(VALUE_BYTES / seed.length)).slice(0, VALUE_BYTES);
}

test("a follower catches up through a snapshot larger than 64 MiB after the log was compacted", async (t) => {
  const cluster = await ProcessCluster.start(3, { ...PROCESS_TEST_RAFT, snapshotEveryEntries: 10 });
  t.after(() => cluster.close());
  const { leader, victim, lagging } = await restartAfterMissedWrites(cluster, async (client) => {
    for (let i = 0; i < KEYS; i++) await client.put(`big/${String(i).padStart(3, "0")}`, valueOf(i));
  });
  t.after(() => lagging.close());
  // The restarted node may refuse reads while it installs the snapshot: such a probe counts as "not yet".
  const holdsAll = (): Promise<boolean> => lagging.get("big/", { prefix: true, limit: 1, serializable: true }).then((r) => r.count === KEYS, () => false);
  await waitUntil("the restarted node to hold every key", holdsAll, 45_000, 50);
  for (const i of [0, 41, KEYS - 1]) {
    const got = await lagging.get(`big/${String(i).padStart(3, "0")}`, { serializable: true });
    assert.equal(got.kvs[0]?.value, valueOf(i), `value of key ${i} on the restarted node`);
  }
  const victimLog = cluster.logTail(victim, 1_000_000);
  assert.match(victimLog, /installed snapshot from the leader/, "the follower caught up through a snapshot, not the log");
  // Leadership may have moved while the follower was down: look at both other nodes' logs.
  const sent = [1, 2, 3].filter((id) => id !== victim).flatMap((id) => cluster.logTail(id, 1_000_000).split("\n"))
    .filter((l) => l.includes("Sent snapshot to peer")).map((l) => (JSON.parse(l) as { bytes: number }).bytes);
  assert.ok(sent.some((bytes) => bytes > 64 * 1024 * 1024), `a snapshot over 64 MiB was sent (sent: ${sent.join(", ")}); logs:\n${cluster.logTail(leader, 30)}`);
});
