// node-redis 5 speaking RESP3 (`HELLO 3 AUTH ...` on connect, as node-redis 6 and ioredis 6 do by
// default) against a follower's RESP front: typed replies (maps for HGETALL), TTLs, SCAN iteration.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createClient } from "redis";
import { CLIENT_TOKEN, startFrontCluster } from "./testdata/harness.js";

describe("node-redis 5 with RESP3 on the RESP front", () => {
  it("connects with HELLO 3 AUTH and reads strings, hashes as maps, TTLs and SCAN pages", async () => {
    const fc = await startFrontCluster(3);
    const client = createClient({ RESP: 3, socket: { host: "127.0.0.1", port: fc.respPort(fc.followerIds()[0]!), reconnectStrategy: false }, password: CLIENT_TOKEN });
    client.on("error", () => undefined); // reported through the calls that fail
    try {
      await client.connect();
      assert.equal(await client.set("user:1", "alice", { EX: 600 }), "OK");
      assert.equal(await client.get("user:1"), "alice");
      assert.equal(await client.ttl("user:1"), 600);
      assert.equal(await client.hSet("h:1", { name: "alice", visits: "3" }), 2);
      assert.deepEqual({ ...(await client.hGetAll("h:1")) }, { name: "alice", visits: "3" });
      assert.equal(await client.hIncrBy("h:1", "visits", 2), 5);
      for (let i = 0; i < 30; i++) await client.set(`scan:${i}`, "x");
      const seen = new Set<string>();
      for await (const keys of client.scanIterator({ MATCH: "scan:*", COUNT: 7 })) for (const k of keys) seen.add(k);
      assert.equal(seen.size, 30);
      assert.deepEqual(await client.mGet(["user:1", "nope"]), ["alice", null]);
      assert.equal(await client.del(["user:1", "h:1"]), 2);
    } finally {
      await client.close().catch(() => undefined);
      await fc.close();
    }
  });
});
