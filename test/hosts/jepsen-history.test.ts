// The Jepsen run's history check without root: recorded histories (as the workers write them) that
// are linearizable pass, and doctored ones — a stale read, a lost acknowledged write, a write
// refused as retryable that was applied anyway — are caught by the project's checker. Also: the
// nemesis plan is a function of its seed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkHistory, countHistory, parseHistory } from "./jepsen-history.js";
import type { RecordedOp } from "./jepsen-history.js";
import { describeStep, planNemesis, primaryOf, withPrimary } from "./nemesis-plan.js";

const write = (client: number, key: string, value: number, callMs: number, returnMs: number): RecordedOp => ({ client, input: { kind: "write", key, value }, type: "ok", output: { kind: "write" }, callMs, returnMs });
const read = (client: number, key: string, value: number | null, callMs: number, returnMs: number): RecordedOp => ({ client, input: { kind: "read", key }, type: "ok", output: { kind: "read", value }, callMs, returnMs });
const cas = (client: number, key: string, expected: number | null, value: number, ok: boolean, callMs: number, returnMs: number): RecordedOp => ({ client, input: { kind: "cas", key, expected, value }, type: "ok", output: { kind: "cas", ok }, callMs, returnMs });

/** A history that is linearizable: two clients, two keys, one unknown write that did apply. */
const GOOD: RecordedOp[] = [
  write(1, "a", 101, 0, 10),
  read(2, "a", 101, 12, 20),
  cas(1, "a", 101, 102, true, 21, 30),
  { client: 2, input: { kind: "write", key: "b", value: 201 }, type: "info", code: "unknown_outcome", callMs: 22, returnMs: 1500 },
  read(1, "b", 201, 1600, 1610),
  cas(2, "a", 101, 103, false, 31, 40),
  read(2, "a", 102, 41, 50),
];

test("a linearizable recorded history passes, with an unknown write that applied late", () => {
  const v = checkHistory(GOOD);
  assert.equal(v.result.verdict, "ok", v.explanation);
  assert.equal(v.checkedOps, GOOD.length);
  assert.deepEqual([countHistory(GOOD).ok, countHistory(GOOD).info], [6, 1]);
});

test("an unknown write that never applied is fine too; an unanswered read is left out", () => {
  const h = GOOD.filter((o) => !(o.input.key === "b" && o.type === "ok")).concat([{ client: 3, input: { kind: "read", key: "b" }, type: "fail", code: "timeout", callMs: 5, returnMs: 9 }, read(3, "b", null, 10, 11)]);
  assert.equal(checkHistory(h).result.verdict, "ok");
});

test("a doctored stale read (the old value after a newer write was acknowledged) is caught", () => {
  const doctored = [...GOOD, read(1, "a", 101, 60, 70)];
  const v = checkHistory(doctored);
  assert.equal(v.result.verdict, "illegal");
  assert.equal(v.result.key, "a");
  assert.match(v.explanation, /read\(a\) -> 101/);
});

test("a doctored lost write (an acknowledged write no later read sees) is caught", () => {
  const doctored = [...GOOD, write(1, "a", 104, 60, 70), read(2, "a", 102, 80, 90)];
  assert.equal(checkHistory(doctored).result.verdict, "illegal");
});

test("a write refused as certainly-not-applied whose value is then read is caught (a wrong 'retry')", () => {
  const refused: RecordedOp = { client: 1, input: { kind: "write", key: "c", value: 301 }, type: "fail", code: "not_leader", callMs: 0, returnMs: 5 };
  assert.equal(checkHistory([refused, read(2, "c", null, 6, 7)]).result.verdict, "ok");
  assert.equal(checkHistory([refused, read(2, "c", 301, 6, 7)]).result.verdict, "illegal");
  // The same write with an unknown outcome may have applied: no violation.
  assert.equal(checkHistory([{ ...refused, type: "info", code: "unknown_outcome" }, read(2, "c", 301, 6, 7)]).result.verdict, "ok");
});

test("parseHistory reads the workers' lines and refuses a line that is not a record", () => {
  const text = GOOD.map((o) => JSON.stringify(o)).join("\n") + "\n";
  assert.deepEqual(parseHistory(text), GOOD);
  assert.throws(() => parseHistory(`${text}{"hello":1}\n`), /line 8: not an operation record/);
});

test("the nemesis plan is a function of its seed; withPrimary moves the target to the leader", () => {
  const o = { hosts: ["h1", "h2", "h3"], movableClients: ["c2"], durationMs: 60_000 };
  const a = planNemesis({ ...o, seed: 7 });
  assert.deepEqual(planNemesis({ ...o, seed: 7 }), a);
  assert.notDeepEqual(planNemesis({ ...o, seed: 8 }), a);
  assert.ok(a.reduce((n, s) => n + s.holdMs + s.quietMs, 0) >= 60_000);
  const kinds = new Set(planNemesis({ ...o, seed: 7, durationMs: 600_000 }).map((s) => s.fault.kind));
  assert.deepEqual([...kinds].sort(), ["bridge", "freeze", "kill", "loss", "one-way", "partition"]);
  for (const step of a) {
    for (const h of o.hosts) {
      const moved = withPrimary(step, h);
      assert.equal(primaryOf(moved.fault), h, describeStep(moved));
    }
  }
  const p = planNemesis({ ...o, seed: 3, kinds: ["partition"] })[0]!;
  assert.equal(p.fault.kind, "partition");
  const moved = withPrimary(p, "h2");
  assert.deepEqual(moved.fault, { kind: "partition", minority: ["h2"] });
});
