// Restart decisions: the backoff sequence, its cap, the reset after a long run, the policies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelayMs, decideRestart } from "./restart.js";
import type { RestartPolicy } from "./types.js";

const policy: RestartPolicy = { policy: "always", backoffInitialMs: 100, backoffMultiplier: 2, backoffMaxMs: 1000, resetAfterMs: 5000, maxRestarts: 10 };

test("backoff grows by the multiplier per restart in a row and stops at the cap", () => {
  const delays = [0, 1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n));
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
});

test("a crash loop restarts with growing delays, then gives up after maxRestarts in a row", () => {
  const p = { ...policy, maxRestarts: 3 };
  let inARow = 0;
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const d = decideRestart(p, { clean: false, uptimeMs: 10, consecutiveRestarts: inARow });
    seen.push(d.kind === "restart" ? `restart ${d.delayMs}` : d.kind);
    if (d.kind === "restart") inARow = d.consecutiveRestarts;
  }
  assert.deepEqual(seen, ["restart 100", "restart 200", "restart 400", "give_up"]);
});

test("a run longer than resetAfterMs starts the backoff over", () => {
  const d = decideRestart(policy, { clean: false, uptimeMs: 5000, consecutiveRestarts: 9 });
  assert.deepEqual(d, { kind: "restart", delayMs: 100, consecutiveRestarts: 1 });
  const short = decideRestart(policy, { clean: false, uptimeMs: 4999, consecutiveRestarts: 3 });
  assert.deepEqual(short, { kind: "restart", delayMs: 800, consecutiveRestarts: 4 });
});

test("on-failure leaves a clean exit stopped and restarts a failure; never restarts nothing", () => {
  const onFailure = { ...policy, policy: "on-failure" as const };
  assert.equal(decideRestart(onFailure, { clean: true, uptimeMs: 1, consecutiveRestarts: 0 }).kind, "stay_stopped");
  assert.equal(decideRestart(onFailure, { clean: false, uptimeMs: 1, consecutiveRestarts: 0 }).kind, "restart");
  const never = { ...policy, policy: "never" as const };
  assert.equal(decideRestart(never, { clean: true, uptimeMs: 1, consecutiveRestarts: 0 }).kind, "stay_stopped");
  assert.equal(decideRestart(never, { clean: false, uptimeMs: 1, consecutiveRestarts: 0 }).kind, "give_up");
  assert.equal(decideRestart(policy, { clean: true, uptimeMs: 1, consecutiveRestarts: 0 }).kind, "restart", "always restarts a clean exit too");
});

test("maxRestarts 0 gives up at the first failure", () => {
  const d = decideRestart({ ...policy, maxRestarts: 0 }, { clean: false, uptimeMs: 1, consecutiveRestarts: 0 });
  assert.equal(d.kind, "give_up");
});
