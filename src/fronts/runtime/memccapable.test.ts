// libmemcached-tools' memccapable (the memcached protocol conformance checker) against the memcached
// front of a 3-node cluster, through a follower: every text (-a) and binary (-b) check must pass.
// Skipped when memccapable is not installed, except where PHALANX_REDIS_CLI_REQUIRED=1 (CI installs
// redis-tools and libmemcached-tools together).
import { strict as assert } from "node:assert";
import { execFile, spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { startFrontCluster } from "./testdata/harness.js";

const installed = spawnSync("memccapable", ["-h", "127.0.0.1", "-p", "1", "-T", "none"]).error === undefined;
const required = process.env.PHALANX_REDIS_CLI_REQUIRED === "1";

function memccapable(port: number, mode: "-a" | "-b"): Promise<{ ok: boolean; output: string }> {
  // Asynchronous: the cluster runs on this process's event loop.
  return new Promise((resolve) => {
    execFile("memccapable", ["-h", "127.0.0.1", "-p", String(port), mode, "-v", "-t", "5"], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ ok: err === null, output: `${stdout}${stderr}` }));
  });
}

describe("memccapable against the memcached front", { skip: !installed && !required ? "memccapable is not installed (apt-get install libmemcached-tools)" : false }, () => {
  it("passes every text and binary protocol check", async () => {
    const fc = await startFrontCluster(3);
    try {
      const port = fc.mcPort(fc.followerIds()[0]!);
      for (const mode of ["-a", "-b"] as const) {
        const r = await memccapable(port, mode);
        assert.ok(r.ok && /All tests passed/.test(r.output), `memccapable ${mode} failed:\n${r.output}`);
      }
    } finally {
      await fc.close();
    }
  });
});
