// The agents' own logs, as an operator's log shipper (ELK, Loki) reads them: JSON lines with the
// node on every line, the service and instance on every line about an instance, and no key twice
// on one line (pino repeats a key bound by a parent and a child logger; parsers keep only one).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { applyText, healthyCurrent, service, startServicesFixture, waitFor, webService } from "../testing/services-testkit.js";
import { activeStandbyService, healthyActive, writeActingApp } from "../testing/failover-testkit.js";

/** The top-level keys of a JSON object text in order, repeats included (JSON.parse keeps only the last). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\"") {
      let j = i + 1;
      while (text[j] !== "\"") j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

test("topLevelKeys() sees a key repeated at the top level, not in nested objects", () => {
  assert.deepEqual(topLevelKeys('{"a":1,"b":{"a":"x,\\"y"},"a":[{"c":2}]}'), ["a", "b", "a"]);
});

test("real agents log JSON lines with node on each, service and instance on each line about an instance, no key twice", { timeout: 120_000 }, async (t) => {
  const f = await startServicesFixture();
  t.after(() => f.close());
  await applyText(f.admin, webService(f, { replicas: 3 }));
  // An active-standby service too: its fencing lease, guard and watchdog log through their own child loggers.
  await applyText(f.admin, activeStandbyService(f, await writeActingApp(f)));
  const active = await waitFor("a healthy active of db", () => healthyActive(f, "db"), 60_000);
  const instances = await waitFor("three healthy instances", async () => {
    const h = healthyCurrent(await service(f.reader, "web"));
    return h.length === 3 ? h : undefined;
  }, 60_000);
  // Each instance printed its "serving" line; wait until every agent has logged it.
  const logOf = (id: number): Promise<string> => readFile(join(f.cluster.nodeDir(id), "agent.log"), "utf8");
  await waitFor("every instance's output in its agent's log", async () => {
    for (const i of instances) if (!(await logOf(i.node)).includes(`serving ${i.id} `)) return undefined;
    return true;
  }, 30_000);

  for (const id of [1, 2, 3]) {
    const lines = (await logOf(id)).split("\n").filter((l) => l.trim() !== "");
    assert.ok(lines.length > 0, `node ${id} logged nothing`);
    const records = lines.map((line, n) => {
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`node ${id}, line ${n + 1} is not JSON: ${line}`);
      }
      const keys = topLevelKeys(line);
      assert.equal(new Set(keys).size, keys.length, `node ${id}, line ${n + 1} repeats a key: ${line}`);
      assert.equal(r.node, id, `node ${id}, line ${n + 1} names node ${String(r.node)}: ${line}`);
      if ("instance" in r) assert.equal(typeof r.service, "string", `node ${id}, line ${n + 1} is about an instance but names no service: ${line}`);
      return r;
    });
    // Not a line count (it varies with timing): every node runs a web instance, so its log must
    // hold lines about an instance for the checks above to have bitten.
    assert.ok(records.some((r) => "instance" in r), `node ${id} logged no line about an instance: ${lines.length} lines`);
    if (id === active.node) {
      const promoted = records.find((r) => r.msg === "promoted: this node's instance is the active");
      assert.deepEqual([promoted?.service, promoted?.instance], ["db", active.instance], "the failover agent's lines name service and instance");
    }
    const mine = instances.filter((i) => i.node === id);
    for (const i of mine) {
      const output = records.find((r) => r.stream === "stdout" && String(r.msg).startsWith(`serving ${i.id} `));
      assert.ok(output !== undefined, `node ${id} logged ${i.id}'s output`);
      assert.deepEqual([output.service, output.instance, typeof output.instancePid], ["web", i.id, "number"], "an output line carries service, instance and the instance's pid");
      const status = records.find((r) => r.msg === `instance ${i.id} healthy`);
      assert.deepEqual([status?.service, status?.instance], ["web", i.id], "a status line carries service and instance");
    }
  }
});
