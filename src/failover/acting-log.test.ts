import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeActingLog, startLine, stopLine } from "./acting-log.js";

test("a clean handover shows no overlap and growing tokens, whatever the order of the lines", () => {
  const r = judgeActingLog([startLine("b", 9, 30n), stopLine("a", 20n), startLine("a", 5, 10n), stopLine("b", 40n)]);
  assert.deepEqual(r.overlaps, []);
  assert.deepEqual(r.staleTokens, []);
  assert.deepEqual(r.intervals.map((i) => [i.instance, i.token, i.startNs, i.endNs]), [["a", 5, 10n, 20n], ["b", 9, 30n, 40n]]);
});

test("two instances acting at once are an overlap; a handover at the same instant is not", () => {
  assert.equal(judgeActingLog([startLine("a", 5, 10n), startLine("b", 9, 15n), stopLine("a", 20n)]).overlaps.length, 1);
  assert.equal(judgeActingLog([startLine("a", 5, 10n), stopLine("a", 20n), startLine("b", 9, 20n)]).overlaps.length, 0);
});

test("an instance killed without a stop line is open until the run's end; a stale token is reported", () => {
  const open = judgeActingLog([startLine("a", 5, 10n), startLine("b", 9, 50n)], 40n);
  assert.equal(open.overlaps.length, 0);
  const unclosed = judgeActingLog([startLine("a", 5, 10n), startLine("b", 9, 50n)]);
  assert.equal(unclosed.overlaps.length, 1);
  const stale = judgeActingLog([startLine("a", 9, 10n), stopLine("a", 20n), startLine("b", 9, 30n)]);
  assert.equal(stale.staleTokens[0]?.instance, "b");
  assert.deepEqual(judgeActingLog(["garbage"]).badLines, ["garbage"]);
});
