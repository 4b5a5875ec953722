// The RESP front on a real 3-node in-process cluster (Raft, storage, the fronts' sockets), driven by
// the project's own RESP client (codec/resp-reply-parser.ts).
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { pollUntil } from "../../server/testing.js";
import { frontPrefix, storeKeyOf } from "../codec/store-format.js";
import { ADMIN_TOKEN, RespTestClient, show, startFrontCluster } from "./testdata/harness.js";
import type { FrontCluster } from "./testdata/harness.js";

const enc = new TextEncoder();

describe("RESP front on a 3-node cluster", () => {
  let fc: FrontCluster;
  let leader: RespTestClient;
  let follower: RespTestClient;
  before(async () => {
    fc = await startFrontCluster(3);
    leader = await RespTestClient.authed(fc.respPort(fc.leaderId()));
    follower = await RespTestClient.authed(fc.respPort(fc.followerIds()[0]!));
  });
  after(async () => {
    leader?.close();
    follower?.close();
    await fc?.close();
  });

  const run = async (c: RespTestClient, ...args: string[]) => show(await c.call(...args));

  it("refuses data commands before AUTH and accepts the client token, also inside HELLO", async () => {
    const c = await RespTestClient.connect(fc.respPort(fc.leaderId()));
    try {
      assert.equal(await run(c, "GET", "x"), "-NOAUTH Authentication required.");
      assert.match(await run(c, "AUTH", "wrong"), /^-WRONGPASS/);
      const hello = show(await c.call("HELLO", "3", "AUTH", "default", "client-secret"));
      assert.match(hello, /proto:3/);
      assert.equal(await run(c, "PING"), "PONG");
    } finally {
      c.close();
    }
  });

  it("writes through a follower (forwarded to the leader) and reads them back on every node", async () => {
    assert.equal(await run(follower, "SET", "session:1", "alice"), "OK");
    assert.equal(await run(leader, "GET", "session:1"), "alice");
    assert.equal(await run(follower, "GET", "session:1"), "alice");
    const third = await RespTestClient.authed(fc.respPort(fc.followerIds()[1]!));
    try {
      assert.equal(await run(third, "GET", "session:1"), "alice");
      assert.equal(await run(third, "READONLY"), "OK");
      await pollUntil(() => (fc.cluster.replica(fc.followerIds()[1]!).kv.range({ key: storeKeyOf(frontPrefix("redis", 0), enc.encode("session:1")) }) as { kvs: readonly unknown[] }).kvs.length === 1 || undefined, 5000, "the follower to apply");
      assert.equal(await run(third, "GET", "session:1"), "alice");
    } finally {
      third.close();
    }
  });

  it("answers SET's options, SETEX, PSETEX, SETNX, GETDEL, GETEX as Redis does", async () => {
    assert.equal(await run(follower, "SET", "k", "v1", "NX"), "OK");
    assert.equal(await run(follower, "SET", "k", "v2", "NX"), "(nil)");
    assert.equal(await run(follower, "SET", "k", "v3", "XX", "GET"), "v1");
    assert.equal(await run(follower, "SET", "missing", "v", "XX"), "(nil)");
    assert.equal(await run(follower, "SET", "k", "v4", "EX", "100"), "OK");
    assert.equal(await run(follower, "TTL", "k"), "100");
    assert.equal(await run(follower, "SET", "k", "v5", "KEEPTTL"), "OK");
    assert.equal(await run(follower, "TTL", "k"), "100");
    assert.equal(await run(follower, "SET", "k", "v6"), "OK");
    assert.equal(await run(follower, "TTL", "k"), "-1");
    assert.equal(await run(follower, "SET", "k", "v", "EX", "0"), "-ERR invalid expire time in 'set' command");
    assert.equal(await run(follower, "SETEX", "sx", "50", "val"), "OK");
    assert.equal(await run(follower, "TTL", "sx"), "50");
    assert.equal(await run(follower, "PSETEX", "px", "5000", "val"), "OK");
    const pttl = Number(await run(follower, "PTTL", "px"));
    assert.ok(pttl > 4000 && pttl <= 5000, `PTTL ${pttl}`);
    assert.equal(await run(follower, "SETNX", "nx", "1"), "1");
    assert.equal(await run(follower, "SETNX", "nx", "2"), "0");
    assert.equal(await run(follower, "GETDEL", "nx"), "1");
    assert.equal(await run(follower, "GET", "nx"), "(nil)");
    assert.equal(await run(follower, "GETEX", "sx", "PERSIST"), "val");
    assert.equal(await run(follower, "TTL", "sx"), "-1");
    assert.equal(await run(follower, "GETEX", "sx", "EX", "30"), "val");
    assert.equal(await run(follower, "TTL", "sx"), "30");
  });

  it("answers MGET/MSET, DEL/UNLINK, EXISTS, TYPE, counters and the EXPIRE family", async () => {
    assert.equal(await run(follower, "MSET", "a", "1", "b", "2"), "OK");
    assert.equal(await run(follower, "MGET", "a", "b", "nope"), "[1,2,(nil)]");
    assert.equal(await run(follower, "EXISTS", "a", "b", "nope", "a"), "3");
    assert.equal(await run(follower, "TYPE", "a"), "string");
    assert.equal(await run(follower, "TYPE", "nope"), "none");
    assert.equal(await run(follower, "INCR", "a"), "2");
    assert.equal(await run(follower, "INCRBY", "a", "10"), "12");
    assert.equal(await run(follower, "DECR", "a"), "11");
    assert.equal(await run(follower, "DECRBY", "a", "20"), "-9");
    assert.equal(await run(follower, "INCR", "c1"), "1");
    assert.equal(await run(follower, "SET", "text", "abc"), "OK");
    assert.equal(await run(follower, "INCR", "text"), "-ERR value is not an integer or out of range");
    assert.equal(await run(follower, "EXPIRE", "a", "100", "XX"), "0");
    assert.equal(await run(follower, "EXPIRE", "a", "100", "NX"), "1");
    assert.equal(await run(follower, "EXPIRE", "a", "50", "GT"), "0");
    assert.equal(await run(follower, "EXPIRE", "a", "200", "GT"), "1");
    assert.equal(await run(follower, "EXPIRE", "a", "150", "LT"), "1");
    assert.equal(await run(follower, "TTL", "a"), "150");
    assert.equal(await run(follower, "PEXPIRE", "a", "90000"), "1");
    assert.equal(await run(follower, "TTL", "a"), "90");
    const at = Math.floor(Date.now() / 1000) + 1000;
    assert.equal(await run(follower, "EXPIREAT", "a", String(at)), "1");
    const ttl = Number(await run(follower, "TTL", "a"));
    assert.ok(ttl >= 998 && ttl <= 1000, `TTL ${ttl}`);
    assert.equal(await run(follower, "PERSIST", "a"), "1");
    assert.equal(await run(follower, "PERSIST", "a"), "0");
    assert.equal(await run(follower, "EXPIRE", "nope", "10"), "0");
    assert.equal(await run(follower, "EXPIRE", "b", "-1"), "1");
    assert.equal(await run(follower, "GET", "b"), "(nil)");
    assert.equal(await run(follower, "DEL", "a", "nope", "c1"), "2");
    assert.equal(await run(follower, "UNLINK", "text"), "1");
    assert.equal(await run(follower, "TTL", "nope"), "-2");
  });

  it("answers the hash commands and WRONGTYPE across types", async () => {
    assert.equal(await run(follower, "HSET", "h", "user", "alice", "n", "1"), "2");
    assert.equal(await run(follower, "HSET", "h", "user", "bob"), "0");
    assert.equal(await run(follower, "HGET", "h", "user"), "bob");
    assert.equal(await run(follower, "HMGET", "h", "user", "none"), "[bob,(nil)]");
    assert.equal(await run(follower, "HGETALL", "h"), "[user,bob,n,1]");
    assert.equal(await run(follower, "HEXISTS", "h", "n"), "1");
    assert.equal(await run(follower, "HINCRBY", "h", "n", "5"), "6");
    assert.equal(await run(follower, "HINCRBY", "h", "user", "5"), "-ERR hash value is not an integer");
    assert.equal(await run(follower, "TYPE", "h"), "hash");
    assert.equal(await run(follower, "GET", "h"), "-WRONGTYPE Operation against a key holding the wrong kind of value");
    assert.equal(await run(follower, "HDEL", "h", "user", "n", "x"), "2");
    assert.equal(await run(follower, "EXISTS", "h"), "0");
    assert.equal(await run(follower, "SET", "s", "x"), "OK");
    assert.equal(await run(follower, "HSET", "s", "f", "v"), "-WRONGTYPE Operation against a key holding the wrong kind of value");
  });

  it("keeps databases apart, scans and counts them, and lets only the admin flush one", async () => {
    const c = await RespTestClient.authed(fc.respPort(fc.followerIds()[0]!));
    try {
      assert.equal(await run(c, "SELECT", "3"), "OK");
      assert.equal(await run(c, "DBSIZE"), "0");
      for (let i = 0; i < 25; i++) assert.equal(await run(c, "SET", `sess:${i}`, "x"), "OK");
      assert.equal(await run(c, "SET", "other", "x"), "OK");
      assert.equal(await run(c, "DBSIZE"), "26");
      assert.equal(await run(follower, "GET", "other"), "(nil)", "database 0 does not see database 3");
      const seen = new Set<string>();
      let cursor = "0";
      let rounds = 0;
      do {
        const r = await c.call("SCAN", cursor, "MATCH", "sess:*", "COUNT", "7");
        assert.equal(r.type, "array");
        const [next, keys] = (r as unknown as { items: [{ value: Uint8Array }, { items: { value: Uint8Array }[] }] }).items;
        cursor = Buffer.from(next.value).toString();
        for (const k of keys.items) seen.add(Buffer.from(k.value).toString());
        rounds++;
      } while (cursor !== "0" && rounds < 100);
      assert.equal(seen.size, 25);
      assert.equal((await run(c, "KEYS", "sess:1*")).split(",").length, 11);
      assert.match(await run(c, "FLUSHDB"), /^-NOPERM/);
      assert.equal(await run(c, "AUTH", ADMIN_TOKEN), "OK");
      assert.equal(await run(c, "FLUSHDB"), "OK");
      assert.equal(await run(c, "DBSIZE"), "0");
    } finally {
      c.close();
    }
  });

  it("answers unknown commands with Redis's wording, keeps the connection, and reports INFO", async () => {
    assert.equal(await run(follower, "LPUSH", "l", "x"), "-ERR unknown command 'LPUSH', with args beginning with: 'l' 'x' ");
    assert.equal(await run(follower, "PING"), "PONG");
    const info = await run(follower, "INFO");
    assert.match(info, /loading:0/);
    assert.match(info, /phalanx_raft_role:follower/);
    // The keyspace section comes from the sweeper's scan (every 50 ms here).
    assert.equal(await run(follower, "SET", "ks:expiring", "v", "EX", "100"), "OK");
    const deadline = Date.now() + 5000;
    let keyspace = "";
    while (!/db0:keys=\d+,expires=[1-9]/.test(keyspace) && Date.now() < deadline) keyspace = await run(follower, "INFO", "keyspace");
    assert.match(keyspace, /^# Keyspace\r\ndb0:keys=\d+,expires=[1-9]\d*,avg_ttl=0/);
    assert.match(await run(follower, "CONFIG", "GET", "save"), /save/);
  });

  it("answers a pipelined batch in request order", async () => {
    const commands: string[][] = [];
    for (let i = 0; i < 200; i++) commands.push(i % 2 === 0 ? ["SET", `p${i}`, `v${i}`] : ["GET", `p${i - 1}`]);
    const replies = (await follower.pipeline(commands)).map(show);
    for (let i = 0; i < 200; i++) assert.equal(replies[i], i % 2 === 0 ? "OK" : `v${i - 1}`, `reply ${i}`);
  });

  it("runs pipelined reads concurrently yet answers each with the writes before it and none after", async () => {
    const commands: string[][] = [["SET", "po", "1"], ["GET", "po"], ["EXISTS", "po"], ["SET", "po", "2"], ["GET", "po"], ["GET", "po"], ["NOPE"], ["INCR", "po"],
      ["MGET", "po", "none"], ["TTL", "po"], ["DEL", "po"], ["GET", "po"], ["HSET", "ph", "f", "v"], ["HGETALL", "ph"], ["HELLO", "3"], ["HGETALL", "ph"], ["HELLO", "2"], ["GET", "po"]];
    const replies = (await follower.pipeline(commands)).map(show);
    assert.deepEqual(replies.slice(0, 14), ["OK", "1", "1", "OK", "2", "2", "-ERR unknown command 'NOPE', with args beginning with: ", "3", "[3,(nil)]", "-1", "1", "(nil)", "1", "[f,v]"]);
    assert.match(replies[14]!, /^\{server:redis/);
    assert.equal(replies[15], "{f:v}", "a read after HELLO 3 answers in RESP3 (a map)");
    assert.equal(replies[17], "(nil)");
    const many: string[][] = [["SET", "pm", "x"]];
    for (let i = 0; i < 300; i++) many.push(["GET", "pm"]);
    many.push(["SET", "pm", "y"], ["GET", "pm"]);
    const out = (await follower.pipeline(many)).map(show);
    assert.equal(out.length, 303);
    assert.ok(out.slice(1, 301).every((r) => r === "x"), "300 concurrent reads (more than the in-flight bound) all see x");
    assert.deepEqual(out.slice(301), ["OK", "y"]);
  });

  it("never returns a key past its TTL, on any node, and the leader's sweeper deletes it", async () => {
    assert.equal(await run(follower, "SET", "short", "v", "PX", "200"), "OK");
    assert.equal(await run(follower, "SET", "long", "v", "EX", "1000"), "OK");
    assert.equal(await run(leader, "GET", "short"), "v");
    const storeKey = storeKeyOf(frontPrefix("redis", 0), enc.encode("short"));
    // Past the deadline every node answers nil, whether or not the sweep ran yet.
    fc.clock.offsetMs += 300;
    try {
      for (const id of fc.cluster.members.keys()) {
        const c = await RespTestClient.authed(fc.respPort(id));
        try {
          assert.equal(await run(c, "GET", "short"), "(nil)");
          assert.equal(await run(c, "TTL", "short"), "-2");
          assert.equal(await run(c, "GET", "long"), "v");
        } finally {
          c.close();
        }
      }
      // The sweeper (every 50 ms here) deletes it through Raft on every replica.
      await pollUntil(() => [...fc.cluster.members.values()].every((m) => (m.replica.kv.range({ key: storeKey }) as { kvs: readonly unknown[] }).kvs.length === 0) || undefined, 5000, "the sweeper to delete the expired key");
      assert.equal(await run(follower, "GET", "long"), "v");
    } finally {
      fc.clock.offsetMs -= 300;
    }
  });
});

describe("RESP front without a leader", () => {
  it("answers -TRYAGAIN for reads and writes, never a nil; READONLY connections still read", async () => {
    const fc = await startFrontCluster(3);
    try {
      const survivor = fc.followerIds()[0]!;
      const c = await RespTestClient.authed(fc.respPort(survivor));
      try {
        assert.equal(show(await c.call("SET", "s", "v")), "OK");
        // Follower reads are this node's copy: let it apply the write before the others go.
        const storeKey = storeKeyOf(frontPrefix("redis", 0), enc.encode("s"));
        await pollUntil(() => ((fc.cluster.replica(survivor).kv.range({ key: storeKey }) as { kvs: readonly unknown[] }).kvs.length === 1 ? true : undefined), 5000, "the survivor to apply the write");
        for (const id of [...fc.cluster.members.keys()]) if (id !== survivor) await fc.stopNode(id);
        await pollUntil(() => (fc.cluster.replica(survivor).status().role !== "leader" ? true : undefined), 5000, "the survivor not to lead");
        const started = Date.now();
        const set = show(await c.call("SET", "s", "w"));
        const get = show(await c.call("GET", "s"));
        assert.match(set, /^-TRYAGAIN /);
        assert.match(get, /^-TRYAGAIN /);
        assert.ok(Date.now() - started < 5000);
        // A connection that opted into follower reads gets this node's copy, even without a leader.
        assert.equal(show(await c.call("READONLY")), "OK");
        assert.equal(show(await c.call("GET", "s")), "v");
        assert.match(show(await c.call("SET", "s", "x")), /^-TRYAGAIN /, "writes still need a leader");
      } finally {
        c.close();
      }
    } finally {
      await fc.close();
    }
  });
});

describe("RESP front clock-skew margin", () => {
  it("hides a key that close to its deadline, so a lagging node never returns it late", async () => {
    const fc = await startFrontCluster(1, { clockSkewMarginMs: 1000 });
    try {
      const c = await RespTestClient.authed(fc.respPort(fc.leaderId()));
      try {
        assert.equal(show(await c.call("SET", "soon", "v", "PX", "800")), "OK");
        assert.equal(show(await c.call("SET", "later", "v", "PX", "5000")), "OK");
        assert.equal(show(await c.call("GET", "soon")), "(nil)", "within the margin of its deadline");
        assert.equal(show(await c.call("GET", "later")), "v");
      } finally {
        c.close();
      }
    } finally {
      await fc.close();
    }
  });
});

describe("RESP front bounds", () => {
  it("answers Redis's OOM line once the key bound is reached", async () => {
    const fc = await startFrontCluster(1, { maxKeys: 5 });
    try {
      const c = await RespTestClient.authed(fc.respPort(fc.leaderId()));
      try {
        const replies: string[] = [];
        for (let i = 0; i < 8; i++) replies.push(show(await c.call("SET", `k${i}`, "v")));
        assert.deepEqual(replies.slice(0, 5), ["OK", "OK", "OK", "OK", "OK"]);
        assert.equal(replies[7], "-OOM command not allowed when used memory > 'maxmemory'.");
        assert.equal(show(await c.call("GET", "k0")), "v", "reads still work");
      } finally {
        c.close();
      }
    } finally {
      await fc.close();
    }
  });
});
