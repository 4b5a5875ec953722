import { test } from "node:test";
import assert from "node:assert/strict";
import { decidePromotion } from "./promotion.js";
import type { PromotionCandidate, PromotionInput } from "./promotion.js";
import { NO_FLAPS, explainDamping, nextPromotionAllowedAtMs, recordPromotion } from "./flap-damping.js";
import type { FlapParams } from "./flap-damping.js";

function cand(node: number, extra: Partial<PromotionCandidate> = {}): PromotionCandidate {
  return { node, leaseId: 100 + node, nodeAlive: true, healthy: true, preference: node, ...extra };
}

function input(extra: Partial<PromotionInput>): PromotionInput {
  return { nowMs: 0, hasQuorum: true, holderNode: null, candidates: [cand(1), cand(2)], promotionAllowedAtMs: 0, ...extra };
}

test("no promotion without quorum, nor while the old holder's key (its lease) lives", () => {
  assert.equal(decidePromotion(input({ hasQuorum: false })).kind, "wait");
  assert.deepEqual(decidePromotion(input({ holderNode: 3 })), { kind: "keep", node: 3 });
});

test("the most caught-up healthy standby on a live node wins; otherwise the placement preference", () => {
  const byPosition = decidePromotion(input({ candidates: [cand(1, { position: 5 }), cand(2, { position: 9 }), cand(3, { position: 99, healthy: false }), cand(4, { position: 50, nodeAlive: false })] }));
  assert.equal(byPosition.kind === "promote" ? byPosition.candidate.node : null, 2);
  const byPreference = decidePromotion(input({ candidates: [cand(1, { preference: 2 }), cand(2, { preference: 1 })] }));
  assert.equal(byPreference.kind === "promote" ? byPreference.candidate.node : null, 2);
  assert.equal(decidePromotion(input({ candidates: [cand(1, { healthy: false })] })).kind, "wait");
});

test("flap damping holds back the promotion beyond the threshold, with a pause that doubles", () => {
  const p: FlapParams = { windowMs: 1000, threshold: 2, backoffBaseMs: 100, backoffMaxMs: 250 };
  let s = NO_FLAPS;
  s = recordPromotion(s, 0, p);
  s = recordPromotion(s, 10, p);
  assert.equal(nextPromotionAllowedAtMs(s, 20, p), 10 + 100);
  assert.equal(decidePromotion(input({ nowMs: 20, promotionAllowedAtMs: nextPromotionAllowedAtMs(s, 20, p) })).kind, "wait");
  s = recordPromotion(s, 110, p);
  assert.equal(nextPromotionAllowedAtMs(s, 120, p), 110 + 200);
  s = recordPromotion(s, 310, p);
  assert.equal(nextPromotionAllowedAtMs(s, 320, p), 310 + 250, "capped");
  assert.match(explainDamping(s, 320, p), /held back/);
  assert.equal(nextPromotionAllowedAtMs(s, 5000, p), 5000, "forgotten after the window");
});

test("a planned switchover's target goes first when it is eligible, else the usual choice", () => {
  const to2 = decidePromotion(input({ preferredNode: 2, candidates: [cand(1, { position: 50 }), cand(2, { position: 1 })] }));
  assert.equal(to2.kind === "promote" ? to2.candidate.node : null, 2);
  const unhealthy = decidePromotion(input({ preferredNode: 2, candidates: [cand(1), cand(2, { healthy: false })] }));
  assert.equal(unhealthy.kind === "promote" ? unhealthy.candidate.node : null, 1);
});

test("a standby whose position command failed ranks after every other eligible one, yet is promoted when it is the only one", () => {
  const pick = (cs: PromotionCandidate[]) => {
    const d = decidePromotion(input({ candidates: cs }));
    return d.kind === "promote" ? d.candidate.node : null;
  };
  assert.equal(pick([cand(1, { positionFailed: true }), cand(2, { position: 1 }), cand(3)]), 2, "a reported position first");
  assert.equal(pick([cand(1, { positionFailed: true }), cand(3)]), 3, "no report yet beats a failed command, whatever the preference");
  assert.equal(pick([cand(1, { positionFailed: true }), cand(2, { positionFailed: true })]), 1, "among failed ones, the placement preference");
  assert.equal(pick([cand(4, { positionFailed: true })]), 4, "ranked last, not excluded");
  assert.equal(pick([cand(1, { position: 7 }), cand(2, { position: 7 })]), 1, "a tie falls back to the preference");
});
