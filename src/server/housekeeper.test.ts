// The leader's housekeeping (housekeeper.ts) on an in-process cluster (testing.ts): rounds are run
// by calling run() directly, so no timer decides when anything happens. Covers member records,
// the CA in the store, learner promotion, and revision auto-compaction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { DEFAULT_AUTO_COMPACTION } from "../kv/store.js";
import { nodeId } from "../raft/raft.js";
import type { NodeId } from "../raft/raft.js";
import { PKI_FILES } from "../pki/files.js";
import { openStorage } from "../storage/storage.js";
import { CA_KEY, ClusterHousekeeper, LEARNER_CATCH_UP_ENTRIES, targetVoters } from "./housekeeper.js";
import { MEMBER_PREFIX, MemberDirectory, parseMemberRecord } from "./members.js";
import type { MemberRecord } from "./members.js";
import { nodeConfigSchema } from "./node-config.js";
import type { NodeConfig } from "./node-config.js";
import { Replica } from "./replica.js";
import { LocalCluster, pollUntil, TEST_TUNING } from "./testing.js";

type TestContext = { after(fn: () => Promise<void> | void): void };
const silent = pino({ level: "silent" });
const CA_CERT = "-----BEGIN CERTIFICATE-----\ntest ca\n-----END CERTIFICATE-----\n";
const CA_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\ntest key\n-----END PRIVATE KEY-----\n";

function bootstrapMembers(ids: readonly number[]): MemberRecord[] {
  return ids.map((id) => ({ id: nodeId(id), name: `n${id}`, peerAddress: `10.0.0.${id}:2380`, clientAddress: `10.0.0.${id}:2379` }));
}

/** A node config whose PKI directory holds a CA (certificate and key) unless `withCaKey` is false. */
async function nodeConfig(t: TestContext, withCaKey = true): Promise<NodeConfig> {
  const root = await mkdtemp(join(tmpdir(), "phalanx-housekeeper-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const pkiDir = join(root, "pki");
  await mkdir(pkiDir);
  await writeFile(join(pkiDir, PKI_FILES.caCert), CA_CERT);
  if (withCaKey) await writeFile(join(pkiDir, PKI_FILES.caKey), CA_PRIVATE_KEY);
  const parsed = nodeConfigSchema.parse({
    clusterId: "test",
    node: { id: 1, name: "n1", dataDir: join(root, "data"), peerListen: "127.0.0.1:0", peerAdvertise: "127.0.0.1:1", clientListen: "127.0.0.1:0", clientAdvertise: "127.0.0.1:2" },
    pkiDir,
    tokenFile: join(root, "token"),
    adminTokenFile: join(root, "admin-token"),
    joinTokenHash: "0".repeat(64),
    members: bootstrapMembers([1]),
  });
  return { ...parsed, adminTokenFile: join(root, "admin-token"), file: join(root, "node.yaml") };
}

async function cluster(t: TestContext, size: number): Promise<LocalCluster> {
  const c = await LocalCluster.start(size);
  t.after(() => c.close());
  return c;
}

/** The member records in a replica's store. */
function recorded(replica: Replica): MemberRecord[] {
  return replica.localPrefix(MEMBER_PREFIX).map((kv) => parseMemberRecord(kv)).filter((m): m is MemberRecord => m !== null);
}

test("the leader records the address of every bootstrap member in the store, and followers learn them", async (t) => {
  const c = await cluster(t, 3);
  const leader = await c.waitForLeader();
  const members = new MemberDirectory(bootstrapMembers([1, 2, 3]));
  const keeper = new ClusterHousekeeper(leader, members, await nodeConfig(t), silent);

  await keeper.run();

  assert.deepEqual(recorded(leader), bootstrapMembers([1, 2, 3]));
  for (const m of c.members.values()) {
    await pollUntil(() => (recorded(m.replica).length === 3 ? true : undefined), 5000, `node ${m.id} to hold the member records`);
  }
  // The agent refreshes the directory after such an apply; then nothing is left to record.
  members.refresh(leader.localPrefix(MEMBER_PREFIX));
  assert.deepEqual(members.unrecorded(), []);
  const revision = leader.kv.revision;
  await keeper.run();
  assert.equal(leader.kv.revision, revision, "a second round writes nothing");
});

test("a follower's housekeeper does nothing", async (t) => {
  const c = await cluster(t, 3);
  const leader = await c.waitForLeader();
  const follower = [...c.members.values()].find((m) => m.id !== leader.id)!.replica;
  const keeper = new ClusterHousekeeper(follower, new MemberDirectory(bootstrapMembers([1, 2, 3])), await nodeConfig(t), silent);
  const revision = leader.kv.revision;

  await keeper.run();

  assert.equal(leader.kv.revision, revision);
  assert.equal(recorded(leader).length, 0);
  assert.equal(leader.kv.get(CA_KEY), undefined);
});

test("the leader keeps the cluster CA in the store, written once", async (t) => {
  const c = await cluster(t, 3);
  const leader = await c.waitForLeader();
  const keeper = new ClusterHousekeeper(leader, new MemberDirectory([]), await nodeConfig(t), silent);

  await keeper.run();
  await keeper.run();

  const stored = leader.kv.get(CA_KEY);
  assert.ok(stored !== undefined, "the CA is in the store");
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stored.value)), { certPem: CA_CERT, keyPem: CA_PRIVATE_KEY });
  assert.equal(stored.version, 1, "written once, not on every round");
  const follower = [...c.members.values()].find((m) => m.id !== leader.id)!.replica;
  await pollUntil(() => follower.kv.get(CA_KEY), 5000, "the CA on a follower (a future leader)");
});

