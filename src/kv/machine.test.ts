import { test } from "node:test";
import assert from "node:assert/strict";
import type { Command, CommandResult, Compare, KeyValue, RangeResult, TxnResult } from "./store.js";
import { autoCompactRevision, KvStore, MAX_KEY_BYTES, MAX_TXN_OPS, MAX_VALUE_BYTES, prefixRange } from "./store.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Applies commands at consecutive indexes and returns the last result. */
function run(store: KvStore, ...cmds: Command[]): CommandResult {
  let result: CommandResult | undefined;
  for (const cmd of cmds) result = store.apply(store.appliedIndex + 1, cmd).result;
  assert.ok(result);
  return result;
}
const put = (key: string, value: string, extra: { lease?: number; prevKv?: boolean } = {}): Command => ({ type: "put", key, value: enc(value), ...extra });
function okRange(store: KvStore, req: Parameters<KvStore["range"]>[0]): RangeResult {
  const r = store.range(req);
  assert.ok(r.ok, `range failed: ${JSON.stringify(r)}`);
  return r;
}
const view = (kvs: readonly KeyValue[]): string[] => kvs.map((kv) => `${kv.key}=${dec(kv.value)}@${kv.modRevision}`);

test("put and delete move one global revision and per-key create/mod revisions and versions", () => {
  const s = new KvStore();
  assert.equal(s.revision, 0);
  assert.deepEqual(run(s, put("a", "1")), { ok: true, type: "put", revision: 1 });
  run(s, put("b", "1"), put("a", "2"));
  assert.deepEqual(s.get("a"), { key: "a", value: enc("2"), createRevision: 1, modRevision: 3, version: 2, lease: 0 });
  const del = run(s, { type: "delete", key: "a", prevKv: true });
  assert.equal(del.ok && del.type === "delete" && del.deleted, 1);
  assert.equal(del.ok && del.type === "delete" && del.prevKvs?.[0]?.version, 2);
  assert.equal(s.revision, 4);
  assert.equal(s.get("a"), undefined);
  run(s, put("a", "3"));
  assert.deepEqual(s.get("a"), { key: "a", value: enc("3"), createRevision: 5, modRevision: 5, version: 1, lease: 0 });
});

test("deleting a missing key changes nothing and keeps the revision", () => {
  const s = new KvStore();
  run(s, put("a", "1"));
  assert.deepEqual(run(s, { type: "delete", key: "zz" }), { ok: true, type: "delete", revision: 1, deleted: 0 });
  assert.equal(s.revision, 1);
});

test("put returns the replaced version when prevKv is asked", () => {
  const s = new KvStore();
  run(s, put("a", "1"));
  const r = run(s, put("a", "2", { prevKv: true }));
  assert.ok(r.ok && r.type === "put");
  assert.equal(r.prevKv && dec(r.prevKv.value), "1");
});

test("range by prefix honours limit, counts every match and reads older revisions", () => {
  const s = new KvStore();
  run(s, put("app/1", "x"), put("app/2", "y"), put("apq", "no"), put("app/3", "z"), put("ap", "no"));
  const all = okRange(s, prefixRange("app/"));
  assert.deepEqual(view(all.kvs), ["app/1=x@1", "app/2=y@2", "app/3=z@4"]);
  const limited = okRange(s, { ...prefixRange("app/"), limit: 2 });
  assert.deepEqual(view(limited.kvs), ["app/1=x@1", "app/2=y@2"]);
  assert.equal(limited.count, 3);
  assert.equal(limited.more, true);
  run(s, put("app/1", "x2"), { type: "delete", key: "app/2" });
  assert.deepEqual(view(okRange(s, prefixRange("app/")).kvs), ["app/1=x2@6", "app/3=z@4"]);
  assert.deepEqual(view(okRange(s, { ...prefixRange("app/"), revision: 3 }).kvs), ["app/1=x@1", "app/2=y@2"]);
  assert.deepEqual(view(okRange(s, { ...prefixRange("app/"), revision: 6 }).kvs), ["app/1=x2@6", "app/2=y@2", "app/3=z@4"]);
  assert.deepEqual(view(okRange(s, { key: "app/1", revision: 5 }).kvs), ["app/1=x@1"]);
});

