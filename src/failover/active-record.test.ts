import { test } from "node:test";
import assert from "node:assert/strict";
import { KvStore } from "../kv/store.js";
import type { Command, CommandResult, TxnResult } from "../kv/store.js";
import { encodeCommand } from "../kv/store.js";
import { acquireCommand, acquireOutcome, activeKey, decodeActiveHolder, releaseCommand } from "./active-record.js";

function applier(): (cmd: Command) => CommandResult {
  const kv = new KvStore();
  let index = 0;
  return (cmd) => kv.applyEntry(++index, encodeCommand(cmd)).result;
}

function txn(r: CommandResult): TxnResult {
  assert.ok(r.ok && r.type === "txn", JSON.stringify(r));
  return r;
}

test("acquire succeeds only when the key is absent; the loser learns the holder and its token", () => {
  const apply = applier();
  const leaseA = apply({ type: "leaseGrant", id: 0, ttlMs: 1000 });
  const leaseB = apply({ type: "leaseGrant", id: 0, ttlMs: 1000 });
  assert.ok(leaseA.ok && leaseA.type === "leaseGrant" && leaseB.ok && leaseB.type === "leaseGrant");
  const a = acquireOutcome(txn(apply(acquireCommand({ service: "db", node: 1, leaseId: leaseA.id, promotedAtMs: 5 }))));
  assert.ok(a.ok);
  const b = acquireOutcome(txn(apply(acquireCommand({ service: "db", node: 2, leaseId: leaseB.id, promotedAtMs: 6 }))));
  assert.deepEqual(b, { ok: false, holder: { record: { service: "db", node: 1, leaseId: leaseA.id, promotedAtMs: 5 }, token: a.token } });
});

test("tokens grow across holders: the lease's expiry frees the key and the next put has a higher revision", () => {
  const apply = applier();
  const l1 = apply({ type: "leaseGrant", id: 0, ttlMs: 1000 });
  const l2 = apply({ type: "leaseGrant", id: 0, ttlMs: 1000 });
  assert.ok(l1.ok && l1.type === "leaseGrant" && l2.ok && l2.type === "leaseGrant");
  const first = acquireOutcome(txn(apply(acquireCommand({ service: "db", node: 1, leaseId: l1.id, promotedAtMs: 0 }))));
  apply({ type: "leaseExpire", ids: [l1.id] });
  const second = acquireOutcome(txn(apply(acquireCommand({ service: "db", node: 2, leaseId: l2.id, promotedAtMs: 0 }))));
  assert.ok(first.ok && second.ok);
  assert.ok(second.token > first.token);
});

test("a late release of an old generation leaves the successor's record alone", () => {
  const apply = applier();
  const l1 = apply({ type: "leaseGrant", id: 0, ttlMs: 1000 });
  assert.ok(l1.ok && l1.type === "leaseGrant");
  const first = acquireOutcome(txn(apply(acquireCommand({ service: "db", node: 1, leaseId: l1.id, promotedAtMs: 0 }))));
  assert.ok(first.ok);
  assert.equal(txn(apply(releaseCommand("db", first.token))).succeeded, true);
  const second = acquireOutcome(txn(apply(acquireCommand({ service: "db", node: 1, leaseId: l1.id, promotedAtMs: 0 }))));
  assert.ok(second.ok);
  assert.equal(txn(apply(releaseCommand("db", first.token))).succeeded, false);
  const read = apply({ type: "txn", compares: [], success: [{ type: "range", key: activeKey("db") }], failure: [] });
  const kv = txn(read).responses[0];
  assert.ok(kv?.type === "range" && kv.kvs[0] !== undefined);
  assert.equal(decodeActiveHolder(kv.kvs[0])?.token, second.token);
});
