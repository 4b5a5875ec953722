// The expiry sweeper on a real single-node store: it deletes due keys through Raft in guarded
// batches, never a key re-set after it was found due, counts the fronts' usage from the applied
// changes, and a sweep's work does not grow with the number of live keys.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { TxnRequest, TxnResult } from "../../kv/store.js";
import { LocalCluster } from "../../server/testing.js";
import { encodeEntry, frontPrefix, storeKeyOf } from "../codec/store-format.js";
import { ReplicaFrontStore } from "./front-store.js";
import type { FrontStore } from "./front-store.js";
import { ExpirySweeper } from "./sweeper.js";
import { FrontUsage } from "./usage.js";

const enc = new TextEncoder();
const key = (k: string) => storeKeyOf(frontPrefix("redis", 0), enc.encode(k));
const entry = (value: string, expireAtMs: number) => encodeEntry({ type: "string", value: enc.encode(value), flags: 0, expireAtMs });

describe("ExpirySweeper", () => {
  it("deletes every due key in batches of at most 128, keeps live ones, and counts usage", async () => {
    const cluster = await LocalCluster.start(1);
    try {
      const r = await cluster.waitForLeader();
      const now = 1_000_000;
      for (let i = 0; i < 300; i++) await r.propose({ type: "put", key: key(`due${i}`), value: entry("x", now - 1) });
      await r.propose({ type: "put", key: key("live"), value: entry("x", now + 60_000) });
      await r.propose({ type: "put", key: key("forever"), value: entry("x", 0) });
      const inner = new ReplicaFrontStore(r, null);
      const batches: number[] = [];
      const store: FrontStore = { ...bind(inner), txn: (t: TxnRequest) => { batches.push(t.success.length); return inner.txn(t); } };
      const usage = new FrontUsage({ maxKeys: 10_000, maxBytes: 1 << 30 });
      const sweeper = new ExpirySweeper({ store, usage, nowMs: () => now, intervalMs: 1000, pageKeys: 50 });
      assert.equal(await sweeper.sweepOnce(), 300);
      assert.deepEqual(batches, [128, 128, 44]);
      assert.equal(usage.keys, 2, "the applied deletes are counted at once");
      const left = r.kv.range({ key: frontPrefix("redis", 0), rangeEnd: frontPrefix("redis", 0) + "\uffff" });
      assert.ok(left.ok);
      assert.deepEqual(left.kvs.map((kv) => kv.key).sort(), [key("forever"), key("live")]);
      assert.equal(await sweeper.sweepOnce(), 0);
      assert.equal(usage.keys, 2);
    } finally {
      await cluster.close();
    }
  });

  it("counts keys, bytes and databases from applied changes, and does not re-read the namespace to sweep", async () => {
    const cluster = await LocalCluster.start(1);
    const now = 1_000_000;
    let sweeper: ExpirySweeper | null = null;
    try {
      const r = await cluster.waitForLeader();
      const usage = new FrontUsage({ maxKeys: 10_000, maxBytes: 1 << 30 });
      sweeper = new ExpirySweeper({ store: new ReplicaFrontStore(r, null), usage, nowMs: () => now, intervalMs: 1000, pageKeys: 7 });
      await putMany(r, "before", 20, entry("x", now + 60_000)); // found by the first (paged) scan
      assert.equal(await sweeper.sweepOnce(), 0);
      assert.equal(sweeper.entriesScanned, 20);
      assert.equal(usage.keys, 20);
      await putMany(r, "after", 30, entry("x", 0)); // seen through the applied changes
      await r.propose({ type: "delete", key: key("before0") });
      assert.equal(usage.keys, 49);
      const expected = r.kv.range({ key: frontPrefix("redis", 0), rangeEnd: frontPrefix("redis", 0) + "\uffff" });
      assert.ok(expected.ok);
      assert.equal(usage.bytes, expected.kvs.reduce((n, kv) => n + kv.key.length + kv.value.length, 0));
      assert.deepEqual(usage.databases.get(0), { keys: 49, expires: 19 });
      assert.equal(await sweeper.sweepOnce(), 0);
      assert.equal(sweeper.entriesScanned, 20, "no sweep after the first reads the namespace again");
    } finally {
      sweeper?.stop();
      await cluster.close();
    }
  });

  it("does bounded work per sweep with 50 000 live keys: only the due ones are touched", async () => {
    const cluster = await LocalCluster.start(1);
    let now = 1_000_000;
    const r = await cluster.waitForLeader();
    const sweeper = new ExpirySweeper({ store: new ReplicaFrontStore(r, null), usage: new FrontUsage({ maxKeys: 1_000_000, maxBytes: 1 << 30 }), nowMs: () => now, intervalMs: 1000 });
    try {
      assert.equal(await sweeper.sweepOnce(), 0); // attached before the keys exist: everything arrives as changes
      await putMany(r, "ttl", 25_000, entry("x", now + 3_600_000));
      await putMany(r, "forever", 25_000, entry("x", 0));
      await putMany(r, "due", 10, entry("x", now + 500));
      const touchedBefore = sweeper.entriesTouched;
      assert.equal(await sweeper.sweepOnce(), 0, "nothing is due yet");
      assert.equal(sweeper.entriesTouched - touchedBefore, 0);
      now += 1000;
      assert.equal(await sweeper.sweepOnce(), 10);
      assert.ok(sweeper.entriesTouched - touchedBefore <= 10, `a sweep of 10 due keys among 50 010 touched ${sweeper.entriesTouched - touchedBefore} index entries`);
      assert.equal(sweeper.entriesScanned, 0, "the namespace was never read in full");
      const left = r.kv.range({ key: frontPrefix("redis", 0), rangeEnd: frontPrefix("redis", 0) + "\uffff", countOnly: true });
      assert.ok(left.ok);
      assert.equal(left.count, 50_000);
    } finally {
      sweeper.stop();
      await cluster.close();
    }
  });

  it("reports a failed full scan and scans again at the next sweep", async () => {
    const cluster = await LocalCluster.start(1);
    try {
      const r = await cluster.waitForLeader();
      const now = 1_000_000;
      await r.propose({ type: "put", key: key("due"), value: entry("x", now - 1) });
      const inner = new ReplicaFrontStore(r, null);
      let failures = 1;
      const store: FrontStore = {
        ...bind(inner),
        localPage: (f, e, l) => {
          if (failures-- > 0) throw new Error("page read failed");
          return inner.localPage(f, e, l);
        },
      };
      const errors: unknown[] = [];
      const sweeper = new ExpirySweeper({ store, usage: new FrontUsage({ maxKeys: 100, maxBytes: 1 << 20 }), nowMs: () => now, intervalMs: 1000, onError: (err) => errors.push(err) });
      await assert.rejects(sweeper.sweepOnce(), /expiry index scan failed/);
      assert.equal(errors.length, 1);
      assert.equal(await sweeper.sweepOnce(), 1, "the second sweep rescans and deletes the due key");
      sweeper.stop();
    } finally {
      await cluster.close();
    }
  });

  it("does not delete a key re-set between the scan and the delete", async () => {
    const cluster = await LocalCluster.start(1);
    try {
      const r = await cluster.waitForLeader();
      const now = 1_000_000;
      await r.propose({ type: "put", key: key("a"), value: entry("old", now - 1) });
      await r.propose({ type: "put", key: key("b"), value: entry("old", now - 1) });
      const inner = new ReplicaFrontStore(r, null);
      let raced = false;
      const store: FrontStore = {
        ...bind(inner),
        async txn(t: TxnRequest): Promise<TxnResult> {
          if (!raced) {
            raced = true; // a client re-sets "a" (a fresh session) right before the sweep's delete commits
            await r.propose({ type: "put", key: key("a"), value: entry("new", now + 60_000) });
          }
          return inner.txn(t);
        },
      };
      const sweeper = new ExpirySweeper({ store, usage: new FrontUsage({ maxKeys: 100, maxBytes: 1 << 20 }), nowMs: () => now, intervalMs: 1000 });
      assert.equal(await sweeper.sweepOnce(), 1, "only b is deleted");
      const a = r.kv.range({ key: key("a") });
      assert.ok(a.ok);
      assert.equal(a.kvs.length, 1);
      const b = r.kv.range({ key: key("b") });
      assert.ok(b.ok);
      assert.equal(b.kvs.length, 0);
    } finally {
      await cluster.close();
    }
  });
});

function bind(s: FrontStore): FrontStore {
  return {
    range: (q, f) => s.range(q, f), txn: (t) => s.txn(t), view: () => s.view(), isLeader: () => s.isLeader(),
    localGet: (k) => s.localGet(k), localPage: (f, e, l) => s.localPage(f, e, l), onLocalChanges: (l) => s.onLocalChanges(l),
  };
}

/** Puts `count` keys named `${name}${i}` in txns of 128 (the store's op limit per txn). */
async function putMany(r: Awaited<ReturnType<LocalCluster["waitForLeader"]>>, name: string, count: number, value: Uint8Array): Promise<void> {
  for (let i = 0; i < count; i += 128) {
    const success = [];
    for (let j = i; j < Math.min(count, i + 128); j++) success.push({ type: "put" as const, key: key(`${name}${j}`), value });
    await r.propose({ type: "txn", compares: [], success, failure: [] });
  }
}
