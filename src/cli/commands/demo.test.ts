// `phalanx demo` as a newcomer runs it: the built CLI (`node bin/phalanx.mjs`, from dist/; `npm test`
// builds first). Each test gives the demo its own TMPDIR, so its lock and directory are the test's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../..", import.meta.url).pathname;
const bin = join(root, "bin/phalanx.mjs");

/** Fails with what to do when dist/ is missing or older than the demo's sources. */
function assertBuilt(): void {
  const main = join(root, "dist/cli/main.js");
  assert.ok(existsSync(main), "dist/ is missing: run `npm run build` first (npm test does)");
  const built = statSync(join(root, "dist/cli/commands/demo.js"), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const dir = join(root, "src/cli/commands");
  const newest = Math.max(...readdirSync(dir).filter((f) => f.startsWith("demo") && !f.endsWith(".test.ts")).map((f) => statSync(join(dir, f)).mtimeMs));
  assert.ok(built >= newest, "dist/ is older than src/cli/commands/demo*.ts: run `npm run build` first (npm test does)");
}

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function runDemo(args: readonly string[], tmp: string, nodeArgs: readonly string[] = []): Run {
  const child = spawn(process.execPath, [...nodeArgs, bin, "demo", ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = { child, stdout: "", stderr: "", exited: new Promise((r) => child.once("exit", (code) => r(code))) };
  child.stdout!.on("data", (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

async function poll<T>(what: string, deadlineMs: number, probe: () => T | null | Promise<T | null>): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() - start > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A process as /proc shows it: parent and start time (so a reused pid is not mistaken for it). */
function procStat(pid: number): { ppid: number; start: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(fields[1]), start: fields[19]! };
  } catch {
    return null;
  }
}

/** Every descendant of `pid` (children, their children, ...), with start times. */
function descendants(pid: number): Map<number, string> {
  const parents = new Map<number, number[]>();
  const starts = new Map<number, string>();
  for (const name of readdirSync("/proc")) {
    const p = Number(name);
    if (!Number.isInteger(p)) continue;
    const s = procStat(p);
    if (s === null) continue;
    starts.set(p, s.start);
    parents.set(s.ppid, [...(parents.get(s.ppid) ?? []), p]);
  }
  const out = new Map<number, string>();
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of parents.get(queue.shift()!) ?? []) {
      if (out.has(c)) continue;
      out.set(c, starts.get(c)!);
      queue.push(c);
    }
  }
  return out;
}

const alive = (procs: Map<number, string>): number[] => [...procs].filter(([pid, start]) => procStat(pid)?.start === start).map(([pid]) => pid);

async function tempRoot(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "phalanx-demo-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("demo --check: traffic, kill -9, failover, rejoin, and a last line of JSON with no failed request", { timeout: 240_000 }, async (t) => {
  assertBuilt();
  const tmp = await tempRoot(t);
  const run = runDemo(["--check"], tmp);
  t.after(() => void run.child.kill("SIGKILL"));
  const code = await run.exited;
  const lines = run.stdout.trimEnd().split("\n");
  const last = JSON.parse(lines.at(-1)!) as { requests: number; failed: number; failover_ms: number | null; rejoined: boolean; ok: boolean };
  assert.equal(code, 0, `${run.stdout}\n${run.stderr}`);
  assert.deepEqual(Object.keys(last), ["requests", "failed", "failover_ms", "rejoined", "ok"]);
  assert.equal(last.ok, true);
  assert.equal(last.failed, 0);
  assert.equal(last.rejoined, true);
  assert.ok(last.requests > 0);
  assert.equal(typeof last.failover_ms, "number");
  assert.match(run.stdout, /Summary: every step held/);
  // It cleaned up after itself: no directory, no lock.
  assert.deepEqual(await readdir(tmp), []);
});

test("a demo killed with kill -9 leaves no process, directory or lock behind; a second demo meanwhile is refused", { timeout: 180_000 }, async (t) => {
  assertBuilt();
  const tmp = await tempRoot(t);
  const run = runDemo(["--no-traffic"], tmp);
  let tree = new Map<number, string>();
  t.after(() => {
    run.child.kill("SIGKILL");
    for (const pid of alive(tree)) process.kill(pid, "SIGKILL");
  });
  await poll("the demo ready", 120_000, () => (run.stdout.includes("Ctrl-C stops") ? true : run.child.exitCode !== null ? assert.fail(`demo exited: ${run.stderr}`) : null));
  // Its whole tree: nodes, their instance watchdogs and instances, the demo's own watchdog.
  tree = descendants(run.child.pid!);
  const apps = [...tree.keys()].filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("demo/app.mjs"));
  assert.ok(apps.length >= 5, `expected 3 web and 2 singleton instances, found ${apps.length} in ${run.stdout}`);

  const second = runDemo(["--check"], tmp);
  assert.equal(await second.exited, 2);
  assert.match(second.stderr, new RegExp(`^phalanx: Another phalanx demo is running \\(pid ${run.child.pid}, in ${tmp}/phalanx-demo-\\w+\\): stop it with Ctrl-C in its terminal or \`kill ${run.child.pid}\`, then try again\\n$`));

  run.child.kill("SIGKILL");
  await run.exited;
  await poll("every process of the demo gone", 30_000, () => (alive(tree).length === 0 ? true : null));
  await poll("the demo's directory and lock removed", 10_000, async () => ((await readdir(tmp)).length === 0 ? true : null));
});

test("demo refuses a port in use, an unwritable temporary directory and an old Node, each in one line, leaving nothing", { timeout: 60_000 }, async (t) => {
  assertBuilt();
  const tmp = await tempRoot(t);
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
  t.after(() => new Promise<void>((r) => busy.close(() => r())));
  const port = (busy.address() as { port: number }).port;

  const taken = runDemo(["--check", "--port", String(port)], tmp);
  assert.equal(await taken.exited, 2);
  assert.equal(taken.stderr, `phalanx: Port ${port} is already in use on 127.0.0.1: stop what listens there, or pass --port with another port (--port 0 picks a free one)\n`);
  assert.deepEqual(await readdir(tmp), []);

  const file = join(tmp, "not-a-dir");
  await writeFile(file, "");
  const unwritable = runDemo(["--check"], file);
  assert.equal(await unwritable.exited, 2);
  assert.match(unwritable.stderr, new RegExp(`^phalanx: Cannot write to the temporary directory ${file}: it is not a directory \\(ENOTDIR\\); set TMPDIR to a writable directory and try again\\n$`));
  assert.deepEqual(await readdir(tmp), ["not-a-dir"]);

  const old = runDemo(["--check"], tmp, ["--import", "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'18.19.0'})"]);
  assert.equal(await old.exited, 69);
  assert.match(old.stderr, /^phalanx needs Node\.js 20\.18\.1 or newer, and this is Node\.js 18\.19\.0 \(.+\): install a current Node\.js/);
  assert.deepEqual(await readdir(tmp), ["not-a-dir"]);
});