test("range over [key, rangeEnd), keysOnly and countOnly", () => {
  const s = new KvStore();
  for (const k of ["a", "b", "c", "d"]) run(s, put(k, k));
  assert.deepEqual(view(okRange(s, { key: "b", rangeEnd: "d" }).kvs), ["b=b@2", "c=c@3"]);
  assert.deepEqual(view(okRange(s, { key: "b", rangeEnd: "\0" }).kvs), ["b=b@2", "c=c@3", "d=d@4"]);
  assert.deepEqual(view(okRange(s, { key: "", rangeEnd: "\0", keysOnly: true }).kvs), ["a=@1", "b=@2", "c=@3", "d=@4"]);
  const counted = okRange(s, { key: "a", rangeEnd: "c", countOnly: true });
  assert.deepEqual([counted.kvs.length, counted.count, counted.more], [0, 2, false]);
});

test("reads at a future revision or below the compaction revision fail clearly", () => {
  const s = new KvStore();
  run(s, put("a", "1"), put("a", "2"), put("a", "3"));
  assert.deepEqual(s.range({ key: "a", revision: 9 }), {
    ok: false,
    code: "future_revision",
    message: "Cannot read at revision 9: the latest is 3",
    revision: 3,
  });
  run(s, { type: "compact", revision: 3 });
  const r = s.range({ key: "a", revision: 2 });
  assert.equal(!r.ok && r.code, "compacted");
  assert.equal(!r.ok && r.compactRevision, 3);
  assert.deepEqual(view(okRange(s, { key: "a", revision: 3 }).kvs), ["a=3@3"]);
});

test("compaction keeps the newest version of every live key and forgets deleted ones", () => {
  const s = new KvStore();
  run(s, put("a", "1"), put("b", "1"), { type: "delete", key: "b" }, put("a", "2"), put("c", "1"));
  run(s, { type: "compact", revision: 5 });
  assert.deepEqual(view(okRange(s, { key: "", rangeEnd: "\0", revision: 5 }).kvs), ["a=2@4", "c=1@5"]);
  assert.equal(s.get("a")?.version, 2);
  const again = run(s, { type: "compact", revision: 4 });
  assert.equal(!again.ok && again.code, "compacted");
  const future = run(s, { type: "compact", revision: 99 });
  assert.equal(!future.ok && future.code, "future_revision");
});

test("txn compares each target with each operator and runs the matching branch", () => {
  const s = new KvStore();
  run(s, put("k", "m"), put("other", "o"), put("k", "m")); // k: create 1, mod 3, version 2
  const cases: [Compare, boolean][] = [
    [{ key: "k", target: "value", op: "=", value: enc("m") }, true],
    [{ key: "k", target: "value", op: "!=", value: enc("m") }, false],
    [{ key: "k", target: "value", op: "<", value: enc("n") }, true],
    [{ key: "k", target: "value", op: ">", value: enc("n") }, false],
    [{ key: "k", target: "version", op: "=", value: 2 }, true],
    [{ key: "k", target: "version", op: ">", value: 2 }, false],
    [{ key: "k", target: "createRevision", op: "=", value: 1 }, true],
    [{ key: "k", target: "createRevision", op: "<", value: 1 }, false],
    [{ key: "k", target: "modRevision", op: ">", value: 2 }, true],
    [{ key: "k", target: "modRevision", op: "!=", value: 3 }, false],
    [{ key: "k", target: "lease", op: "=", value: 0 }, true],
    [{ key: "missing", target: "version", op: "=", value: 0 }, true],
    [{ key: "missing", target: "createRevision", op: ">", value: 0 }, false],
    [{ key: "missing", target: "value", op: "!=", value: enc("x") }, false],
  ];
  for (const [compare, expected] of cases) {
    const r = run(s, {
      type: "txn",
      compares: [compare],
      success: [{ type: "range", key: "k" }],
      failure: [{ type: "range", key: "other" }],
    }) as TxnResult;
    assert.equal(r.succeeded, expected, `${compare.key} ${compare.target} ${compare.op} ${String(compare.value)}`);
    const read = r.responses[0] as RangeResult;
    assert.equal(read.kvs[0]?.key, expected ? "k" : "other");
  }
  assert.equal(s.revision, 3, "read-only txns do not move the revision");
});

