// The key policy on its own: which spans overlap the internal prefixes, which watches are refused
// or filtered, which commands are refused, and what a snapshot export keeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { KvStore } from "../kv/store.js";
import type { Command } from "../kv/store.js";
import { PermissionDeniedError } from "./access.js";
import { exportableSnapshot, guardCommand, guardLeaseRevoke, guardRead, overlapsPrefix, watchPolicy } from "./internal-keys.js";

const P = "/phalanx/cluster/";
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test("overlapsPrefix() is exact at both ends of the prefix's range", () => {
  const cases: [string, string | undefined, boolean][] = [
    [`${P}ca`, undefined, true],
    [P, undefined, true],
    ["/phalanx/cluster", undefined, false],
    ["/phalanx/clusterX", undefined, false],
    ["", "\0", true],
    ["/", "0", true],
    ["", P, false], // the end is exclusive
    ["", `${P}\0`, true], // includes the key equal to the prefix
    ["/phalanx/cluster0", "\0", false], // starts just past the prefix
    [`${P}zzz`, "/phalanx/cluster0", true],
    ["/phalanx/cluster0", "/phalanx/cluster1", false],
    [`${P}a`, "\0", true],
  ];
  for (const [key, rangeEnd, expected] of cases) assert.equal(overlapsPrefix({ key, rangeEnd }, P), expected, `[${key}, ${rangeEnd})`);
});

test("watchPolicy() refuses watches on internal keys only, filters wider ones, leaves the rest", () => {
  assert.equal(watchPolicy({ key: `${P}ca` }), "refuse");
  assert.equal(watchPolicy({ key: P, rangeEnd: "/phalanx/cluster0" }), "refuse");
  assert.equal(watchPolicy({ key: `${P}a`, rangeEnd: `${P}b` }), "refuse");
  assert.equal(watchPolicy({ key: "", rangeEnd: "\0" }), "filter");
  assert.equal(watchPolicy({ key: "/phalanx/", rangeEnd: "/phalanx0" }), "filter");
  assert.equal(watchPolicy({ key: `${P}a`, rangeEnd: "\0" }), "filter");
  assert.equal(watchPolicy({ key: "/app/", rangeEnd: "/app0" }), "none");
  assert.equal(watchPolicy({ key: "/phalanx/members/", rangeEnd: "/phalanx/members0" }), "none");
});

test("guardCommand() checks every part of a txn: hidden keys for reads, hidden and member keys for writes", () => {
  const refused = (c: Command): boolean => {
    try {
      guardCommand(c);
      return false;
    } catch (err) {
      assert.ok(err instanceof PermissionDeniedError);
      return true;
    }
  };
  const txn = (part: Partial<Extract<Command, { type: "txn" }>>): Command => ({ type: "txn", compares: [], success: [], failure: [], ...part });
  assert.equal(refused(txn({ compares: [{ key: `${P}ca`, target: "version", op: "=", value: 0 }] })), true);
  assert.equal(refused(txn({ failure: [{ type: "range", key: "", rangeEnd: "\0" }] })), true);
  assert.equal(refused(txn({ success: [{ type: "range", key: "/phalanx/members/", rangeEnd: "/phalanx/members0" }] })), false);
  assert.equal(refused(txn({ success: [{ type: "put", key: "/phalanx/members/0000000001", value: text("x") }] })), true);
  assert.equal(refused(txn({ success: [{ type: "delete", key: "/phalanx/", rangeEnd: "/phalanx0" }] })), true);
  assert.equal(refused({ type: "put", key: "/phalanx/proxy/a", value: text("x") }), false);
  assert.equal(refused({ type: "delete", key: "/app/", rangeEnd: "/app0" }), false);
  assert.equal(refused({ type: "leaseGrant", id: 0, ttlMs: 1000 }), false);
  assert.throws(() => guardRead({ key: "", rangeEnd: "\0" }), /end the range before "\/phalanx\/cluster\/" or start it at "\/phalanx\/cluster0"/);
});

test("exportableSnapshot() drops every version of hidden keys and keeps the rest restorable", () => {
  const kv = new KvStore();
  let index = 0;
  const apply = (c: Command): void => void kv.apply(++index, c);
  apply({ type: "put", key: "/app/a", value: text("1") });
  apply({ type: "put", key: `${P}ca`, value: text("-----BEGIN PRIVATE KEY-----") });
  apply({ type: "put", key: `${P}ca`, value: text("-----BEGIN PRIVATE KEY----- v2") });
  apply({ type: "compact", revision: 2 });
  apply({ type: "put", key: "/phalanx/members/0000000001", value: text("{}") });
  const exported = exportableSnapshot(kv.snapshot());
  assert.ok(!Buffer.from(exported).toString("latin1").includes("PRIVATE KEY"));
  const restored = new KvStore();
  restored.restore(exported);
  assert.equal(restored.get(`${P}ca`), undefined);
  assert.equal(new TextDecoder().decode(restored.get("/app/a")?.value), "1");
  assert.ok(restored.get("/phalanx/members/0000000001"));
  assert.equal(restored.revision, kv.revision);
});

test("the services keys are readable but no client writes them: put, delete, txn part or lease revoke", () => {
  for (const prefix of ["/phalanx/specs/", "/phalanx/nodes/", "/phalanx/drain/", "/phalanx/placements/", "/phalanx/instances/", "/phalanx/events/", "/phalanx/rollouts/"]) {
    guardRead({ key: `${prefix}web` });
    assert.equal(watchPolicy({ key: prefix, rangeEnd: `${prefix.slice(0, -1)}0` }), "none");
    assert.throws(() => guardCommand({ type: "put", key: `${prefix}web`, value: text("{}") }), PermissionDeniedError);
    assert.throws(() => guardCommand({ type: "delete", key: prefix, rangeEnd: `${prefix.slice(0, -1)}0` }), PermissionDeniedError);
    assert.throws(() => guardCommand({ type: "txn", compares: [], success: [{ type: "put", key: `${prefix}x`, value: text("1") }], failure: [] }), PermissionDeniedError);
    assert.throws(() => guardLeaseRevoke(7, [`${prefix}1`]), PermissionDeniedError);
  }
  guardCommand({ type: "put", key: "/phalanx/proxy/frontends/web", value: text("{}") }); // operators' own keys stay writable
});
