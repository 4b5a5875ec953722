// Health decisions, driven by explicit times: rise/fall hysteresis, ejection with exponential
// backoff, the ejection cap, return and forgiveness.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decideActive, initialActiveState, type ActiveHealthState } from "./decideActive.js";
import {
  decideOutlier,
  INITIAL_OUTLIER_STATE,
  type OutlierDecision,
  type OutlierPolicy,
  type OutlierState,
} from "./decideOutlier.js";
import type { AttemptOutcome } from "../types.js";

const riseFall = { rise: 2, fall: 3 };

function feed(state: ActiveHealthState, results: readonly boolean[]): { state: ActiveHealthState; decisions: string[] } {
  const decisions: string[] = [];
  let s = state;
  results.forEach((ok, i) => {
    const r = decideActive(s, { ok }, i * 1000, riseFall);
    s = r.state;
    decisions.push(r.decision);
  });
  return { state: s, decisions };
}

test("an up backend goes down only after `fall` consecutive failures", () => {
  const { state, decisions } = feed(initialActiveState(0), [false, false, true, false, false, false]);
  assert.deepEqual(decisions, ["none", "none", "none", "none", "none", "became_down"]);
  assert.equal(state.status, "down");
  assert.equal(state.sinceMs, 5000);
});

test("a down backend comes back only after `rise` consecutive successes", () => {
  const { state, decisions } = feed({ ...initialActiveState(0, "down"), pending: false }, [true, false, true, true, true]);
  assert.deepEqual(decisions, ["none", "none", "none", "became_up", "none"]);
  assert.equal(state.status, "up");
});

test("a backend that joins down comes up on its first passing check, or after `rise` once one failed", () => {
  assert.deepEqual(feed(initialActiveState(0, "down"), [true]).decisions, ["became_up"]);
  assert.deepEqual(feed(initialActiveState(0, "down"), [false, true, true]).decisions, ["none", "none", "became_up"]);
});

const policy: OutlierPolicy = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 5000, maxEjectionPercent: 50 };
const roomy = { poolSize: 4, ejectedCount: 0 };

function attempt(
  state: OutlierState,
  outcome: AttemptOutcome,
  nowMs: number,
  pool = roomy,
): { state: OutlierState; decision: OutlierDecision } {
  return decideOutlier(state, { kind: "attempt", outcome }, nowMs, policy, pool);
}

function failTimes(state: OutlierState, n: number, nowMs: number, pool = roomy): { state: OutlierState; decision: OutlierDecision } {
  let r = { state, decision: { kind: "none" } as OutlierDecision };
  for (let i = 0; i < n; i++) r = attempt(r.state, "connect_error", nowMs, pool);
  return r;
}

test("consecutive failures eject a backend; a success in between resets the count", () => {
  let r = failTimes(INITIAL_OUTLIER_STATE, 2, 0);
  r = attempt(r.state, "success", 0);
  r = attempt(r.state, "http_5xx", 0);
  r = attempt(r.state, "reset", 0);
  assert.equal(r.decision.kind, "none");
  r = attempt(r.state, "http_5xx", 10);
  assert.deepEqual(r.decision, { kind: "eject", ejectionMs: 1000, untilMs: 1010 });
});

test("ejection time doubles with each ejection up to the cap, and the backend returns when it ends", () => {
  let state = INITIAL_OUTLIER_STATE;
  let now = 0;
  const lengths: number[] = [];
  for (let n = 0; n < 5; n++) {
    const r = failTimes(state, 3, now);
    assert.equal(r.decision.kind, "eject");
    if (r.decision.kind !== "eject") return;
    lengths.push(r.decision.ejectionMs);
    // Still ejected just before the time is up: ticks and late outcomes change nothing.
    const early = decideOutlier(r.state, { kind: "tick" }, r.decision.untilMs - 1, policy, roomy);
    assert.equal(early.decision.kind, "none");
    assert.equal(attempt(r.state, "connect_error", r.decision.untilMs - 1).decision.kind, "none");
    const back = decideOutlier(r.state, { kind: "tick" }, r.decision.untilMs, policy, roomy);
    assert.equal(back.decision.kind, "return");
    state = back.state;
    now = r.decision.untilMs + 100;
  }
  assert.deepEqual(lengths, [1000, 2000, 4000, 5000, 5000]);
});

test("ejections are forgiven after the backend stays in for maxEjectionMs", () => {
  let r = failTimes(INITIAL_OUTLIER_STATE, 3, 0);
  r = decideOutlier(r.state, { kind: "tick" }, 1000, policy, roomy);
  r = failTimes(r.state, 3, 1500);
  assert.deepEqual(r.decision, { kind: "eject", ejectionMs: 2000, untilMs: 3500 });
  r = decideOutlier(r.state, { kind: "tick" }, 3500, policy, roomy);
  r = failTimes(r.state, 3, 3500 + 5000);
  assert.deepEqual(r.decision, { kind: "eject", ejectionMs: 1000, untilMs: 9500 });
});

test("no more than maxEjectionPercent of a pool is ejected at once", () => {
  // 4 backends at 50%: the first two may go, the third is refused and keeps serving.
  assert.equal(failTimes(INITIAL_OUTLIER_STATE, 3, 0, { poolSize: 4, ejectedCount: 1 }).decision.kind, "eject");
  const refused = failTimes(INITIAL_OUTLIER_STATE, 3, 0, { poolSize: 4, ejectedCount: 2 });
  assert.deepEqual(refused.decision, { kind: "eject_refused", reason: "max_ejection_percent" });
  assert.equal(refused.state.ejectedUntilMs, null);
  // Once room frees up, the next failure ejects it.
  const later = attempt(refused.state, "http_5xx", 100, { poolSize: 4, ejectedCount: 1 });
  assert.equal(later.decision.kind, "eject");
  // A single-backend pool at 50% is never ejected: better a failing backend than none.
  assert.equal(failTimes(INITIAL_OUTLIER_STATE, 3, 0, { poolSize: 1, ejectedCount: 0 }).decision.kind, "eject_refused");
});
