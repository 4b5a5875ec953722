// What `npm pack` ships: the compiled CLI (dist/, built by `prepare`), the entry point, the demo's
// app and the dashboard's static files — everything the installed `phalanx` reads at run time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("npm pack ships bin/, dist/ (without tests), the demo app and the dashboard's static files", { timeout: 120_000 }, async () => {
  // --ignore-scripts: list what is there (`npm test` has built dist/) without building again.
  const out = await new Promise<string>((resolve, reject) => {
    execFile("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
  for (const needed of ["bin/phalanx.mjs", "dist/cli/main.js", "dist/server/agent.js", "demo/app.mjs", "src/server/dashboard/static/index.html", "src/server/dashboard/static/app.js", "deploy/grafana/phalanx.json"]) {
    assert.ok(files.has(needed), `npm pack leaves out ${needed}`);
  }
  const tests = [...files].filter((f) => /\.test\.(js|ts|d\.ts)/.test(f));
  assert.deepEqual(tests, [], "npm pack ships test files");
});
