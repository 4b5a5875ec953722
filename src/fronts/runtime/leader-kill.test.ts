// Real processes: a 3-node cluster of `phalanx agent`s with both fronts on, session writers on every
// node through RESP and memcached, the leader killed with SIGKILL mid-run; afterwards every write
// that was acknowledged is read back from the survivors. None may be lost. This also exercises the
// agent's follower → leader relay over the HTTP client API (http-relay.ts).
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { freePort } from "../../cli/commands/dev.js";
import { ProcessCluster } from "../../testing/process-cluster.js";
import { McTestClient, RespTestClient, show } from "./testdata/harness.js";

const WRITE_MS_BEFORE_KILL = 700;
const WRITE_MS_AFTER_KILL = 2500;

describe("fronts when the leader is killed", () => {
  it("loses no acknowledged session write (RESP and memcached writers on every node)", async (t) => {
    const resp = new Map<number, number>();
    const mc = new Map<number, number>();
    for (const id of [1, 2, 3]) {
      resp.set(id, await freePort());
      mc.set(id, await freePort());
    }
    const cluster = await ProcessCluster.start(3, undefined, {
      configExtra: (id) => ({ fronts: { resp: { enabled: true, listen: `127.0.0.1:${resp.get(id)}` }, memcached: { enabled: true, listen: `127.0.0.1:${mc.get(id)}` } } }),
    });
    try {
      const token = cluster.token;
      const leader = await cluster.leader();
      const acked = new Map<string, { value: string; via: "resp" | "memcached" }>();
      let failures = 0;
      let stop = false;
      const respWriter = async (node: number, name: string) => {
        const c = await RespTestClient.authed(resp.get(node)!, token);
        try {
          for (let n = 0; !stop; n++) {
            const key = `sess:${name}:${n}`;
            const value = `${name}-${n}-payload`;
            let reply: string;
            try {
              reply = show(await c.call("SET", key, value, "EX", "3600"));
            } catch {
              return; // the node died under this writer
            }
            if (reply === "OK") acked.set(key, { value, via: "resp" });
            else {
              failures++;
              assert.match(reply, /^-(TRYAGAIN|ERR the outcome)/, `unexpected reply ${reply}`);
              await new Promise((r) => setTimeout(r, 20));
            }
          }
        } finally {
          c.close();
        }
      };
      const mcWriter = async (node: number, name: string) => {
        const c = await McTestClient.connect(mc.get(node)!);
        try {
          for (let n = 0; !stop; n++) {
            const key = `mc:${name}:${n}`;
            const value = `${name}-${n}`;
            let reply: string;
            try {
              reply = await c.text(`set ${key} 0 3600 ${value.length}\r\n${value}\r\n`);
            } catch {
              return;
            }
            if (reply === "STORED\r\n") acked.set(key, { value, via: "memcached" });
            else {
              failures++;
              assert.match(reply, /^SERVER_ERROR (temporary failure|outcome unknown)/, `unexpected reply ${reply}`);
              await new Promise((r) => setTimeout(r, 20));
            }
          }
        } finally {
          c.close();
        }
      };
      const writers = [1, 2, 3].flatMap((id) => [respWriter(id, `r${id}a`), respWriter(id, `r${id}b`), mcWriter(id, `m${id}`)]);
      await new Promise((r) => setTimeout(r, WRITE_MS_BEFORE_KILL));
      const before = acked.size;
      await cluster.kill(leader);
      await new Promise((r) => setTimeout(r, WRITE_MS_AFTER_KILL));
      stop = true;
      await Promise.all(writers);
      const survivors = [1, 2, 3].filter((id) => id !== leader);
      await cluster.leader(30_000, survivors);
      assert.ok(before > 0, "writes were acknowledged before the kill");
      assert.ok(acked.size > before, `writes were acknowledged after the kill too (${before} before, ${acked.size} in all, ${failures} refused)`);

      // Read every acknowledged write back through a survivor of each protocol.
      const reader = await RespTestClient.authed(resp.get(survivors[0]!)!, token);
      const mcReader = await McTestClient.connect(mc.get(survivors[1]!)!);
      const lost: string[] = [];
      try {
        for (const [key, { value, via }] of acked) {
          if (via === "resp") {
            if (show(await reader.call("GET", key)) !== value) lost.push(key);
          } else {
            const got = await mcReader.text(`get ${key}\r\n`, /END\r\n$/);
            if (got !== `VALUE ${key} 0 ${value.length}\r\n${value}\r\nEND\r\n`) lost.push(key);
          }
        }
      } finally {
        reader.close();
        mcReader.close();
      }
      t.diagnostic(`acknowledged ${acked.size} writes (${before} before the kill), ${failures} refused with a retry/unknown error, ${lost.length} lost`);
      assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged writes lost`);
    } finally {
      await cluster.close();
    }
  });
});
