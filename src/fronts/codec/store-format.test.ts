import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "../../kv/limits.js";
import { isWellFormed } from "../../kv/keys.js";
import { seededRandom } from "../../kv/testkit.js";
import {
  ENTRY_HEADER_BYTES, ENTRY_PAYLOAD_BYTES_MAX, decodeEntry, encodeEntry, frontKeyOf, frontPrefix, isExpired, storeKeyFits, storeKeyOf, ttlReply,
  type FrontEntry,
} from "./store-format.js";
import { bytesOf, textOf } from "./testdata/wire.js";

describe("front keys in the store", () => {
  const prefix = frontPrefix("redis", 0);

  it("namespaces per front and per Redis database", () => {
    assert.equal(frontPrefix("redis", 3), "/phalanx/fronts/redis/3/");
    assert.equal(frontPrefix("memcached"), "/phalanx/fronts/memcached/");
    assert.throws(() => frontPrefix("redis", -1), /non-negative/);
  });

  it("keeps printable ASCII and percent-encodes everything else, '%' included", () => {
    assert.equal(storeKeyOf(prefix, bytesOf("sess:abc-123")), `${prefix}sess:abc-123`);
    assert.equal(storeKeyOf(prefix, bytesOf("a b%\u0000\u00ff")), `${prefix}a%20b%25%00%FF`);
  });

  it("round-trips and never maps two keys to one (seeded random bytes)", () => {
    const random = seededRandom(42);
    const seen = new Map<string, string>();
    for (let n = 0; n < 2000; n++) {
      const key = Uint8Array.from({ length: Math.floor(random() * 8) }, () => (random() < 0.5 ? 0x25 + Math.floor(random() * 3) : Math.floor(random() * 256)));
      const stored = storeKeyOf(prefix, key);
      assert.ok(isWellFormed(stored));
      const back = frontKeyOf(prefix, stored);
      assert.ok(back !== null, `${stored} did not decode`);
      assert.equal(textOf(back), textOf(key));
      const previous = seen.get(stored);
      assert.ok(previous === undefined || previous === textOf(key), `${JSON.stringify(previous)} and ${JSON.stringify(textOf(key))} collide`);
      seen.set(stored, textOf(key));
    }
  });

  it("decodes only keys it wrote", () => {
    assert.equal(frontKeyOf(prefix, "/other/x"), null);
    assert.equal(frontKeyOf(prefix, `${prefix}bad%G0`), null);
    assert.equal(frontKeyOf(prefix, `${prefix}raw space`), null);
  });

  it("says when a key would not fit the store's key limit", () => {
    const room = MAX_KEY_BYTES - prefix.length;
    assert.equal(storeKeyFits(prefix, new Uint8Array(room).fill(0x61)), true);
    assert.equal(storeKeyFits(prefix, new Uint8Array(room + 1).fill(0x61)), false);
    assert.equal(storeKeyFits(prefix, new Uint8Array(Math.floor(room / 3) + 1).fill(0)), false);
  });
});

describe("front entries in the store", () => {
  it("round-trips a string with expiry and memcached flags", () => {
    const entry: FrontEntry = { type: "string", expireAtMs: 1_900_000_000_123, flags: 0xffffffff, value: bytesOf("session-data\u0000") };
    const bytes = encodeEntry(entry);
    assert.equal(bytes.length, ENTRY_HEADER_BYTES + 13);
    const back = decodeEntry(bytes);
    assert.ok(back?.type === "string");
    assert.equal(back.expireAtMs, entry.expireAtMs);
    assert.equal(back.flags, entry.flags);
    assert.equal(textOf(back.value), "session-data\u0000");
  });

  it("round-trips a hash with binary field names", () => {
    const fields = new Map([["user", bytesOf("ann")], ["\u0000\u00ff", bytesOf("")], ["cart", bytesOf("x".repeat(300))]]);
    const back = decodeEntry(encodeEntry({ type: "hash", expireAtMs: 0, flags: 0, fields }));
    assert.ok(back?.type === "hash");
    assert.deepEqual([...back.fields].map(([k, v]) => [k, textOf(v)]), [...fields].map(([k, v]) => [k, textOf(v)]));
  });

  it("refuses values it did not write, and truncated hashes", () => {
    assert.equal(decodeEntry(bytesOf("plain value")), null);
    assert.equal(decodeEntry(new Uint8Array(5)), null);
    const hash = encodeEntry({ type: "hash", expireAtMs: 0, flags: 0, fields: new Map([["a", bytesOf("bcd")]]) });
    assert.equal(decodeEntry(hash.subarray(0, hash.length - 1)), null);
    const badType = encodeEntry({ type: "string", expireAtMs: 0, flags: 0, value: new Uint8Array(0) });
    badType[1] = 7;
    assert.equal(decodeEntry(badType), null);
  });

  it("a full payload fits the store's value limit exactly", () => {
    assert.equal(encodeEntry({ type: "string", expireAtMs: 0, flags: 0, value: new Uint8Array(ENTRY_PAYLOAD_BYTES_MAX) }).length, MAX_VALUE_BYTES);
  });

  it("refuses an expiry that is not a non-negative safe integer", () => {
    assert.throws(() => encodeEntry({ type: "string", expireAtMs: -1, flags: 0, value: new Uint8Array(0) }), /non-negative safe integer/);
  });
});

describe("expiry checks", () => {
  const now = 1_000_000;
  it("a key without expiry never expires", () => {
    assert.equal(isExpired({ expireAtMs: 0 }, now, 500), false);
  });

  it("hides a key up to the clock-skew margin early, never late", () => {
    assert.equal(isExpired({ expireAtMs: now + 501 }, now, 500), false);
    assert.equal(isExpired({ expireAtMs: now + 500 }, now, 500), true);
    assert.equal(isExpired({ expireAtMs: now }, now, 0), true);
    assert.equal(isExpired({ expireAtMs: now + 1 }, now, 0), false);
  });

  it("TTL and PTTL answer as Redis: -2 missing, -1 persistent, seconds rounded", () => {
    assert.equal(ttlReply(null, now, "s"), -2);
    assert.equal(ttlReply({ expireAtMs: 0 }, now, "ms"), -1);
    assert.equal(ttlReply({ expireAtMs: now + 1499 }, now, "s"), 1);
    assert.equal(ttlReply({ expireAtMs: now + 1500 }, now, "s"), 2);
    assert.equal(ttlReply({ expireAtMs: now + 1500 }, now, "ms"), 1500);
    assert.equal(ttlReply({ expireAtMs: now - 10 }, now, "ms"), 0);
  });
});
