import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_VIP_PARAMS, decideVip } from "./decide.js";
import type { VipView } from "./decide.js";
import { parseVipAddress } from "./address.js";

const p = DEFAULT_VIP_PARAMS;
const view = (over: Partial<VipView>): VipView => ({ nowMs: 1000, holder: true, fenceAtMs: 2000, held: false, announcesOwed: 0, lastAnnounceMs: null, ...over });

test("a holder with headroom before its fencing point acquires; without it, stays idle", () => {
  assert.deepEqual(decideVip(view({}), p), { kind: "acquire" });
  assert.deepEqual(decideVip(view({ nowMs: 2000 - p.acquireHeadroomMs }), p), { kind: "idle" });
  assert.deepEqual(decideVip(view({ holder: false }), p), { kind: "idle" });
  assert.deepEqual(decideVip(view({ fenceAtMs: null }), p), { kind: "idle" });
});

test("the address is released at the fencing point, not after it, and at once when the role moves or the lease is gone", () => {
  assert.equal(decideVip(view({ held: true, nowMs: 1999 }), p).kind, "hold");
  assert.equal(decideVip(view({ held: true, nowMs: 2000 }), p).kind, "release");
  assert.equal(decideVip(view({ held: true, holder: false }), p).kind, "release");
  assert.equal(decideVip(view({ held: true, fenceAtMs: null }), p).kind, "release");
  // Release wins over owed announcements.
  assert.equal(decideVip(view({ held: true, nowMs: 2500, announcesOwed: 3 }), p).kind, "release");
});

test("owed announcements are spaced and the hold wakes up for the next one or the fencing point", () => {
  assert.deepEqual(decideVip(view({ held: true, announcesOwed: 4, lastAnnounceMs: null }), p), { kind: "announce" });
  assert.deepEqual(decideVip(view({ held: true, announcesOwed: 3, lastAnnounceMs: 900 }), p), { kind: "hold", untilMs: 900 + p.announceIntervalMs });
  assert.deepEqual(decideVip(view({ held: true, announcesOwed: 3, lastAnnounceMs: 1000 - p.announceIntervalMs }), p), { kind: "announce" });
  assert.deepEqual(decideVip(view({ held: true, announcesOwed: 1, lastAnnounceMs: 1900 }), p), { kind: "hold", untilMs: 2000 });
  assert.deepEqual(decideVip(view({ held: true }), p), { kind: "hold", untilMs: 2000 });
});

test("VIP addresses parse with their family, and bad ones say why", () => {
  assert.deepEqual(parseVipAddress("10.0.0.100/24"), { address: "10.0.0.100", prefix: 24, family: 4, cidr: "10.0.0.100/24" });
  assert.equal((parseVipAddress("FD00::64/64") as { family: number }).family, 6);
  assert.match((parseVipAddress("10.0.0.100") as { error: string }).error, /no prefix length/);
  assert.match((parseVipAddress("10.0.0.300/24") as { error: string }).error, /neither/);
  assert.match((parseVipAddress("10.0.0.1/33") as { error: string }).error, /1–32/);
  assert.match((parseVipAddress("fd00::1::2/64") as { error: string }).error, /neither/);
});
