// The expiry sweeper on a real single-node store: it deletes due keys through Raft in guarded
// batches, never a key re-set after it was scanned, and counts the fronts' usage.
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
      assert.equal(usage.keys, 302, "usage counts what the scan saw");
      const left = r.kv.range({ key: frontPrefix("redis", 0), rangeEnd: frontPrefix("redis", 0) + "\uffff" });
      assert.ok(left.ok);
      assert.deepEqual(left.kvs.map((kv) => kv.key).sort(), [key("forever"), key("live")]);
      assert.equal(await sweeper.sweepOnce(), 0);
      assert.equal(usage.keys, 2);
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
  return { range: (q, f) => s.range(q, f), txn: (t) => s.txn(t), view: () => s.view(), isLeader: () => s.isLeader() };
}
