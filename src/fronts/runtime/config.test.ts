// The `fronts:` section of the node config: off by default, defaults filled in, bad values refused.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { frontsConfigSchema } from "./config.js";

describe("frontsConfigSchema", () => {
  it("leaves both fronts off when the section is absent, with the documented defaults", () => {
    const c = frontsConfigSchema.parse(undefined);
    assert.equal(c.resp.enabled, false);
    assert.equal(c.memcached.enabled, false);
    assert.equal(c.memcached.allowFlushAll, false);
    assert.deepEqual(c.resp.listen, { host: "127.0.0.1", port: 6379 });
    assert.deepEqual(c.memcached.listen, { host: "127.0.0.1", port: 11211 });
    assert.equal(c.sweepIntervalMs, 1000);
    assert.equal(c.clockSkewMarginMs, 50);
  });

  it("accepts an enabled front with its address and refuses unknown fields and bad addresses", () => {
    const c = frontsConfigSchema.parse({ resp: { enabled: true, listen: "0.0.0.0:6380" } });
    assert.deepEqual(c.resp.listen, { host: "0.0.0.0", port: 6380 });
    assert.equal(frontsConfigSchema.safeParse({ resp: { enabled: true, port: 6379 } }).success, false);
    assert.equal(frontsConfigSchema.safeParse({ memcached: { listen: "nohost" } }).success, false);
    assert.equal(frontsConfigSchema.safeParse({ maxKeys: 0 }).success, false);
  });
});
