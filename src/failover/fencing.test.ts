import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FENCING_PARAMS, checkFencingParams, decideFencing, fencingDeadlines } from "./fencing.js";
import type { FencingParams, FencingView } from "./fencing.js";

const p: FencingParams = DEFAULT_FENCING_PARAMS;

test("acting ends before the earliest lease expiry even with the agent's clock slow and the leader's fast", () => {
  for (const rho of [0, 0.001, 0.005, 0.05]) {
    const params = { ...p, clockRateErrorMax: rho };
    const { fenceAtMs, actingEndsAtMs } = fencingDeadlines(1000, params);
    // Worst case: the agent's clock runs at 1−ρ (its local interval lasts longest in true time), the
    // leader's at 1+ρ (the lease runs out soonest), the leader renews at the very send instant.
    const actingEndsTrue = (actingEndsAtMs - 1000) / (1 - rho);
    const earliestExpiryTrue = params.leaseTtlMs / (1 + rho);
    assert.ok(actingEndsTrue + params.safetyMarginMs <= earliestExpiryTrue + 1e-9, `rho ${rho}`);
    assert.equal(actingEndsAtMs - fenceAtMs, params.stopTimeoutMs);
  }
});

test("the default settings are accepted and too short a lease is refused with what to change", () => {
  assert.equal(checkFencingParams(p), null);
  const why = checkFencingParams({ ...p, leaseTtlMs: 1000 });
  assert.match(why ?? "", /raise leaseTtlMs/);
  assert.match(checkFencingParams({ ...p, clockRateErrorMax: 0.2 }) ?? "", /clockRateErrorMax/);
});

function view(v: Partial<FencingView> & { lastAckedSendMs?: number | null }): FencingView {
  const { lastAckedSendMs = 0, ...rest } = v;
  return { nowMs: 0, deadlines: lastAckedSendMs === null ? null : fencingDeadlines(lastAckedSendMs, p), lastSentMs: 0, acting: false, holder: false, ...rest };
}

test("decideFencing fences an acting holder once the fence point passes, even with a renewal in flight", () => {
  const { fenceAtMs } = fencingDeadlines(0, p);
  assert.equal(decideFencing(view({ nowMs: fenceAtMs - 1, lastSentMs: fenceAtMs - 1, acting: true, holder: true }), p).kind, "wait");
  assert.equal(decideFencing(view({ nowMs: fenceAtMs, lastSentMs: fenceAtMs - 1, acting: true, holder: true }), p).kind, "fence");
  assert.equal(decideFencing(view({ nowMs: 5, lastAckedSendMs: null, lastSentMs: null, acting: true }), p).kind, "fence");
});

test("decideFencing renews on schedule and waits no later than the fence point", () => {
  assert.equal(decideFencing(view({ nowMs: p.renewIntervalMs, lastSentMs: 0 }), p).kind, "renew");
  assert.equal(decideFencing(view({ nowMs: 0, lastAckedSendMs: null, lastSentMs: null }), p).kind, "renew");
  const tightP = { ...p, renewIntervalMs: 10_000 };
  const d = decideFencing({ ...view({ nowMs: 1, acting: true, holder: true }), deadlines: fencingDeadlines(0, tightP) }, tightP);
  assert.equal(d.kind, "wait");
  assert.equal(d.kind === "wait" ? d.untilMs : -1, fencingDeadlines(0, tightP).fenceAtMs);
});

test("decideFencing resumes a fenced holder only when a fresh keep-alive leaves a renew interval of room", () => {
  const { fenceAtMs } = fencingDeadlines(0, p);
  assert.equal(decideFencing(view({ nowMs: 10, lastSentMs: 10, holder: true }), p).kind, "resume");
  assert.notEqual(decideFencing(view({ nowMs: fenceAtMs - p.renewIntervalMs, lastSentMs: fenceAtMs - p.renewIntervalMs, holder: true }), p).kind, "resume");
  assert.notEqual(decideFencing(view({ nowMs: 10, lastSentMs: 10, holder: false }), p).kind, "resume");
});
