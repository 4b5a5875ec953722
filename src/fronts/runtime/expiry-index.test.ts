// The expiry index alone: due keys come out earliest first and only once, changed or removed keys
// leave no live deadline behind, counts follow every change, and stale deadlines do not pile up.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { KeyValue } from "../../kv/store.js";
import { encodeEntry, frontPrefix, storeKeyOf } from "../codec/store-format.js";
import { ExpiryIndex } from "./expiry-index.js";

const enc = new TextEncoder();
const key = (k: string, db = 0) => storeKeyOf(frontPrefix("redis", db), enc.encode(k));
const kvOf = (k: string, expireAtMs: number): KeyValue => ({
  key: k, value: encodeEntry({ type: "string", value: enc.encode("v"), flags: 0, expireAtMs }), createRevision: 1, modRevision: 1, version: 1, lease: 0,
});

describe("ExpiryIndex", () => {
  it("hands out due keys earliest first, each once, and requeues only what is still tracked", () => {
    const index = new ExpiryIndex();
    index.set(key("c"), kvOf(key("c"), 300));
    index.set(key("a"), kvOf(key("a"), 100));
    index.set(key("b"), kvOf(key("b"), 200));
    index.set(key("never"), kvOf(key("never"), 0));
    assert.deepEqual(index.takeDue(50, 10), []);
    assert.deepEqual(index.takeDue(250, 10), [key("a"), key("b")]);
    assert.deepEqual(index.takeDue(250, 10), [], "taken keys are not handed out twice");
    index.set(key("a"), undefined); // a's delete applied; b's failed
    index.requeue([key("a"), key("b")]);
    assert.deepEqual(index.takeDue(1000, 10), [key("b"), key("c")]);
  });

  it("drops the deadline of a key that was re-set or removed", () => {
    const index = new ExpiryIndex();
    index.set(key("s"), kvOf(key("s"), 100));
    index.set(key("s"), kvOf(key("s"), 5000)); // the session was touched: new expiry
    index.set(key("gone"), kvOf(key("gone"), 100));
    index.set(key("gone"), undefined);
    assert.deepEqual(index.takeDue(1000, 10), []);
    assert.deepEqual(index.takeDue(5000, 10), [key("s")]);
  });

  it("keeps keys, bytes and per-database counts exact across puts, overwrites and removals", () => {
    const index = new ExpiryIndex();
    const a = kvOf(key("a", 0), 100);
    const b = kvOf(key("b", 3), 0);
    index.set(a.key, a);
    index.set(b.key, b);
    index.set(b.key, b); // an overwrite is not a new key
    assert.equal(index.keys, 2);
    assert.equal(index.bytes, a.key.length + a.value.length + b.key.length + b.value.length);
    assert.deepEqual([...index.databases.entries()].sort(), [[0, { keys: 1, expires: 1 }], [3, { keys: 1, expires: 0 }]]);
    index.set(a.key, undefined);
    assert.equal(index.keys, 1);
    assert.equal(index.databases.has(0), false);
  });

  it("bounds stale deadlines: a key re-set many times does not grow the heap without limit", () => {
    const index = new ExpiryIndex();
    for (let i = 0; i < 100; i++) index.set(key(`k${i}`), kvOf(key(`k${i}`), 10_000));
    for (let round = 0; round < 200; round++) for (let i = 0; i < 100; i++) index.set(key(`k${i}`), kvOf(key(`k${i}`), 10_000 + round));
    assert.ok(index.heapSize <= 2 * 100 + 1024 + 1, `heap holds ${index.heapSize} entries for 100 keys`);
    assert.equal(index.takeDue(20_000, 1000).length, 100);
  });
});
