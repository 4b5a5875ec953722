// The shipped systemd unit (deploy/phalanx@.service) passes `systemd-analyze verify`, and says what
// README.md promises: restart on failure but not on an invalid config, KillMode=mixed. The unit's
// ExecStart names the installed CLI (/usr/local/bin/phalanx); verify checks that the program
// exists, so the copy verified here points at this checkout's bin/phalanx.mjs instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const unitFile = join(root, "deploy/phalanx@.service");
const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
const skip = analyze.error !== undefined ? `systemd-analyze is not installed here (${analyze.error.message})` : false;

function setting(text: string, key: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

test("deploy/phalanx@.service passes systemd-analyze verify", { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-unit-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const text = await readFile(unitFile, "utf8");
  assert.deepEqual(setting(text, "ExecStart"), ["/usr/local/bin/phalanx agent --config /var/lib/phalanx/%i/config.yaml"]);
  const copy = join(dir, "phalanx@n1.service");
  await writeFile(copy, text.replace("/usr/local/bin/phalanx", join(root, "bin/phalanx.mjs")));
  const r = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  // Warnings (unknown keys, keys in the wrong section) do not fail verify; they fail here.
  assert.equal(r.stderr.split("\n").filter((l) => l.includes("phalanx@n1.service")).join("\n"), "");
});

test("the unit restarts a failed node, not an invalid config, and stops the agent before its instances", async () => {
  const text = await readFile(unitFile, "utf8");
  assert.deepEqual(setting(text, "Restart"), ["on-failure"]);
  assert.deepEqual(setting(text, "RestartPreventExitStatus"), ["2"]);
  assert.deepEqual(setting(text, "KillMode"), ["mixed"]);
  assert.deepEqual(setting(text, "KillSignal"), ["SIGTERM"]);
});
