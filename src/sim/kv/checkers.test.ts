import { test } from "node:test";
import assert from "node:assert/strict";
import { KvStore, encodeCommand } from "../../kv/store.js";
import { createRng } from "../rng.js";
import { KvChecker, KvViolationFound } from "./checkers.js";
import type { KvCheckerName } from "./checkers.js";
import { KvWorkload, encodeValue } from "./workload.js";

const PARAMS = { registerClients: 0, leaseClients: 0, watchClients: 0, timeoutUs: 1, thinkMaxUs: 1, leaseTtlMs: [300, 300] as const };

function emptyWorkload(): KvWorkload {
  const world = { nowUs: () => 0, after: () => undefined, sendRequest: () => undefined, nodeIds: () => [] };
  return new KvWorkload(world, createRng(1), PARAMS);
}

function caught(fn: () => void): KvCheckerName | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof KvViolationFound) return err.violation.checker;
    throw err;
  }
}

test("revision-real-time flags a write whose revision is not above one acknowledged before it was sent", () => {
  const w = emptyWorkload();
  w.revisions.push({ clientId: 1, invokeUs: 0, ackUs: 10, revision: 5, wrote: true, what: "put a" });
  w.revisions.push({ clientId: 2, invokeUs: 20, ackUs: 30, revision: 5, wrote: true, what: "put b" });
  assert.equal(caught(() => new KvChecker().checkFinal(w)), "revision-real-time");
  w.revisions.pop();
  w.revisions.push({ clientId: 2, invokeUs: 20, ackUs: 30, revision: 6, wrote: true, what: "put b" });
  assert.equal(caught(() => new KvChecker().checkFinal(w)), null);
});

test("lease-early-expiry flags an expiry sooner than TTL after an acknowledged keep-alive", () => {
  const w = emptyWorkload();
  w.leaseRecords.set(7, { ttlMs: 100, ackedAtUs: [0, 40_000] });
  const early = new KvChecker();
  early.firstRemoval.set(7, { timeUs: 120_000, expired: true });
  assert.equal(caught(() => early.checkFinal(w)), "lease-early-expiry");
  const inTime = new KvChecker();
  inTime.firstRemoval.set(7, { timeUs: 140_000, expired: true });
  assert.equal(caught(() => inTime.checkFinal(w)), null);
});

test("lease-revived flags a keep-alive acknowledged although it was sent after the lease's removal", () => {
  const w = emptyWorkload();
  w.leaseRecords.set(7, { ttlMs: 100, ackedAtUs: [0, 200_000] });
  const checker = new KvChecker();
  checker.firstRemoval.set(7, { timeUs: 150_000, expired: false });
  assert.equal(caught(() => checker.checkFinal(w)), "lease-revived");
});

test("same-state flags two stores that differ at the same applied index", () => {
  const a = new KvStore();
  const b = new KvStore();
  a.applyEntry(1, encodeCommand({ type: "put", key: "a", value: encodeValue(1) }));
  b.applyEntry(1, encodeCommand({ type: "put", key: "a", value: encodeValue(2) }));
  const checker = new KvChecker();
  checker.compareState(1, a);
  assert.equal(caught(() => checker.compareState(2, b)), "same-state");
});

test("revision-monotonic flags a node whose revision goes back, and lease-once a lease removed at two indexes", () => {
  const kv = new KvStore();
  const out = kv.applyEntry(1, encodeCommand({ type: "put", key: "a", value: encodeValue(1) }));
  assert.equal(caught(() => new KvChecker().onApplied(1, kv, out, 1, 3)), "revision-monotonic");
  const store = new KvStore();
  store.applyEntry(1, encodeCommand({ type: "leaseGrant", id: 9, ttlMs: 1000 }));
  const removed = store.applyEntry(2, encodeCommand({ type: "leaseRevoke", id: 9 }));
  const checker = new KvChecker();
  checker.onApplied(1, store, removed, 1, store.revision);
  const again = { ...removed, index: 3 };
  assert.equal(caught(() => checker.onApplied(1, store, again, 1, store.revision)), "lease-once");
});

test("outcome flags a retryable answer for a proposal whose entry then applies, and accepts unknown_outcome", () => {
  const checker = new KvChecker();
  const kv = new KvStore();
  checker.onProposalAnswered(1, 5, 2, "unknown_outcome", false);
  checker.onProposalAnswered(1, 6, 2, "no_leader", true);
  const out5 = { index: 5, result: { ok: true, type: "noop", revision: 1 }, events: [], leaseChanges: [] } as const;
  kv.applyEntry(5, new Uint8Array(0));
  checker.onApplied(2, kv, out5, 2, kv.revision);
  kv.applyEntry(6, new Uint8Array(0));
  assert.equal(caught(() => checker.onApplied(2, kv, { ...out5, index: 6 }, 2, kv.revision)), "outcome");
});
