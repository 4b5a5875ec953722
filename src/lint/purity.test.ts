// The purity rule must be able to fail: plant violations in a pure-core path and expect errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ESLint } from "eslint";

const root = new URL("../..", import.meta.url).pathname;

async function lintAs(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  assert.ok(result, "ESLint returned no result");
  return result.messages.map((m) => m.ruleId ?? m.message);
}

test("lint refuses node:* imports, clocks, timers and randomness in src/raft", async () => {
  const rules = await lintAs(
    "src/raft/planted.ts",
    [
      'import { readFileSync } from "node:fs";',
      "export const a = readFileSync;",
      "export const b = Date.now();",
      "export const c = Math.random();",
      "export const d = setTimeout;",
      "export const e = process.pid;",
      "export const f = performance.now();",
    ].join("\n"),
  );
  assert.deepEqual(
    [...rules].sort(),
    [
      "no-restricted-globals",
      "no-restricted-globals",
      "no-restricted-globals",
      "no-restricted-globals",
      "no-restricted-imports",
      "no-restricted-properties",
    ].sort(),
  );
});

test("lint applies the same boundary to the KV state machine and balancing decisions", async () => {
  for (const path of ["src/kv/planted.ts", "src/proxy/balance/planted.ts", "src/scheduler/planted.ts"]) {
    const rules = await lintAs(path, 'import net from "node:net";\nexport const x = net;\n');
    assert.deepEqual(rules, ["no-restricted-imports"], path);
  }
});

test("lint allows I/O in shells such as src/storage", async () => {
  const rules = await lintAs("src/storage/planted.ts", 'import { readFileSync } from "node:fs";\nexport const a = readFileSync;\nexport const b = Date.now();\n');
  assert.deepEqual(rules, []);
});
