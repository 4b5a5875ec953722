import { test } from "node:test";
import assert from "node:assert/strict";
import { activeStatus, roleEnvironment } from "./role.js";

test("the instance's environment names its role and, when it has one, its fencing token", () => {
  assert.deepEqual(roleEnvironment("active", 42), { PHALANX_ROLE: "active", PHALANX_FENCING_TOKEN: "42" });
  assert.deepEqual(roleEnvironment("standby", null), { PHALANX_ROLE: "standby" });
});

test("the status endpoint says active only before the fence point, with the time left", () => {
  const d = { fenceAtMs: 1000, actingEndsAtMs: 1500 };
  assert.deepEqual(activeStatus(400, true, 7, d), { active: true, token: 7, validForMs: 600 });
  assert.equal(activeStatus(1000, true, 7, d).active, false);
  assert.equal(activeStatus(400, false, 7, d).active, false);
  assert.equal(activeStatus(400, true, 7, null).active, false);
});
