// Leader contact in the node core: a non-leader that stops hearing from its leader ends its watches
// with a retryable "no_leader" after the bound (etcd's "require leader"), never before; a leader never does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeId, NO_NODE } from "../raft/raft.js";
import type { NodeId } from "../raft/raft.js";
import type { WatchBatch } from "../kv/store.js";
import type { NodeEffects } from "./effects.js";
import { defaultWatchLeaderlessMs, NodeCore } from "./node-core.js";

const N1 = nodeId(1);
const N2 = nodeId(2);
const TICK_MS = 10;
const ELECTION_TICKS = 10;
const BOUND_MS = defaultWatchLeaderlessMs(ELECTION_TICKS, TICK_MS);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A core with a hand-moved clock; N1 is the only voter, N2 a learner (it never campaigns). */
function harness(id: NodeId) {
  const clock = { now: 0 };
  const soon: (() => void)[] = [];
  let watchReady = 0;
  const effects: NodeEffects = {
    storage: { save: (_b, done) => soon.push(() => done(null)), saveSnapshot: (_s, done) => done(null), compact: (_i, done) => done(null) },
    send: () => {},
    nowMs: () => clock.now,
    soon: (fn) => soon.push(fn),
    randomInt: () => 0,
    logger: silent,
    onFatal: (err) => { throw err; },
  };
  const core = new NodeCore({
    id,
    restored: { hardState: { term: 0, vote: NO_NODE, commit: 0 }, snapshot: null, entries: [], bootstrap: { voters: [N1], learners: [N2] } },
    readTag: "t",
    effects,
    observer: { onWatchReady: () => void watchReady++ },
    tuning: {
      raft: { electionTicks: ELECTION_TICKS, heartbeatTicks: 1, maxEntriesPerAppend: 64, maxBytesPerAppend: 1 << 20, maxInflightAppends: 8, maxUncommittedEntries: 100, preVote: false, checkQuorum: false },
      snapshotEveryEntries: 1000, proposalTimeoutMs: 1000, readTimeoutMs: 1000, tickMs: TICK_MS,
    },
  });
  const settle = (): void => {
    for (let i = 0; i < 1000 && soon.length > 0; i++) soon.shift()!();
  };
  /** Advances the clock by `ms`, one tick at a time. */
  const advance = (ms: number): void => {
    for (let t = 0; t < ms; t += TICK_MS) {
      clock.now += TICK_MS;
      core.tick();
      settle();
    }
  };
  return { core, clock, settle, advance, watchReady: () => watchReady };
}

function cancellations(batches: readonly WatchBatch[]): Extract<WatchBatch, { type: "cancelled" }>[] {
  return batches.filter((b): b is Extract<WatchBatch, { type: "cancelled" }> => b.type === "cancelled");
}

test("a learner that stops hearing from its leader ends its watches with no_leader after the bound, not before", () => {
  const h = harness(N2);
  h.core.start();
  h.core.step({ type: "heartbeat", from: N1, to: N2, term: 1, commit: 0, context: "" });
  h.settle();
  assert.equal(h.core.leaderId, N1);
  const w = h.core.watchers.watch({ key: "k", startRevision: 0 });
  assert.ok(w.ok);

  h.advance(BOUND_MS - 2 * TICK_MS);
  h.core.step({ type: "heartbeat", from: N1, to: N2, term: 1, commit: 0, context: "" }); // contact renews the bound
  h.settle();
  h.advance(BOUND_MS - TICK_MS);
  assert.equal(cancellations(h.core.watchers.poll()).length, 0, "ended before the bound");
  assert.equal(h.core.watchers.size, 1);
  assert.ok(h.core.sinceLeaderContactMs() <= BOUND_MS);

  const readyBefore = h.watchReady();
  h.advance(2 * TICK_MS);
  const ended = cancellations(h.core.watchers.poll());
  assert.equal(ended.length, 1);
  assert.equal(ended[0]!.code, "no_leader");
  assert.equal(ended[0]!.resumeRevision, w.startRevision);
  assert.ok(h.watchReady() > readyBefore, "the shell is told that a cancellation is ready");
  assert.ok(h.core.sinceLeaderContactMs() > BOUND_MS);

  const refused = h.core.watchers.watch({ key: "k" });
  assert.equal(refused.ok ? "ok" : refused.code, "no_leader");

  h.core.step({ type: "heartbeat", from: N1, to: N2, term: 1, commit: 0, context: "" });
  h.settle();
  assert.equal(h.core.watchers.watch({ key: "k" }).ok, true, "contact is back: watches are accepted again");
});

test("a leader never ends its watches for lack of leader contact", () => {
  const h = harness(N1);
  h.core.start();
  h.settle();
  assert.equal(h.core.currentRole, "leader");
  const w = h.core.watchers.watch({ key: "k" });
  assert.ok(w.ok);
  h.advance(3 * BOUND_MS);
  assert.equal(cancellations(h.core.watchers.poll()).length, 0);
  assert.equal(h.core.watchers.size, 1);
  assert.equal(h.core.sinceLeaderContactMs(), 0);
});
