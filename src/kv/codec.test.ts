import { test } from "node:test";
import assert from "node:assert/strict";
import type { Command } from "./store.js";
import { decodeCommand, encodeCommand, inRange, prefixEnd, prefixRange, RANGE_END_ALL } from "./store.js";
import { CommandGenerator, seededRandom } from "./testkit.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const EVERY_COMMAND: Command[] = [
  { type: "put", key: "a", value: enc("1") },
  { type: "put", key: "ключ/🔑", value: new Uint8Array([0, 255, 7]), lease: 2 ** 40, prevKv: false },
  { type: "put", key: "k", value: new Uint8Array(0), lease: 0, prevKv: true },
  { type: "delete", key: "a" },
  { type: "delete", key: "dir/", rangeEnd: "dir0", prevKv: true },
  { type: "delete", key: "", rangeEnd: RANGE_END_ALL },
  {
    type: "txn",
    compares: [
      { key: "a", target: "value", op: "=", value: enc("v") },
      { key: "a", target: "version", op: "!=", value: 0 },
      { key: "b", target: "createRevision", op: "<", value: 12 },
      { key: "c", target: "modRevision", op: ">", value: Number.MAX_SAFE_INTEGER },
      { key: "d", target: "lease", op: "=", value: 9 },
    ],
    success: [
      { type: "range", key: "a" },
      { type: "range", key: "p/", rangeEnd: "p0", limit: 10, revision: 4, keysOnly: true, countOnly: false },
      { type: "put", key: "x", value: enc("y"), lease: 3, prevKv: true },
      { type: "delete", key: "z", prevKv: false },
    ],
    failure: [{ type: "put", key: "f", value: enc("g") }],
  },
  { type: "txn", compares: [], success: [], failure: [] },
  { type: "leaseGrant", id: 0, ttlMs: 1500 },
  { type: "leaseGrant", id: 123456789, ttlMs: 1 },
  { type: "leaseRevoke", id: 5 },
  { type: "leaseExpire", ids: [] },
  { type: "leaseExpire", ids: [1, 2, 300000] },
  { type: "compact", revision: 77 },
];

test("every command survives encode then decode unchanged, and encodes deterministically", () => {
  for (const cmd of EVERY_COMMAND) {
    const bytes = encodeCommand(cmd);
    assert.deepEqual(decodeCommand(bytes), cmd);
    assert.deepEqual(encodeCommand(decodeCommand(bytes)), bytes);
  }
  const random = seededRandom(42);
  const gen = new CommandGenerator(random);
  for (let i = 0; i < 500; i++) {
    const cmd = gen.next(i);
    assert.deepEqual(decodeCommand(encodeCommand(cmd)), normalise(cmd));
  }
});

/** Drops undefined fields (they are not encoded), recursively. */
function normalise<T>(value: T): T {
  if (Array.isArray(value)) return value.map(normalise) as T;
  if (value instanceof Uint8Array || value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalise(v);
  return out as T;
}

test("decodeCommand refuses truncated, trailing and unknown bytes", () => {
  const bytes = encodeCommand(EVERY_COMMAND[6] as Command);
  assert.throws(() => decodeCommand(bytes.subarray(0, bytes.length - 1)), /Cannot decode/);
  assert.throws(() => decodeCommand(new Uint8Array([...bytes, 0])), /trailing data/);
  assert.throws(() => decodeCommand(new Uint8Array([9, 0])), /format 9/);
  assert.throws(() => decodeCommand(new Uint8Array([1, 99])), /command tag 99/);
});

test("a put encodes compactly and quickly", (t) => {
  const cmd: Command = { type: "put", key: "bench/key-000123", value: new Uint8Array(100), lease: 7 };
  const bytes = encodeCommand(cmd);
  assert.ok(bytes.length <= 16 + 100 + 8, `put is ${bytes.length} bytes`);
  assert.equal(bytes.buffer.byteLength, bytes.length, "a put is encoded into one exactly sized buffer");
  const n = 2_000;
  for (let i = 0; i < n; i++) decodeCommand(encodeCommand(cmd)); // warm up
  let started = performance.now();
  for (let i = 0; i < n; i++) encodeCommand(cmd);
  const encodeUs = ((performance.now() - started) * 1000) / n;
  started = performance.now();
  for (let i = 0; i < n; i++) decodeCommand(bytes);
  const decodeUs = ((performance.now() - started) * 1000) / n;
  t.diagnostic(`put of 100 bytes: ${bytes.length} bytes encoded, encode ${encodeUs.toFixed(2)} µs, decode ${decodeUs.toFixed(2)} µs`);
});

test("prefixEnd gives the first key after every key with the prefix", () => {
  assert.equal(prefixEnd("a/"), "a0");
  assert.equal(prefixEnd("a\uffff"), "b");
  assert.equal(prefixEnd(""), RANGE_END_ALL);
  assert.equal(prefixEnd("\uffff"), RANGE_END_ALL);
  assert.equal(prefixEnd("x\ud7ff"), "x\ud800\udc00");
  assert.equal(prefixEnd("x\ud83d\udfff"), "x\ud83e\udc00");
  assert.equal(prefixEnd("x\udbff\udfff"), "x\ue000");
  const keys = ["a", "a/", "a/b", "a/\uffff", "a/😀", "a0", "b", "a.", "a/\ue000"];
  const r = prefixRange("a/");
  assert.deepEqual(keys.filter((k) => inRange(r, k)), keys.filter((k) => k.startsWith("a/")));
  const emoji = prefixRange("😀");
  assert.equal(inRange(emoji, "😀x"), true);
  assert.equal(inRange(emoji, "😁"), false);
});