test("a leader without the CA key (a node that joined) stores no CA", async (t) => {
  const c = await cluster(t, 1);
  const leader = await c.waitForLeader();
  const keeper = new ClusterHousekeeper(leader, new MemberDirectory([]), await nodeConfig(t, false), silent);

  await keeper.run();

  assert.equal(leader.kv.get(CA_KEY), undefined);
});

/** Waits until the leader's last membership change is committed (the housekeeper skips a round before that). */
async function noPendingChange(leader: Replica): Promise<void> {
  await pollUntil(() => (leader.status().pendingConfIndex === 0 ? true : undefined), 5000, "no pending membership change");
}

/** Adds node `id` as a learner and starts it (a joining node: no bootstrap membership). */
async function startLearner(t: TestContext, c: LocalCluster, leader: Replica, id: NodeId, options: { start: boolean }): Promise<void> {
  // A new leader refuses membership changes until an entry of its own term commits (Raft's 2015
  // fix): a write applied through it is such an entry.
  await leader.propose({ type: "put", key: "housekeeper-test/ready", value: new Uint8Array([1]) });
  await noPendingChange(leader);
  await leader.proposeConfChange({ type: "addLearner", nodeId: id });
  await noPendingChange(leader);
  if (!options.start) return;
  const { storage, restored } = await openStorage(join(c.root, `n${id}`), { bootstrap: null });
  const transport = c.network.createTransport(id);
  for (const m of c.members.values()) {
    m.transport.addPeer(id, `memory://${id}`);
    transport.addPeer(m.id, `memory://${m.id}`);
  }
  const replica = new Replica({ id, storage, restored, transport, logger: silent, tuning: TEST_TUNING });
  replica.start();
  t.after(async () => {
    replica.stop();
    await transport.close();
    await storage.close().catch(() => undefined);
  });
}

