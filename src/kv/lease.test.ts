import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApplyOutput, Command } from "./store.js";
import { KvStore, LeaseClock } from "./store.js";
import { seededRandom } from "./testkit.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const apply = (s: KvStore, cmd: Command): ApplyOutput => s.apply(s.appliedIndex + 1, cmd);

function storeWithLeasedKeys(): KvStore {
  const s = new KvStore();
  apply(s, { type: "leaseGrant", id: 7, ttlMs: 2000 });
  apply(s, { type: "put", key: "node/a", value: enc("up"), lease: 7 });
  apply(s, { type: "put", key: "node/b", value: enc("up"), lease: 7 });
  apply(s, { type: "put", key: "plain", value: enc("x") });
  return s;
}

test("a granted lease lists its attached keys; re-putting a key on another lease moves it", () => {
  const s = storeWithLeasedKeys();
  assert.deepEqual(s.lease(7), { id: 7, ttlMs: 2000, keys: ["node/a", "node/b"] });
  const grant = apply(s, { type: "leaseGrant", id: 0, ttlMs: 500 });
  assert.deepEqual(grant.result, { ok: true, type: "leaseGrant", revision: 3, id: 8, ttlMs: 500 });
  assert.deepEqual(grant.leaseChanges, [{ type: "granted", id: 8, ttlMs: 500 }]);
  apply(s, { type: "put", key: "node/b", value: enc("up"), lease: 8 });
  apply(s, { type: "put", key: "node/a", value: enc("plain now") });
  assert.deepEqual(s.lease(7)?.keys, []);
  assert.deepEqual(s.lease(8)?.keys, ["node/b"]);
  assert.deepEqual(s.leases(), [{ id: 7, ttlMs: 2000 }, { id: 8, ttlMs: 500 }]);
  const dup = apply(s, { type: "leaseGrant", id: 8, ttlMs: 500 });
  assert.equal(!dup.result.ok && dup.result.code, "lease_exists");
});

test("revoking a lease deletes its keys in one revision and forgets the lease", () => {
  const s = storeWithLeasedKeys();
  const out = apply(s, { type: "leaseRevoke", id: 7 });
  assert.deepEqual(out.result, { ok: true, type: "leaseRevoke", revision: 4, deleted: 2 });
  assert.deepEqual(out.events.map((e) => [e.type, e.kv.key, e.kv.modRevision]), [["delete", "node/a", 4], ["delete", "node/b", 4]]);
  assert.deepEqual(out.leaseChanges, [{ type: "removed", id: 7 }]);
  assert.equal(s.lease(7), undefined);
  assert.equal(s.get("node/a"), undefined);
  assert.ok(s.get("plain"));
});

test("expiring leases deletes all their keys in one revision, and expiring again is a no-op", () => {
  const s = storeWithLeasedKeys();
  apply(s, { type: "leaseGrant", id: 9, ttlMs: 1000 });
  apply(s, { type: "put", key: "svc/x", value: enc("1"), lease: 9 });
  const first = apply(s, { type: "leaseExpire", ids: [9, 7, 42] });
  assert.deepEqual(first.result, { ok: true, type: "leaseExpire", revision: 5, expired: [7, 9], deleted: 3 });
  assert.deepEqual(first.events.map((e) => e.kv.key), ["node/a", "node/b", "svc/x"]);
  assert.ok(first.events.every((e) => e.kv.modRevision === 5));
  const before = JSON.stringify([s.range({ key: "", rangeEnd: "\0" }), s.leases()]);
  const second = apply(s, { type: "leaseExpire", ids: [9, 7] });
  assert.deepEqual(second.result, { ok: true, type: "leaseExpire", revision: 5, expired: [], deleted: 0 });
  assert.deepEqual(second.events, []);
  const afterRevoke = apply(s, { type: "leaseRevoke", id: 7 });
  assert.equal(!afterRevoke.result.ok && afterRevoke.result.code, "lease_not_found");
  assert.equal(s.revision, 5);
  assert.equal(JSON.stringify([s.range({ key: "", rangeEnd: "\0" }), s.leases()]), before);
});

test("LeaseClock renews deadlines, reports expired leases once per retry period", () => {
  const clock = new LeaseClock({ expireRetryMs: 300 });
  clock.observe([{ type: "granted", id: 1, ttlMs: 1000 }, { type: "granted", id: 2, ttlMs: 100 }], 0);
  assert.deepEqual(clock.expired(99), []);
  assert.deepEqual(clock.renew(2, 50), { ok: true, id: 2, ttlMs: 100 });
  assert.equal(clock.remainingMs(2, 60), 90);
  assert.deepEqual(clock.expired(149), []);
  assert.deepEqual(clock.expired(150), [2]);
  assert.deepEqual(clock.expired(200), [], "an expiry in flight is not proposed twice at once");
  assert.equal(clock.renew(2, 200).ok, false, "an expired lease cannot be kept alive");
  assert.equal(clock.nextDeadlineMs(), 450);
  assert.deepEqual(clock.expired(450), [2], "a lost proposal is retried");
  clock.observe([{ type: "removed", id: 2 }], 460);
  assert.deepEqual(clock.expired(999), []);
  assert.deepEqual(clock.expired(1000), [1]);
  assert.deepEqual(clock.renew(3, 0), { ok: false, code: "lease_not_found", message: "Cannot renew lease 3: not found" });
});

