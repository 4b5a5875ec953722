// Debian's redis-cli (package redis-tools) against the RESP front of a 3-node cluster, through a
// follower: the real client's handshake, SET/GET/EXPIRE/TTL/SCAN, and its retry-free error output.
// Skipped when redis-cli is not installed, except where PHALANX_REDIS_CLI_REQUIRED=1 (CI installs it).
import { strict as assert } from "node:assert";
import { execFile, spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { CLIENT_TOKEN, startFrontCluster } from "./testdata/harness.js";

const installed = spawnSync("redis-cli", ["--version"]).status === 0;
const required = process.env.PHALANX_REDIS_CLI_REQUIRED === "1";

describe("redis-cli against the RESP front", { skip: !installed && !required ? "redis-cli is not installed (apt-get install redis-tools)" : false }, () => {
  it("runs SET, GET, EXPIRE, TTL, SCAN, INFO and DEL as against Redis", async () => {
    const fc = await startFrontCluster(3);
    try {
      const port = String(fc.respPort(fc.followerIds()[0]!));
      const cli = (...args: string[]): Promise<string> =>
        // Spawned asynchronously: the cluster runs on this process's event loop.
        new Promise((resolve, reject) => {
          execFile("redis-cli", ["-p", port, "--no-auth-warning", "-a", CLIENT_TOKEN, ...args], { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
        });
      assert.equal(await cli("SET", "sess:abc", "payload"), "OK");
      assert.equal(await cli("GET", "sess:abc"), "payload");
      assert.equal(await cli("EXPIRE", "sess:abc", "600"), "1");
      assert.equal(await cli("TTL", "sess:abc"), "600");
      for (let i = 0; i < 5; i++) await cli("SET", `sess:${i}`, "x", "EX", "100");
      const scanned = (await cli("--scan", "--pattern", "sess:*")).split("\n").sort();
      assert.deepEqual(scanned, ["sess:0", "sess:1", "sess:2", "sess:3", "sess:4", "sess:abc"]);
      assert.equal(await cli("SCAN", "0", "MATCH", "sess:a*", "COUNT", "100"), "0\nsess:abc");
      assert.match(await cli("INFO", "replication"), /role:master/);
      assert.equal(await cli("DEL", "sess:abc"), "1");
      assert.equal(await cli("GET", "sess:abc"), "");
      assert.match(await cli("FLUSHDB"), /NOPERM/);
    } finally {
      await fc.close();
    }
  });
});
