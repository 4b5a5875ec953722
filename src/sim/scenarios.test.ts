// Scenario tests: the nemesis restricted to the one choreographed fault that reaches a classic
// Raft bug's trigger. The correct core survives it; the matching mutant does not. (The full
// random mix in simulation.test.ts catches the same mutants; these show why.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runSchedule } from "./simulation.js";
import type { NemesisAction } from "./nemesis.js";
import type { SimMutant } from "./params.js";

function firstViolation(mutant: SimMutant | null, faults: readonly NemesisAction[], voters: 3 | 5, seeds: number): string | null {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSchedule({ seed, voters, mutant, faults });
    if (r.violation !== null) return `seed ${seed}: ${r.violation.checker}: ${r.violation.message}`;
  }
  return null;
}

describe("scenarios", () => {
  it("Figure 8 (Raft paper §5.4.2): a leader never commits an old-term entry by counting replicas", () => {
    assert.equal(firstViolation(null, ["figure-8"], 3, 40), null);
    const caught = firstViolation("commit-old-term", ["figure-8"], 3, 40);
    assert.match(caught ?? "not caught", /leader-completeness|state-machine-safety|acknowledged-write-lost/);
  });

  it("a paused leader cut off from its peers serves no stale read after it resumes (thesis §6.4)", () => {
    assert.equal(firstViolation(null, ["pause-isolated-leader"], 3, 40), null);
    const caught = firstViolation("stale-read", ["pause-isolated-leader"], 3, 40);
    assert.match(caught ?? "not caught", /linearizability/);
  });

  it("a node that crashes right after sending never takes back a vote or a term (§5.2: persist before replying)", () => {
    assert.equal(firstViolation(null, ["crash-after-send", "campaign"], 3, 40), null);
    const caught = firstViolation("send-before-persist", ["crash-after-send", "campaign"], 3, 40);
    assert.match(caught ?? "not caught", /monotonic-hard-state|election-safety|leader-completeness|state-machine-safety/);
  });
});
