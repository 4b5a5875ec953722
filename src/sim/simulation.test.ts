import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runSchedule } from "./simulation.js";
import { runSeeds } from "./runner.js";
import type { SimMutant } from "./params.js";
import type { CheckerName } from "./checkers.js";

// Wall time is only used for the runner's rates; these tests do not look at it.
const noClock = (): number => 0;

function failures(voters: 3 | 5, start: number, count: number): string[] {
  const found: string[] = [];
  runSeeds({
    start, count, voters, mutant: null, clockMs: noClock,
    onResult: (r) => {
      if (r.violation !== null) found.push(`seed ${r.seed}: ${r.violation.checker}: ${r.violation.message}`);
    },
  });
  return found;
}

describe("simulation of the real Raft core under faults", () => {
  it("finds no violation in 100 schedules of a 3-voter cluster", () => {
    assert.deepEqual(failures(3, 1, 100), []);
  });

  it("finds no violation in 50 schedules of a 5-voter cluster", () => {
    assert.deepEqual(failures(5, 1, 50), []);
  });

  it("replays a seed exactly: same trace and same hash", () => {
    const run = (): { lines: string[]; hash: number; events: number } => {
      const lines: string[] = [];
      const r = runSchedule({ seed: 4242, voters: 3, mutant: null, trace: (l) => lines.push(l) });
      return { lines, hash: r.hash, events: r.events };
    };
    const a = run();
    const b = run();
    assert.ok(a.lines.length > 100, "the trace should have content");
    assert.equal(a.hash, b.hash);
    assert.equal(a.events, b.events);
    assert.deepEqual(a.lines, b.lines);
    const untraced = runSchedule({ seed: 4242, voters: 3, mutant: null });
    assert.equal(untraced.hash, a.hash, "tracing must not change the schedule");
    assert.notEqual(runSchedule({ seed: 4243, voters: 3, mutant: null }).hash, a.hash);
  });

  it("passes seed 2055804 (the soak's failing seed)", () => {
    // Under the register shell it elected a leader with a stale commit index over two committed
    // config entries (valid Raft: the commit index is volatile), which the old checker counted. The
    // simulator now runs the node core, so the seed draws another schedule; that exact shape is
    // kept as a unit case in checkers.test.ts ("accept a new leader whose log holds config entries of earlier leaders ...").
    const r = runSchedule({ seed: 2055804, voters: 5, mutant: null });
    assert.equal(r.violation, null, r.violation === null ? "" : r.violation.message);
  });
});

describe("mutants: every deliberate bug is caught within 300 schedules, by the checker that should", () => {
  const expected: Readonly<Record<SimMutant, readonly CheckerName[]>> = {
    "vote-ignores-log": ["leader-completeness", "state-machine-safety", "acknowledged-write-lost", "linearizability"],
    "commit-old-term": ["leader-completeness", "state-machine-safety", "acknowledged-write-lost", "linearizability"],
    "stale-read": ["linearizability"],
    "conf-change-while-pending": ["single-pending-config-change"],
    "conf-change-before-term-commit": ["single-pending-config-change"],
    "send-before-persist": ["monotonic-hard-state", "election-safety", "leader-completeness", "state-machine-safety", "acknowledged-write-lost", "core-invariant"],
  };
  for (const [mutant, checkers] of Object.entries(expected) as [SimMutant, readonly CheckerName[]][]) {
    it(`catches ${mutant}`, () => {
      let caught: CheckerName | null = null;
      const totals = runSeeds({
        start: 1, count: 300, voters: 3, mutant, stopAtFirstViolation: true, clockMs: noClock,
        onResult: (r) => {
          caught = r.violation?.checker ?? caught;
        },
      });
      assert.ok(totals.firstFailingSeed !== null, `${mutant} went unnoticed in 300 schedules`);
      assert.ok(caught !== null && checkers.includes(caught), `${mutant} was caught by ${String(caught)}`);
    });
  }
});
