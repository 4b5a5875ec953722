// The single-active judge of the host runs, without root: interleaved records of two tokens are an
// overlap; a clean handover is not; a stale record of a host just thawed from a whole-host freeze
// is counted as fenced (a token check refuses it), the same record at any other time is a violation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { actLine, judgeSingleActive, parseActRecords } from "./single-active.js";
import type { ActRecord } from "./single-active.js";

const MS = 1_000_000n;
const rec = (host: string, token: number, ms: number): ActRecord => ({ host, instance: `db-${host}`, token, atNs: BigInt(ms) * MS });
const GRACE = 1000n * MS;

test("a clean handover (the old active's last record before the new one's first) is no overlap", () => {
  const v = judgeSingleActive([rec("a", 5, 0), rec("a", 5, 20), rec("a", 5, 40), rec("b", 9, 60), rec("b", 9, 80)], [], GRACE);
  assert.deepEqual([v.report.overlaps.length, v.report.staleTokens.length, v.tenures, v.fencedAfterResume.length], [0, 0, 2, 0]);
});

test("a stale active's record after the new active started is an overlap", () => {
  const v = judgeSingleActive([rec("a", 5, 0), rec("b", 9, 60), rec("a", 5, 70), rec("b", 9, 80)], [], GRACE);
  assert.equal(v.report.overlaps.length, 1);
});

test("a new active with a token not above the old one is caught", () => {
  const v = judgeSingleActive([rec("a", 9, 0), rec("a", 9, 20), rec("b", 5, 60)], [], GRACE);
  assert.equal(v.report.staleTokens.length, 1);
});

test("a stale record right after a whole-host thaw is fenced by its token; outside the grace it is a violation", () => {
  const freeze = { host: "a", thawNs: 2990n * MS, toNs: 3000n * MS };
  // One stale record while the thaw is under way (SIGCONT sent, not every process resumed yet), one just after.
  const records = [rec("a", 5, 0), rec("a", 5, 20), rec("b", 9, 2000), rec("a", 5, 2995), rec("a", 5, 3001), rec("b", 9, 3020)];
  const v = judgeSingleActive(records, [freeze], GRACE);
  assert.deepEqual([v.report.overlaps.length, v.fencedAfterResume.length], [0, 2]);
  const late = judgeSingleActive([...records, rec("a", 5, 4500)], [freeze], GRACE);
  assert.equal(late.report.overlaps.length, 1);
  // Without the freeze, the same record is an overlap.
  assert.equal(judgeSingleActive(records, [], GRACE).report.overlaps.length, 1);
});

test("records round-trip through their line format; other lines are reported", () => {
  const r = rec("10.231.0.11", 7, 5);
  const parsed = parseActRecords(`${actLine(r)}\nnonsense\n`);
  assert.deepEqual(parsed.records, [r]);
  assert.deepEqual(parsed.bad, ["nonsense"]);
});
