import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backoffDelayMs } from "./backoff.js";
import { TRANSPORT_LIMITS_DEFAULT } from "./limits.js";
import { seededRandom } from "./testing/messages.js";

describe("backoffDelayMs()", () => {
  const policy = { initialDelayMs: 50, maxDelayMs: 1000, multiplier: 2, jitterRatio: 0.5 };

  it("doubles from the initial delay and never exceeds the cap", () => {
    const noJitter = (): number => 0;
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 100].map((a) => backoffDelayMs(a, policy, noJitter)), [50, 100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it("jitter removes at most jitterRatio of the delay", () => {
    const random = seededRandom(42);
    for (let attempt = 0; attempt < 200; attempt++) {
      const base = Math.min(1000, 50 * 2 ** Math.min(attempt, 30));
      const d = backoffDelayMs(attempt, policy, random);
      assert.ok(d >= base / 2 && d <= base, `attempt ${attempt}: ${d} not in [${base / 2}, ${base}]`);
    }
  });

  it("the default reconnect delay stays under a LAN election timeout's order of magnitude", () => {
    assert.ok(TRANSPORT_LIMITS_DEFAULT.reconnect.maxDelayMs <= 1000);
  });
});