test("a txn is one revision, sees its own writes and applies whole or not at all", () => {
  const s = new KvStore();
  run(s, put("x", "0"));
  const r = run(s, {
    type: "txn",
    compares: [{ key: "x", target: "version", op: "=", value: 1 }],
    success: [{ type: "put", key: "a", value: enc("1") }, { type: "delete", key: "x" }, { type: "put", key: "b", value: enc("2") }, { type: "range", key: "a", rangeEnd: "c" }],
    failure: [],
  }) as TxnResult;
  assert.equal(r.revision, 2);
  assert.deepEqual(view((r.responses[3] as RangeResult).kvs), ["a=1@2", "b=2@2"]);
  assert.ok(r.responses.every((x) => x.revision === 2));
  const failed = run(s, {
    type: "txn",
    compares: [],
    success: [{ type: "put", key: "c", value: enc("3") }, { type: "put", key: "d", value: enc("4"), lease: 77 }],
    failure: [],
  });
  assert.equal(!failed.ok && failed.code, "lease_not_found");
  assert.equal(s.get("c"), undefined);
  assert.equal(s.revision, 2);
});

test("a txn may not change a key twice", () => {
  const s = new KvStore();
  const twice = run(s, { type: "txn", compares: [], success: [{ type: "put", key: "a", value: enc("1") }, { type: "put", key: "a", value: enc("2") }], failure: [] });
  assert.equal(!twice.ok && twice.code, "duplicate_key");
  const inDeleted = run(s, { type: "txn", compares: [], success: [{ type: "delete", ...prefixRange("a") }, { type: "put", key: "ab", value: enc("1") }], failure: [] });
  assert.equal(!inDeleted.ok && inDeleted.code, "duplicate_key");
});

test("bad requests get named errors and change nothing", () => {
  const s = new KvStore();
  const codeOf = (cmd: Command): string | undefined => {
    const r = run(s, cmd);
    return r.ok ? undefined : r.code;
  };
  assert.equal(codeOf(put("", "x")), "empty_key");
  assert.equal(codeOf(put("k".repeat(MAX_KEY_BYTES + 1), "x")), "key_too_large");
  assert.equal(codeOf(put("é".repeat(MAX_KEY_BYTES / 2 + 1), "x")), "key_too_large");
  assert.equal(codeOf(put("\ud800", "x")), "invalid_key");
  assert.equal(codeOf({ type: "put", key: "k", value: new Uint8Array(MAX_VALUE_BYTES + 1) }), "value_too_large");
  assert.equal(codeOf(put("k", "x", { lease: 5 })), "lease_not_found");
  assert.equal(codeOf({ type: "delete", key: "b", rangeEnd: "a" }), "invalid_range");
  const ops = Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => ({ type: "put" as const, key: `k${i}`, value: enc("x") }));
  assert.equal(codeOf({ type: "txn", compares: [], success: ops, failure: [] }), "too_many_ops");
  assert.equal(codeOf({ type: "leaseGrant", id: 0, ttlMs: 0 }), "invalid_ttl");
  assert.equal(codeOf({ type: "leaseRevoke", id: 9 }), "lease_not_found");
  assert.equal(s.revision, 0);
  assert.equal(s.appliedIndex, 10);
  assert.deepEqual(s.range({ key: "" }), { ok: false, code: "empty_key", message: "Cannot accept an empty key" });
});

test("apply refuses an index at or below the applied index, and no-op entries only advance it", () => {
  const s = new KvStore();
  const out = s.applyEntry(3, new Uint8Array(0));
  assert.deepEqual(out.result, { ok: true, type: "noop", revision: 0 });
  assert.equal(s.appliedIndex, 3);
  assert.throws(() => s.apply(3, put("a", "1")), /Cannot apply entry 3: entries up to 3 are already applied/);
});

test("autoCompactRevision keeps the configured history and compacts in steps", () => {
  const options = { retainRevisions: 100, minStepRevisions: 10 };
  assert.equal(autoCompactRevision({ revision: 100, compactRevision: 0 }, options), undefined);
  assert.equal(autoCompactRevision({ revision: 109, compactRevision: 0 }, options), undefined);
  assert.equal(autoCompactRevision({ revision: 110, compactRevision: 0 }, options), 10);
  assert.equal(autoCompactRevision({ revision: 115, compactRevision: 10 }, options), undefined);
  assert.equal(autoCompactRevision({ revision: 130, compactRevision: 10 }, options), 30);
  const s = new KvStore();
  for (let i = 0; i < 30; i++) run(s, put("k", `${i}`));
  const target = autoCompactRevision(s, { retainRevisions: 5, minStepRevisions: 1 });
  assert.equal(target, 25);
  run(s, { type: "compact", revision: target as number });
  assert.equal(okRange(s, { key: "k", revision: 25 }).kvs[0]?.version, 25);
});
