// The node core with hand-driven effects: storage calls wait until the test completes them, so the
// test decides what is durable when the node stops, fails or breaks an invariant.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeId, NO_NODE } from "../raft/raft.js";
import type { Message } from "../raft/raft.js";
import type { NodeEffects, SaveBatch, StorageDone } from "./effects.js";
import { NodeCore } from "./node-core.js";
import type { ProposalOutcome } from "./pending-proposals.js";
import { isRetryable } from "./outcome.js";

const N1 = nodeId(1);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A single-voter core whose storage completes only when told to. */
function harness(options: { fatal?: (err: unknown) => void } = {}) {
  const saves: { batch: SaveBatch; done: StorageDone }[] = [];
  const soon: (() => void)[] = [];
  const sent: Message[] = [];
  const effects: NodeEffects = {
    storage: {
      save: (batch, done) => saves.push({ batch, done }),
      saveSnapshot: (_s, done) => done(null),
      compact: (_i, done) => done(null),
    },
    send: (ms) => sent.push(...ms),
    nowMs: () => 0,
    soon: (fn) => soon.push(fn),
    randomInt: () => 0,
    logger: silent,
    onFatal: options.fatal ?? ((err) => { throw err; }),
  };
  const core = new NodeCore({
    id: N1,
    restored: { hardState: { term: 0, vote: NO_NODE, commit: 0 }, snapshot: null, entries: [], bootstrap: { voters: [N1], learners: [] } },
    readTag: "t",
    effects,
    tuning: {
      raft: { electionTicks: 10, heartbeatTicks: 1, maxEntriesPerAppend: 64, maxBytesPerAppend: 1 << 20, maxInflightAppends: 8, maxUncommittedEntries: 100, preVote: false, checkQuorum: false },
      snapshotEveryEntries: 1000, proposalTimeoutMs: 1000, readTimeoutMs: 1000,
    },
  });
  /** Runs scheduled work and completes storage writes until nothing is left. */
  const settle = (): void => {
    for (let i = 0; i < 1000 && (soon.length > 0 || saves.length > 0); i++) {
      while (soon.length > 0) soon.shift()!();
      const s = saves.shift();
      s?.done(null);
    }
  };
  return { core, saves, soon, sent, settle };
}

/** Records the outcome a callback receives (a box, so the compiler does not narrow it to null). */
function capture(): { outcome: ProposalOutcome | null; done: (o: ProposalOutcome) => void; code(): string } {
  const box = {
    outcome: null as ProposalOutcome | null,
    done: (o: ProposalOutcome) => { box.outcome = o; },
    code: () => (box.outcome === null ? "none" : box.outcome.ok ? "ok" : box.outcome.code),
  };
  return box;
}

const put = { type: "put", key: "k", value: new TextEncoder().encode("v") } as const;

test("a proposal applies and answers ok once its entry is durable and committed", () => {
  const h = harness();
  h.core.start();
  h.settle();
  assert.equal(h.core.currentRole, "leader");
  const got = capture();
  h.core.propose(put, got.done);
  h.settle();
  assert.equal(got.code(), "ok");
});

test("stop() answers a proposal that may be in the log unknown_outcome, never a retryable code", () => {
  const h = harness();
  h.core.start();
  h.settle();
  const got = capture();
  h.core.propose(put, got.done);
  while (h.soon.length > 0) h.soon.shift()!();
  assert.equal(h.saves.length, 1, "the entry's write is in flight");
  h.core.stop();
  assert.equal(got.code(), "unknown_outcome");
  assert.equal(isRetryable(got.code()), false);
  // A request after the stop certainly reached no log.
  const after = capture();
  h.core.propose(put, after.done);
  assert.equal(after.code(), "stopped");
});

test("a storage failure reaches the waiting proposal as unknown_outcome and fails the node", () => {
  const h = harness();
  h.core.start();
  h.settle();
  const got = capture();
  h.core.propose(put, got.done);
  while (h.soon.length > 0) h.soon.shift()!();
  h.saves.shift()!.done(new Error("EIO"));
  assert.equal(got.code(), "unknown_outcome");
  assert.equal(h.core.state, "failed");
  const after = capture();
  h.core.propose(put, after.done);
  assert.equal(after.code(), "storage_failed");
});

test("a broken Raft invariant in step() is reported to onFatal and stops the core", () => {
  const fatal: unknown[] = [];
  const h = harness({ fatal: (err) => fatal.push(err) });
  h.core.start();
  h.settle();
  const got = capture();
  h.core.propose(put, got.done);
  // A message addressed to another node is a bug of the shell: Raft asserts.
  h.core.step({ type: "heartbeat", from: nodeId(2), to: nodeId(3), term: 1, commit: 0, context: "" });
  assert.equal(fatal.length, 1);
  assert.equal((fatal[0] as Error).name, "RaftInvariantError");
  assert.equal(h.core.state, "failed");
  assert.equal(got.code(), "unknown_outcome");
});
