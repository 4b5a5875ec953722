import { test } from "node:test";
import assert from "node:assert/strict";
import { runFailoverSeeds } from "./runner.js";
import { runFailoverSchedule } from "./simulation.js";
import type { FailoverMutant } from "./agent.js";
import type { FailoverCheckerName } from "./checkers.js";

/** Clean schedules run in npm test (more in `npm run sim:failover`). */
const CLEAN_SEEDS = 60;
/** A mutant must be caught within this many schedules (the search stops at the first catch). */
const MUTANT_SEED_BOUND = 300;

function firstCaught(mutant: FailoverMutant, bound = MUTANT_SEED_BOUND): { seed: number; checker: FailoverCheckerName } | null {
  for (let seed = 1; seed <= bound; seed++) {
    const r = runFailoverSchedule({ seed, voters: 3, mutant });
    if (r.violation !== null) return { seed, checker: r.violation.checker };
  }
  return null;
}

test("failover schedules of 3 and 5 machines under faults never run two actives, and an active returns after the heal", () => {
  for (const voters of [3, 5] as const) {
    const violations: string[] = [];
    let handovers = 0;
    runFailoverSeeds({
      start: 1, count: CLEAN_SEEDS / 2, voters, mutant: null, clockMs: () => 0,
      onResult: (r) => {
        if (Number.isFinite(r.closestHandoverMs)) handovers++;
        if (r.violation !== null) violations.push(`seed ${r.seed}: ${r.violation.checker}: ${r.violation.message}`);
      },
    });
    assert.deepEqual(violations, []);
    // The schedules exercise what the checkers check: the active role does move between machines.
    assert.ok(handovers > CLEAN_SEEDS / 8, `only ${handovers} schedules moved the active role`);
  }
});

test("the same seed replays the same failover schedule (same hash)", () => {
  const a = runFailoverSchedule({ seed: 11, voters: 3, mutant: null });
  const b = runFailoverSchedule({ seed: 11, voters: 3, mutant: null });
  const c = runFailoverSchedule({ seed: 12, voters: 3, mutant: null });
  assert.equal(a.hash, b.hash);
  assert.equal(a.events, b.events);
  assert.notEqual(a.hash, c.hash);
});

/** The checkers that see an active outlive its lease: at once (acting-past-lease) or once a successor acts (two-actives). */
const OUTLIVED_LEASE: readonly FailoverCheckerName[] = ["acting-past-lease", "two-actives"];

test("an agent that never fences itself (no-self-fencing) is caught: its active outlives its lease", () => {
  const caught = firstCaught("no-self-fencing");
  assert.ok(caught !== null && OUTLIVED_LEASE.includes(caught.checker), JSON.stringify(caught));
});

test("a fencing deadline at the lease expiry measured from the reply (fencing-deadline-after-lease-expiry) is caught: its active outlives its lease", () => {
  const caught = firstCaught("fencing-deadline-after-lease-expiry");
  assert.ok(caught !== null && OUTLIVED_LEASE.includes(caught.checker), JSON.stringify(caught));
});

test("a controller that promotes before the old holder's lease is gone (promotion-without-waiting-for-old-lease) is caught by the two-actives checker", () => {
  assert.equal(firstCaught("promotion-without-waiting-for-old-lease")?.checker, "two-actives");
});

test("a fencing token that starts again with every holder (token-does-not-grow) is caught by the token-order checker", () => {
  assert.equal(firstCaught("token-does-not-grow")?.checker, "token-order");
});

test("a planned switchover that releases the record before the instance stopped (release-before-stop) is caught by the two-actives checker", () => {
  assert.equal(firstCaught("release-before-stop")?.checker, "two-actives");
});

test("fencing math without the clock-rate bound and margin (fencing-ignores-clock-drift) is caught within 1000 seeds by the acting-past-lease checker", () => {
  // A subtle error (a few ms per TTL): the checker compares the end of acting with the leader's own
  // lease clock, so it does not need a promotion to follow.
  assert.equal(firstCaught("fencing-ignores-clock-drift", 1000)?.checker, "acting-past-lease");
});

test("an agent that fences itself but has no watchdog (no-watchdog) is caught: an agent paused alone leaves its active acting", () => {
  const caught = firstCaught("no-watchdog");
  assert.ok(caught !== null && OUTLIVED_LEASE.includes(caught.checker), JSON.stringify(caught));
});
