// `phalanx proxy` as a real process: --check, exit 2 with a precise error on a bad config, SIGHUP
// reload (a broken file keeps the running config) and a clean exit on SIGTERM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { runProxy } from "./proxy.js";

const root = new URL("../../..", import.meta.url).pathname;
const cli = [ "--import", "tsx", join(root, "src/cli/main.ts")];

async function runInProcess(args: { config: string; check?: boolean }): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const status = await runProxy(
    { ...args, logLevel: "silent", drainGraceMs: "100" },
    { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
  );
  return { status, stdout, stderr };
}

const GOOD = "admin: { listen: 127.0.0.1:0 }\npools:\n  - { name: first, backends: [{ id: a, address: 127.0.0.1:9 }] }\n";

test("--check accepts a valid file and refuses a bad one with exit 2 and file:line:col", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-cli-proxy-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "proxy.yaml");
  await writeFile(file, GOOD);
  const ok = await runInProcess({ config: file, check: true });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, `Config ${file} is valid: 0 frontends, 1 pools, 1 backends\n`);
  await writeFile(file, GOOD.replace("127.0.0.1:9 }", "127.0.0.1:99999 }"));
  const bad = await runInProcess({ config: file, check: true });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, new RegExp(`${file}:3:49: pools\\[0\\]\\.backends\\[0\\]\\.address: Port 99999 is out of range 1-65535`));
  // Starting (not just checking) with the bad file exits 2 too.
  const start = await runInProcess({ config: file });
  assert.equal(start.status, 2);
  assert.match(start.stderr, /Port 99999 is out of range/);
});

test("SIGHUP reloads the file, a broken file keeps the running config, SIGTERM exits cleanly", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-cli-proxy-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "proxy.yaml");
  await writeFile(file, GOOD);
  const child = spawn(process.execPath, [...cli, "proxy", "--config", file, "--drain-grace-ms", "1000"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const waitForLog = async (msg: RegExp): Promise<Record<string, unknown>> => {
    // Generous: the child compiles TypeScript through tsx, slow on a loaded machine.
    const deadline = Date.now() + 45_000;
    for (;;) {
      const found = lines.find((l) => msg.test(String(l.msg)));
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`No log line matching ${msg}; got ${JSON.stringify(lines)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  const running = await waitForLog(/^Proxy running$/);
  const admin = running.admin as { port: number };
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text();
  assert.match(await metrics(), /pool="first"/);

  await writeFile(file, GOOD.replace("name: first", "name: second"));
  child.kill("SIGHUP");
  await waitForLog(/^Config reloaded$/);
  const after = await metrics();
  assert.match(after, /pool="second"/);

  await writeFile(file, "pools: [ broken");
  child.kill("SIGHUP");
  const refused = await waitForLog(/^Config reload refused/);
  assert.match(String(refused.msg), new RegExp(`${file}:1:\\d+: Invalid YAML`));
  assert.match(await metrics(), /pool="second"/);

  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.ok(lines.some((l) => l.msg === "Proxy stopped"));
});
