// `phalanx init` writes the node's files where --dir says and names the node as --name says.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../../..", import.meta.url));

function phalanx(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

test("init --name names the node while --dir chooses where its files go", { timeout: 60_000 }, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), "phalanx-init-"));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const dir = join(tmp, "node-a");
  const r = await phalanx(["init", "--dir", dir, "--name", "web1", "--peer-listen", "127.0.0.1:0", "--client-listen", "127.0.0.1:0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Created cluster \\S+ in ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  const config = parse(await readFile(join(dir, "config.yaml"), "utf8")) as { node: { name: string }; members: { name: string }[] };
  assert.equal(config.node.name, "web1");
  assert.deepEqual(config.members.map((m) => m.name), ["web1"]);
});
