// Real processes on loopback (issue 3, item 7): kill -9 of the leader under a write load with a
// linearizability check of the recorded history, restart and catch-up (also through a snapshot),
// a paused leader that must not serve a stale read, membership changes under load, and refused
// credentials. Timings come from PROCESS_TEST_RAFT (elections after 250–500 ms).
import { test } from "node:test";
import assert from "node:assert/strict";
import { PhalanxClient } from "../client/client.js";
import { isSafeToRetry, PhalanxError } from "../client/errors.js";
import { checkLinearizable } from "../sim/linearizability/checker.js";
import { registerModel } from "../sim/linearizability/register-model.js";
import { issueClientCertificate } from "../pki/issue.js";
import { restartAfterMissedWrites } from "../testing/follower-catch-up.js";
import { PROCESS_TEST_RAFT, ProcessCluster } from "../testing/process-cluster.js";
import { startRegisterWorkload } from "../testing/register-workload.js";
import type { RegisterWorkload } from "../testing/register-workload.js";
import { waitUntil as waitFor } from "../testing/wait.js";

const KEYS = ["reg/a", "reg/b", "reg/c"];

/** Register operations from `clients` clients until stop(), one attempt each so the history holds exactly what was sent. */
function startWorkload(cluster: ProcessCluster, clients: number, seed: number): RegisterWorkload {
  return startRegisterWorkload({
    clients,
    seed,
    // Failover is by rotation after a failure, not by the SDK's retries.
    client: () => new PhalanxClient({ endpoints: cluster.endpoints(), token: cluster.token, timeoutMs: 1500, maxAttempts: 1 }),
    next(random, _clientId, nextValue) {
      const key = KEYS[Math.floor(random() * KEYS.length)]!;
      const dice = random();
      if (dice < 0.4) return { kind: "read", key };
      if (dice < 0.8) return { kind: "write", key, value: nextValue() };
      const value = nextValue();
      return { kind: "cas", key, expected: Math.floor(random() * value) || null, value };
    },
    failed(err, _input, client) {
      client.rotate();
      // A refusal the SDK may retry certainly did not happen (node/outcome.ts); anything else may
      // have — "stopped" and "unknown_outcome" included: recorded open-ended.
      return isSafeToRetry(err) ? "refused" : "unknown";
    },
  });
}

test("kill -9 of the leader under writes loses no acknowledged write, the history is linearizable, and a new leader is elected", async (t) => {
  const cluster = await ProcessCluster.start(3);
  t.after(() => cluster.close());
  const oldLeader = await cluster.leader();
  const load = startWorkload(cluster, 4, 7);
  await waitFor("writes before the kill", () => load.acknowledgedWrites() >= 30);
  const killedAt = performance.now();
  await cluster.kill(oldLeader);
  const survivors = [1, 2, 3].filter((id) => id !== oldLeader);
  const newLeader = await cluster.leader(30_000, survivors);
  const electionMs = performance.now() - killedAt;
  const before = load.acknowledgedWrites();
  await waitFor("writes after the kill", () => load.acknowledgedWrites() >= before + 30);
  const history = await load.stop();

  assert.notEqual(newLeader, oldLeader);
  t.diagnostic(`new leader ${newLeader} after ${electionMs.toFixed(0)} ms; ${history.length} operations recorded`);
  // Bounded generously: election timeout (≤ 500 ms) plus process scheduling on a loaded machine.
  assert.ok(electionMs < 5_000, `new leader took ${electionMs} ms`);
  const verdict = checkLinearizable(registerModel, history);
  assert.equal(verdict.verdict, "ok", `history not linearizable on key ${verdict.key}`);
  // Every acknowledged write is still there: the final value of each key is one a client wrote and
  // no acknowledged write is older than a value that was overwritten — the checker covers that;
  // here, additionally, the keys written exist on the survivors.
  const client = cluster.client({ endpoints: cluster.endpoints(survivors) });
  try {
    for (const key of KEYS) {
      const wrote = history.some((o) => o.input.key === key && o.input.kind === "write" && o.output !== null);
      if (wrote) assert.equal((await client.get(key)).kvs.length, 1, `key ${key} lost`);
    }
  } finally {
    await client.close();
  }
});

test("a killed node restarts and catches up, also through a snapshot when the log was compacted", async (t) => {
  const cluster = await ProcessCluster.start(3, { ...PROCESS_TEST_RAFT, snapshotEveryEntries: 50 });
  t.after(() => cluster.close());
  const { lagging } = await restartAfterMissedWrites(cluster, async (client) => {
    for (let i = 0; i < 200; i++) await client.put(`catchup/${String(i).padStart(3, "0")}`, String(i));
  });
  t.after(() => lagging.close());
  await waitFor("the restarted node to hold every key", async () => (await lagging.get("catchup/", { prefix: true, serializable: true })).count === 200);
  const last = await lagging.get("catchup/199", { serializable: true });
  assert.equal(last.kvs[0]?.value, "199");
});

