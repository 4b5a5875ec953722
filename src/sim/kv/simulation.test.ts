import { test } from "node:test";
import assert from "node:assert/strict";
import { runKvSeeds } from "./runner.js";
import { runKvSchedule } from "./simulation.js";
import type { KvCheckerName } from "./checkers.js";
import type { KvMutant } from "./node.js";

/** Clean schedules run in npm test (more in `npm run sim:kv`). */
const CLEAN_SEEDS = 40;
/** A mutant must be caught within this many schedules (the search stops at the first catch). */
const MUTANT_SEED_BOUND = 300;

function firstCaught(mutant: KvMutant): { seed: number; checker: KvCheckerName } | null {
  for (let seed = 1; seed <= MUTANT_SEED_BOUND; seed++) {
    const r = runKvSchedule({ seed, voters: 3, mutant });
    if (r.violation !== null) return { seed, checker: r.violation.checker };
  }
  return null;
}

test("KV schedules of 3 and 5 voters under faults break no KV checker", () => {
  for (const voters of [3, 5] as const) {
    const violations: string[] = [];
    let expired = 0;
    let watchEvents = 0;
    runKvSeeds({
      start: 1, count: CLEAN_SEEDS / 2, voters, mutant: null, clockMs: () => 0,
      onResult: (r) => {
        expired += r.leasesExpired;
        watchEvents += r.watchEvents;
        if (r.violation !== null) violations.push(`seed ${r.seed}: ${r.violation.checker}: ${r.violation.message}`);
      },
    });
    assert.deepEqual(violations, []);
    // The schedules exercise what the checkers check: leases do expire, watchers do receive.
    assert.ok(expired > 0, "no lease expired in any schedule");
    assert.ok(watchEvents > 0, "no watcher received anything");
  }
});

test("the same seed replays the same schedule (same trace hash)", () => {
  const a = runKvSchedule({ seed: 7, voters: 3, mutant: null });
  const b = runKvSchedule({ seed: 7, voters: 3, mutant: null });
  const c = runKvSchedule({ seed: 8, voters: 3, mutant: null });
  assert.equal(a.hash, b.hash);
  assert.equal(a.events, b.events);
  assert.notEqual(a.hash, c.hash);
});

test("a new leader that keeps stale lease deadlines (lease-no-promote) is caught by the lease-expiry checker", () => {
  assert.deepEqual(firstCaught("lease-no-promote")?.checker, "lease-early-expiry");
});

test("a watch stream that drops an event (watch-skip) is caught by the watch-order checker", () => {
  assert.deepEqual(firstCaught("watch-skip")?.checker, "watch-order");
});

test("ranges served without ReadIndex (kv-stale-read) are caught by the linearizability checker", () => {
  assert.deepEqual(firstCaught("kv-stale-read")?.checker, "linearizability");
});

test("keep-alives renewed without ReadIndex (keepalive-without-readindex) are caught by the lease-expiry checker", () => {
  assert.deepEqual(firstCaught("keepalive-without-readindex")?.checker, "lease-early-expiry");
});

test("a node core that sends votes and acks before its fsync (send-all-before-fsync) is caught", () => {
  // Acks of writes a crash then loses let a leader commit entries no quorum holds: Raft's own
  // assertion trips when the node that lost them hears the commit, or the stores diverge.
  const caught = firstCaught("send-all-before-fsync");
  assert.ok(caught !== null, "not caught");
  assert.ok(["core-invariant", "same-state", "linearizability", "revision-monotonic"].includes(caught.checker), caught.checker);
});

test("storage compacting the log before the snapshot is durable (snapshot-compacts-before-save) is caught by the durability check", () => {
  assert.deepEqual(firstCaught("snapshot-compacts-before-save")?.checker, "durability");
});

test("stop() answering in-flight proposals with a retryable code (stop-answers-retry) is caught by the outcome checker", () => {
  assert.deepEqual(firstCaught("stop-answers-retry")?.checker, "outcome");
});

test("a storage failure answering in-flight proposals with a retryable code (storage-failure-answers-retry) is caught by the outcome checker", () => {
  assert.deepEqual(firstCaught("storage-failure-answers-retry")?.checker, "outcome");
});
