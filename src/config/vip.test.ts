import { test } from "node:test";
import assert from "node:assert/strict";
import { vipSchema } from "./vip.js";

test("vip section: address with prefix and an interface name; mistakes are named", () => {
  assert.deepEqual(vipSchema.parse({ address: "10.0.0.100/24", interface: "eth0" }), { address: "10.0.0.100/24", interface: "eth0" });
  const noPrefix = vipSchema.safeParse({ address: "10.0.0.100", interface: "eth0" });
  assert.equal(noPrefix.success, false);
  assert.match(JSON.stringify(noPrefix.error?.issues), /no prefix length/);
  assert.equal(vipSchema.safeParse({ address: "10.0.0.100/24", interface: "eth0 up" }).success, false);
  assert.equal(vipSchema.safeParse({ address: "10.0.0.100/24", interface: "eth0", extra: 1 }).success, false);
});