test("a paused leader steps down and serves no stale read after it resumes", async (t) => {
  const cluster = await ProcessCluster.start(3);
  t.after(() => cluster.close());
  const old = await cluster.leader();
  const others = [1, 2, 3].filter((id) => id !== old);
  const client = cluster.client({ endpoints: cluster.endpoints(others) });
  t.after(() => client.close());
  await client.put("paused/k", "before");
  cluster.signal(old, "SIGSTOP");
  const newLeader = await cluster.leader(30_000, others);
  await client.put("paused/k", "after");
  cluster.signal(old, "SIGCONT");
  // Read at the old leader at once: it must not answer from its stale state.
  const atOld = new PhalanxClient({ endpoints: cluster.endpoints([old]), token: cluster.token, maxAttempts: 20 });
  t.after(() => atOld.close());
  const r = await atOld.get("paused/k");
  assert.equal(r.kvs[0]?.value, "after");
  await waitFor("the old leader to follow", async () => (await cluster.statusOf(old))?.leader === newLeader);
  assert.equal((await cluster.statusOf(old))?.role, "follower");
});

test("a wrong client token is refused with a clear error", async (t) => {
  const cluster = await ProcessCluster.start(1);
  t.after(() => cluster.close());
  const client = new PhalanxClient({ endpoints: cluster.endpoints(), token: "wrong-token", maxAttempts: 1 });
  t.after(() => client.close());
  await assert.rejects(client.put("k", "v"), (err: unknown) => {
    assert.ok(err instanceof PhalanxError);
    assert.equal(err.status, 401);
    assert.match(err.message, /cluster token/);
    return true;
  });
});

test("a node joins as a learner under load and becomes a voter when another member is removed", async (t) => {
  const cluster = await ProcessCluster.start(3);
  t.after(() => cluster.close());
  const leader = await cluster.leader();
  const load = startWorkload(cluster, 2, 11);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await load.stop();
  });
  const address = await cluster.join("n4", leader);
  const victim = [1, 2, 3].find((id) => id !== leader)!;
  // The removed member stops serving, so ask the others.
  const admin = cluster.client({ endpoints: cluster.endpoints([1, 2, 3].filter((id) => id !== victim)), token: cluster.adminToken });
  t.after(() => admin.close());
  type Member = { id: number; name: string; role: string };
  const members = async (): Promise<Member[]> => ((await admin.call("GET", "/v3/phalanx/members", undefined, true)).members ?? []) as Member[];
  await waitFor("n4 to be a learner", async () => (await members()).some((m) => m.name === "n4" && m.role === "learner"));
  const n4 = (await members()).find((m) => m.name === "n4")!;
  // 3 voters + 1 learner: the cluster keeps 3 voters. Removing a follower makes room for n4.
  await admin.call("POST", "/v3/phalanx/nodes/drain", { node: victim }, false);
  const drainMark = async (): Promise<number> => (await admin.get(`/phalanx/drain/${victim}`)).kvs.length;
  assert.equal(await drainMark(), 1, "the victim is marked drained before its removal");
  await admin.call("POST", "/v3/phalanx/members/remove", { id: victim }, false);
  assert.equal(await drainMark(), 0, "removing a member removes its drain mark (a node reusing the id must not start drained)");
  await waitFor("n4 to be promoted", async () => (await members()).find((m) => m.id === n4.id)?.role === "voter", 60_000);
  const acked = load.acknowledgedWrites();
  await waitFor("writes to continue", () => load.acknowledgedWrites() > acked + 10);
  stopped = true;
  const history = await load.stop();
  assert.equal(checkLinearizable(registerModel, history).verdict, "ok");
  const fresh = new PhalanxClient({ endpoints: [address], token: cluster.token });
  t.after(() => fresh.close());
  await fresh.put("joined/works", "yes");
  assert.equal((await fresh.get("joined/works")).kvs[0]?.value, "yes");
  assert.ok(!(await members()).some((m) => m.id === victim), "the removed member is gone");
});

test("over a TLS client port, a client certificate of the cluster CA authenticates without the token, and a client without either is refused", async (t) => {
  const cluster = await ProcessCluster.start(1, PROCESS_TEST_RAFT, { clientTls: true });
  t.after(() => cluster.close());
  const creds = await issueClientCertificate(cluster.ca, { name: "tester" });
  const withCert = new PhalanxClient({ endpoints: cluster.endpoints(), tls: { ca: cluster.ca.certPem, cert: creds.certPem, key: creds.keyPem }, maxAttempts: 200, retryBackoffMs: 50 });
  t.after(() => withCert.close());
  await withCert.put("tls/k", "v");
  assert.equal((await withCert.get("tls/k")).kvs[0]?.value, "v");
  const anonymous = new PhalanxClient({ endpoints: cluster.endpoints(), tls: { ca: cluster.ca.certPem }, maxAttempts: 1 });
  t.after(() => anonymous.close());
  await assert.rejects(anonymous.get("tls/k"), (err: unknown) => err instanceof PhalanxError && err.status === 401);
  const withToken = new PhalanxClient({ endpoints: cluster.endpoints(), tls: { ca: cluster.ca.certPem }, token: cluster.token, maxAttempts: 1 });
  t.after(() => withToken.close());
  assert.equal((await withToken.get("tls/k")).kvs[0]?.value, "v");
});
