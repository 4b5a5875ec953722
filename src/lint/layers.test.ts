// The layering rule must be able to fail: plant upward imports in each layer and expect errors;
// plant downward ones and expect none.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ESLint } from "eslint";

const root = new URL("../..", import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

async function lintAs(path: string, code: string): Promise<{ ruleId: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  assert.ok(result, "ESLint returned no result");
  return result.messages.map((m) => ({ ruleId: m.ruleId, message: m.message }));
}

/** The layering errors for one import of `specifier` from a file at `path`. */
async function layerErrors(path: string, specifier: string): Promise<string[]> {
  const messages = await lintAs(path, `import { x } from "${specifier}";\nexport const y = x;\n`);
  return messages.filter((m) => m.ruleId === "phalanx/layers").map((m) => m.message);
}

test("a pure core importing a runtime, an adapter or the node core is refused", async () => {
  const planted: [string, string][] = [
    ["src/raft/planted.ts", "../server/replica.js"],
    ["src/kv/planted.ts", "../storage/storage.js"],
    ["src/kv/planted.ts", "../node/core.js"],
    ["src/scheduler/planted.ts", "../client/client.js"],
    ["src/proxy/balance/planted.ts", "../runtime/runtime.js"],
    ["src/proxy/health/decidePlanted.ts", "./activeCheck.js"],
    ["src/node/planted.ts", "../transport/tls-transport.js"],
    ["src/node/planted.ts", "../sim/runner.js"],
  ];
  for (const [path, specifier] of planted) {
    const errors = await layerErrors(path, specifier);
    assert.equal(errors.length, 1, `${path} importing ${specifier}: ${JSON.stringify(errors)}`);
    assert.match(errors[0]!, /must not import src\/.* \(layer [a-z-]+\): .* Layers import downward/);
  }
});

test("an adapter importing a runtime or the CLI, and a runtime importing the CLI or the test harness, are refused", async () => {
  const planted: [string, string][] = [
    ["src/storage/planted.ts", "../server/replica.js"],
    ["src/pki/planted.ts", "../cli/cluster-files.js"],
    ["src/client/planted.ts", "../proxy/runtime/runtime.js"],
    ["src/config/planted.ts", "../proxy/pool/pool.js"],
    ["src/fsutil/planted.ts", "../storage/fs.js"],
    ["src/server/planted.ts", "../cli/commands/dev.js"],
    ["src/server/planted.ts", "../testing/process-cluster.js"],
    ["src/proxy/runtime/planted.ts", "../../sim/checkers.js"],
  ];
  for (const [path, specifier] of planted) {
    const errors = await layerErrors(path, specifier);
    assert.equal(errors.length, 1, `${path} importing ${specifier}: ${JSON.stringify(errors)}`);
  }
});

test("the message names both files, both layers and what the importer may use", async () => {
  const [error] = await layerErrors("src/raft/planted.ts", "../server/replica.js");
  assert.equal(error, "src/raft/planted.ts (layer pure-core) must not import src/server/replica.ts (layer runtime): "
    + "pure-core may import only pure-core. Layers import downward; see the layer table in eslint.config.js");
});

test("type-only imports, re-exports and dynamic imports count as imports", async () => {
  const code = [
    'import type { Replica } from "../server/replica.js";',
    'export { startNode } from "../server/agent.js";',
    'export * from "../cli/program.js";',
    'export const load = (): Promise<unknown> => import("../proxy/runtime/runtime.js");',
    "export type R = Replica;",
  ].join("\n");
  const rules = (await lintAs("src/kv/planted.ts", code)).map((m) => m.ruleId);
  assert.deepEqual(rules, ["phalanx/layers", "phalanx/layers", "phalanx/layers", "phalanx/layers"]);
});

test("downward and same-layer imports pass", async () => {
  const allowed: [string, string][] = [
    ["src/node/planted.ts", "../raft/raft.js"],
    ["src/node/planted.ts", "../kv/store.js"],
    ["src/sim/planted.ts", "../node/core.js"],
    ["src/proxy/health/decidePlanted.ts", "../types.js"],
    ["src/config/planted.ts", "../proxy/types.js"],
    ["src/client/planted.ts", "../kv/keys.js"],
    ["src/transport/planted.ts", "../pki/verify.js"],
    ["src/pki/planted.ts", "../fsutil/atomic-file.js"],
    ["src/server/planted.ts", "../storage/storage.js"],
    ["src/proxy/runtime/planted.ts", "../../client/client.js"],
    ["src/cli/planted.ts", "../server/agent.js"],
    ["src/testing/planted.ts", "../cli/commands/dev.js"],
  ];
  for (const [path, specifier] of allowed) {
    assert.deepEqual(await layerErrors(path, specifier), [], `${path} importing ${specifier}`);
  }
});

test("tests may import any layer; a folder placed in no layer is refused", async () => {
  assert.deepEqual(await layerErrors("src/raft/planted.test.ts", "../sim/checkers.js"), []);
  const errors = await layerErrors("src/unplaced/planted.ts", "../raft/raft.js");
  assert.deepEqual(errors, ["src/unplaced/planted.ts belongs to no layer: add its folder to the layer table in eslint.config.js"]);
  const target = await layerErrors("src/server/planted.ts", "../unplaced/thing.js");
  assert.deepEqual(target, ["src/unplaced/thing.ts belongs to no layer: add its folder to the layer table in eslint.config.js"]);
});