test("a new leader extends every lease by its TTL before expiring any", () => {
  const s = new KvStore();
  apply(s, { type: "leaseGrant", id: 1, ttlMs: 1000 });
  apply(s, { type: "leaseGrant", id: 2, ttlMs: 5000 });
  // The old leader granted both at 0 and died; lease 1 would have run out at 1000. A new leader takes over at 4000.
  const next = new LeaseClock();
  next.promote(s.leases(), 4000);
  assert.deepEqual(next.expired(4000), [], "nothing expires at promotion, however late");
  assert.deepEqual(next.expired(4999), []);
  assert.equal(next.remainingMs(1, 4000), 1000);
  assert.equal(next.remainingMs(2, 4000), 5000);
  assert.deepEqual(next.expired(5000), [1]);
  next.observe(apply(s, { type: "leaseExpire", ids: [1] }).leaseChanges, 5001);
  assert.deepEqual(next.expired(9000), [2]);
  next.demote();
  assert.equal(next.size, 0);
});

test("a lease expires exactly once when the leader's clock runs out, even if its expiry is committed twice", () => {
  const s = new KvStore();
  const clock = new LeaseClock({ expireRetryMs: 100 });
  clock.promote(s.leases(), 0);
  const grant = apply(s, { type: "leaseGrant", id: 0, ttlMs: 1000 });
  assert.ok(grant.result.ok && grant.result.type === "leaseGrant");
  const id = grant.result.id;
  clock.observe(grant.leaseChanges, 0);
  apply(s, { type: "put", key: "member/n1", value: enc("alive"), lease: id });
  assert.ok(clock.renew(id, 900).ok);
  assert.deepEqual(clock.expired(1899), []);
  const first = clock.expired(1900);
  assert.deepEqual(first, [id]);
  // The first proposal is slow to commit; the clock proposes again; both commit.
  const again = clock.expired(2000);
  assert.deepEqual(again, [id]);
  const outs = [first, again].map((ids) => apply(s, { type: "leaseExpire", ids }));
  assert.deepEqual(outs.map((o) => o.events.length), [1, 0]);
  assert.deepEqual(outs.map((o) => (o.result.ok && o.result.type === "leaseExpire" ? o.result.expired : [])), [[id], []]);
  for (const o of outs) clock.observe(o.leaseChanges, 2100);
  assert.equal(s.get("member/n1"), undefined);
  assert.deepEqual(clock.expired(99_999), []);
  assert.equal(clock.size, 0);
});

test("LeaseClock agrees with a plain scan of every deadline under random grants, renewals and expiries", () => {
  const random = seededRandom(99);
  const clock = new LeaseClock({ expireRetryMs: 50 });
  const model = new Map<number, { ttlMs: number; deadlineMs: number; retryAtMs?: number }>();
  let nowMs = 0;
  for (let step = 0; step < 5000; step++) {
    nowMs += Math.floor(random() * 20);
    const r = random();
    const id = 1 + Math.floor(random() * 300);
    if (r < 0.2 && !model.has(id)) {
      const ttlMs = 50 + Math.floor(random() * 500);
      clock.observe([{ type: "granted", id, ttlMs }], nowMs);
      model.set(id, { ttlMs, deadlineMs: nowMs + ttlMs });
    } else if (r < 0.7) {
      const m = model.get(id);
      const expected = m === undefined ? "lease_not_found" : m.deadlineMs <= nowMs ? "lease_expired" : "ok";
      const got = clock.renew(id, nowMs);
      assert.equal(got.ok ? "ok" : got.code, expected);
      if (m && got.ok) m.deadlineMs = nowMs + m.ttlMs;
    } else if (r < 0.8) {
      clock.observe([{ type: "removed", id }], nowMs);
      model.delete(id);
    } else {
      const due = [...model].filter(([, m]) => m.deadlineMs <= nowMs && (m.retryAtMs === undefined || m.retryAtMs <= nowMs)).map(([i]) => i);
      for (const i of due) (model.get(i) as { retryAtMs?: number }).retryAtMs = nowMs + 50;
      assert.deepEqual(clock.expired(nowMs), due.sort((a, b) => a - b), `step ${step}`);
      for (const i of due) if (random() < 0.7) {
        clock.observe([{ type: "removed", id: i }], nowMs);
        model.delete(i);
      }
    }
    if (step % 100 === 0) {
      const times = [...model.values()].map((m) => m.retryAtMs ?? m.deadlineMs);
      assert.equal(clock.nextDeadlineMs(), times.length ? Math.min(...times) : undefined);
    }
  }
  assert.equal(clock.size, model.size);
});