test("the leader promotes a caught-up learner so the cluster has an odd number of voters", async (t) => {
  assert.equal(targetVoters(3), 3);
  const c = await cluster(t, 2);
  const leader = await c.waitForLeader();
  const learner = nodeId(3);
  await startLearner(t, c, leader, learner, { start: true });
  await pollUntil(() => ((leader.status().progress?.get(learner)?.match ?? 0) >= leader.status().commit ? true : undefined), 5000, "the learner to catch up");
  const keeper = new ClusterHousekeeper(leader, new MemberDirectory([]), await nodeConfig(t), silent);

  await keeper.run();

  assert.deepEqual([...leader.status().confState.voters].sort(), [1, 2, 3]);
  assert.deepEqual(leader.status().confState.learners, []);
});

test("the leader does not promote a learner that never answered", async (t) => {
  // Node 3 is added but never started: its match index is 0. With a log shorter than
  // LEARNER_CATCH_UP_ENTRIES, 0 + LEARNER_CATCH_UP_ENTRIES >= commit must not count as caught up.
  const c = await cluster(t, 2);
  const leader = await c.waitForLeader();
  const learner = nodeId(3);
  await startLearner(t, c, leader, learner, { start: false });
  assert.ok(leader.status().commit < LEARNER_CATCH_UP_ENTRIES, "the log is short enough for the case to matter");
  const keeper = new ClusterHousekeeper(leader, new MemberDirectory([]), await nodeConfig(t), silent);

  await keeper.run();

  assert.deepEqual([...leader.status().confState.voters].sort(), [1, 2], "a learner with nothing replicated stayed a learner");
  assert.deepEqual(leader.status().confState.learners, [3]);
});

test("the leader does not promote past an odd number of voters", async (t) => {
  // 3 voters and a caught-up learner make 4 members: the target stays 3 voters.
  assert.equal(targetVoters(4), 3);
  const c = await cluster(t, 3);
  const leader = await c.waitForLeader();
  await startLearner(t, c, leader, nodeId(4), { start: true });
  await pollUntil(() => ((leader.status().progress?.get(nodeId(4))?.match ?? 0) >= leader.status().commit ? true : undefined), 5000, "the learner to catch up");
  const keeper = new ClusterHousekeeper(leader, new MemberDirectory([]), await nodeConfig(t), silent);

  await keeper.run();

  assert.deepEqual(leader.status().confState.learners, [4]);
});

test("the leader compacts history older than the retained window, then not again until a step's worth piled up", async (t) => {
  // The housekeeper uses DEFAULT_AUTO_COMPACTION (it takes no tuning), so this test writes past
  // retainRevisions + minStepRevisions for real.
  const { retainRevisions, minStepRevisions } = DEFAULT_AUTO_COMPACTION;
  const c = await cluster(t, 1);
  const leader = await c.waitForLeader();
  const keeper = new ClusterHousekeeper(leader, new MemberDirectory([]), await nodeConfig(t, false), silent);
  const writes = retainRevisions + minStepRevisions + 10;
  const inFlight = 256;
  for (let done = 0; done < writes; done += inFlight) {
    const batch = Array.from({ length: Math.min(inFlight, writes - done) }, (_, i) => leader.propose({ type: "put", key: `hk/${(done + i) % 50}`, value: new Uint8Array([1]) }));
    await Promise.all(batch);
  }
  const revision = leader.kv.revision;
  assert.ok(revision >= writes, `revision ${revision} after ${writes} writes`);
  assert.equal(leader.kv.compactRevision, 0);

  await keeper.run();

  assert.equal(leader.kv.compactRevision, revision - retainRevisions, "everything older than the retained window is compacted");
  const old = await leader.range({ key: "hk/1", revision: 2 }, "serializable");
  assert.equal(old.ok, false, "a read below the compacted revision is refused");
  const recent = await leader.range({ key: "hk/1", revision: revision - retainRevisions + 1 }, "serializable");
  assert.equal(recent.ok, true, "the retained window is still readable");

  const compacted = leader.kv.compactRevision;
  await leader.propose({ type: "put", key: "hk/more", value: new Uint8Array([2]) });
  await keeper.run();
  assert.equal(leader.kv.compactRevision, compacted, "no compaction for fewer than minStepRevisions new revisions");
});
