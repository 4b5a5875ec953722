// The supervisor with real processes: tiny node scripts in a temp dir (an HTTP server on $PORT,
// one that exits 1, one that ignores SIGTERM, one that turns unhealthy, one that forks a child).
// Every wait is on status events with a deadline; every test stops its supervisor in t.after.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Supervisor } from "./supervisor.js";
import type { InstanceSpec, InstanceStatus } from "./core/types.js";
import { resolveRunAs } from "./run-as.js";

const SCRIPTS: Record<string, string> = {
  // Answers every request with its environment's ports and version.
  "server.js": `
    const http = require("node:http");
    const s = http.createServer((req, res) => res.end(JSON.stringify({ PORT: process.env.PORT, PORT_ADMIN: process.env.PORT_ADMIN, VERSION: process.env.VERSION, uid: process.getuid() })));
    s.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on " + process.env.PORT + " as uid " + process.getuid()));
    process.on("SIGTERM", () => s.close(() => process.exit(0)));`,
  "crash.js": `console.error("about to fail"); process.exit(1);`,
  // Ignores SIGTERM; its port opens only after the handler is installed.
  "stubborn.js": `
    process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
    require("node:net").createServer(() => {}).listen(Number(process.env.PORT), "127.0.0.1");`,
  // Healthy for its first three checks, then answers 500.
  "flaky.js": `
    let served = 0;
    require("node:http").createServer((req, res) => { served++; res.statusCode = served <= 3 ? 200 : 500; res.end(); })
      .listen(Number(process.env.PORT), "127.0.0.1");`,
  // Forks a grandchild (same process group) that ignores SIGTERM and reports its pid once it does,
  // so only the SIGKILL of the group's leftovers can end it.
  "forker.js": `
    const { spawn } = require("node:child_process");
    spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); console.log('grandchild ' + process.pid); setInterval(() => {}, 1000)"], { stdio: "inherit" });
    setInterval(() => {}, 1000);`,
};

function scriptsDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "phalanx-supervisor-"));
  chmodSync(dir, 0o755); // readable by the user an instance may run as
  for (const [name, body] of Object.entries(SCRIPTS)) writeFileSync(join(dir, name), body, { mode: 0o644 });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const BASE_RESTART = { policy: "always" as const, backoffInitialMs: 10, backoffMultiplier: 2, backoffMaxMs: 40, resetAfterMs: 60_000, maxRestarts: 4 };
// The grace covers the time node takes to start listening (refused connections do not count while
// starting); it does not delay becoming healthy. The timeout is long (longer than the interval,
// which the service schema would refuse) so a loaded test machine does not fail a check by a slow answer.
const FAST_HTTP_CHECK = { type: "http" as const, path: "/", intervalMs: 20, timeoutMs: 2000, rise: 2, fall: 2, startGraceMs: 10_000 };

function instance(dir: string, id: string, script: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: "web", instanceId: id, run: { command: process.execPath, args: [join(dir, script)] }, cwd: dir, env: {},
    ports: [{ name: "http" }], restart: BASE_RESTART, stop: { signal: "SIGTERM", timeoutMs: 5000 }, ...over,
  };
}

interface Harness {
  sup: Supervisor;
  seen: InstanceStatus[];
  logLines: Array<Record<string, unknown>>;
  /** Every health-check result the supervisor reported (onCheck), as "instance pass|fail". */
  checks: string[];
  /** Resolves with the first status (past or future) matching `pred`; rejects after the deadline. */
  until(pred: (s: InstanceStatus) => boolean, what: string, timeoutMs?: number): Promise<InstanceStatus>;
}

function harness(t: TestContext, logDir?: string): Harness {
  const logLines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void logLines.push(JSON.parse(s) as Record<string, unknown>) });
  // A slice of the default range per test process, so parallel test files rarely meet.
  const from = 20_000 + (process.pid % 450) * 20;
  const checks: string[] = [];
  const sup = new Supervisor({ logger, portRange: { from, to: from + 19 }, ...(logDir !== undefined ? { logDir } : {}), onCheck: (_service, instance, ok) => void checks.push(`${instance} ${ok ? "pass" : "fail"}`) });
  const seen: InstanceStatus[] = [];
  const waiters = new Set<{ pred: (s: InstanceStatus) => boolean; resolve: (s: InstanceStatus) => void }>();
  sup.onStatus((s) => {
    seen.push(s);
    for (const w of waiters) if (w.pred(s)) { waiters.delete(w); w.resolve(s); }
  });
  t.after(() => sup.stopAll());
  return {
    sup, seen, logLines, checks,
    until(pred, what, timeoutMs = 15_000) {
      const past = seen.find(pred);
      if (past !== undefined) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`Timed out waiting for ${what}; statuses seen: ${seen.map((s) => `${s.instanceId}:${s.state}`).join(" ")}`));
        }, timeoutMs);
        const w = { pred, resolve: (s: InstanceStatus) => { clearTimeout(timer); resolve(s); } };
        waiters.add(w);
      });
    },
  };
}

/** Alive and not a zombie waiting for a parent that does not reap. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false; // gone between the two looks
  }
}

async function untilTrue(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function getJson(port: number): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return (await res.json()) as Record<string, unknown>;
}

test("an instance starts, passes rise checks to healthy, and gets its ports as PORT and PORT_<NAME>", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t);
  const spec = instance(dir, "web-1", "server.js", { ports: [{ name: "http" }, { name: "admin" }], healthCheck: FAST_HTTP_CHECK });
  const applied = await h.sup.apply([spec]);
  assert.deepEqual(applied, { started: ["web-1"], replaced: [], stopped: [] });
  const healthy = await h.until((s) => s.state === "healthy", "web-1 healthy");
  assert.ok((healthy.health?.consecutiveSuccesses ?? 0) >= FAST_HTTP_CHECK.rise, "healthy only after rise passes");
  assert.deepEqual(h.seen[0]?.state, "starting", "reported starting before healthy");
  const { http, admin } = healthy.ports;
  assert.ok(http !== undefined && admin !== undefined && http !== admin);
  const body = await getJson(http);
  assert.equal(body.PORT, String(http));
  assert.equal(body.PORT_ADMIN, String(admin));
  const line = h.logLines.find((l) => l.instance === "web-1" && l.stream === "stdout");
  assert.equal(line?.msg, `listening on ${http} as uid ${process.getuid?.()}`, "stdout reaches the logger with instance labels");
  assert.equal(line?.service, "web");
});

test("a crashing instance is restarted with growing backoff, then failed after maxRestarts", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t, join(dir, "logs"));
  await h.sup.apply([instance(dir, "crash-1", "crash.js", { ports: [] })]);
  const failed = await h.until((s) => s.state === "failed", "crash-1 failed");
  const backoffs = h.seen.filter((s) => s.state === "backoff").map((s) => s.backoffMs);
  assert.deepEqual(backoffs, [10, 20, 40, 40], "initial 10 ms, ×2 per restart, capped at 40 ms");
  const restartCounts = h.seen.filter((s) => s.state === "running").map((s) => s.restarts);
  assert.deepEqual(restartCounts, [0, 1, 2, 3, 4]);
  assert.equal(failed.restarts, 4);
  assert.deepEqual({ code: failed.lastExit?.code, signal: failed.lastExit?.signal }, { code: 1, signal: null });
  assert.match(failed.message, /exited with code 1; restarted 4 times in a row/);
  assert.ok(h.logLines.some((l) => l.instance === "crash-1" && l.stream === "stderr" && l.msg === "about to fail"));
  // Each of the 5 runs appended its line to the instance's log file (written once its pipes close).
  const logFile = join(dir, "logs", "web", "crash-1.log");
  const countInFile = (): number => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("stderr about to fail\n").length - 1 : 0);
  await untilTrue(() => countInFile() === 5, "5 lines in crash-1.log");
});

test("stopping an instance that ignores SIGTERM sends SIGKILL after the stop timeout", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t);
  const check = { type: "tcp" as const, intervalMs: 20, timeoutMs: 2000, rise: 1, fall: 3, startGraceMs: 10_000 };
  await h.sup.apply([instance(dir, "stub-1", "stubborn.js", { healthCheck: check, stop: { signal: "SIGTERM", timeoutMs: 300 } })]);
  const healthy = await h.until((s) => s.state === "healthy", "stub-1 healthy (SIGTERM handler installed)");
  const applied = await h.sup.apply([]);
  assert.deepEqual(applied.stopped, ["stub-1"]);
  const stopped = await h.until((s) => s.state === "stopped", "stub-1 stopped");
  assert.deepEqual(h.seen.slice(-2).map((s) => s.state), ["stopping", "stopped"]);
  assert.equal(stopped.lastExit?.signal, "SIGKILL", "SIGTERM was ignored, SIGKILL ended it");
  assert.ok(h.logLines.some((l) => l.instance === "stub-1" && l.msg === "ignoring SIGTERM"), "it did get SIGTERM first");
  assert.equal(stopped.restarts, 0);
  assert.equal(isAlive(healthy.pid ?? -1), false);
  assert.deepEqual(h.sup.statuses(), [], "a removed instance is forgotten");
});

test("an instance that turns unhealthy is killed and restarted by its restart policy", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t);
  await h.sup.apply([instance(dir, "flaky-1", "flaky.js", { healthCheck: FAST_HTTP_CHECK })]);
  const unhealthy = await h.until((s) => s.state === "unhealthy", "flaky-1 unhealthy");
  assert.match(unhealthy.message, /failed 2 health checks in a row: HTTP 500/);
  await h.until((s) => s.state === "healthy" && s.restarts === 1, "flaky-1 healthy again after one restart");
  const states = h.seen.map((s) => s.state);
  const firstUnhealthy = states.indexOf("unhealthy");
  assert.deepEqual(states.slice(0, firstUnhealthy + 1), ["starting", "healthy", "unhealthy"]);
  assert.deepEqual(states.slice(firstUnhealthy + 1, firstUnhealthy + 4), ["backoff", "starting", "healthy"]);
  assert.equal(isAlive(unhealthy.pid ?? -1), false, "the unhealthy process is gone");
});

test("exec checks run with the instance's environment; a failing or overrunning one makes it unhealthy", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t);
  const exec = (code: string, timeoutMs = 2000) => ({ type: "exec" as const, command: process.execPath, args: ["-e", code], intervalMs: 20, timeoutMs, rise: 1, fall: 1, startGraceMs: 0 });
  const never = { ...BASE_RESTART, policy: "never" as const };
  await h.sup.apply([
    instance(dir, "exec-ok", "server.js", { healthCheck: exec("process.exit(process.env.PHALANX_INSTANCE === 'exec-ok' && Number(process.env.PORT) > 0 ? 0 : 1)") }),
    instance(dir, "exec-bad", "server.js", { healthCheck: exec("process.exit(3)"), restart: never }),
    instance(dir, "exec-hang", "server.js", { healthCheck: exec("setInterval(() => {}, 1000)", 100), restart: never }),
  ]);
  await h.until((s) => s.instanceId === "exec-ok" && s.state === "healthy", "exec-ok healthy");
  const bad = await h.until((s) => s.instanceId === "exec-bad" && s.state === "unhealthy", "exec-bad unhealthy");
  assert.match(bad.message, /failed 1 health checks in a row: check exited with code 3/);
  const hang = await h.until((s) => s.instanceId === "exec-hang" && s.state === "unhealthy", "exec-hang unhealthy");
  assert.match(hang.message, /check command did not finish within 100 ms/);
  assert.ok(isAlive(bad.pid ?? -1), "with restart policy never an unhealthy instance keeps running");
  assert.ok(h.checks.includes("exec-ok pass") && !h.checks.includes("exec-ok fail"), "each result reaches onCheck (the health-check metric)");
  assert.ok(h.checks.includes("exec-bad fail") && h.checks.includes("exec-hang fail"));
});

test("a changed spec replaces the process: the old one stops before the new one starts, same port", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t);
  const v1 = instance(dir, "web-1", "server.js", { env: { VERSION: "1" }, healthCheck: FAST_HTTP_CHECK });
  await h.sup.apply([v1]);
  const old = await h.until((s) => s.state === "healthy", "v1 healthy");
  const applied = await h.sup.apply([{ ...v1, env: { VERSION: "2" } }]);
  assert.deepEqual(applied, { started: [], replaced: ["web-1"], stopped: [] });
  const fresh = await h.until((s) => s.state === "healthy" && s.pid !== old.pid, "v2 healthy");
  assert.equal(fresh.ports.http, old.ports.http, "the replacement keeps the instance's port");
  assert.equal((await getJson(fresh.ports.http ?? 0)).VERSION, "2");
  assert.equal(isAlive(old.pid ?? -1), false);
  const order = h.seen.map((s) => `${s.state}${s.pid === old.pid ? ":old" : ""}`);
  assert.ok(order.indexOf("stopped:old") < order.lastIndexOf("starting"), `old stopped before the new started: ${order.join(" ")}`);
  assert.deepEqual(await h.sup.apply([{ ...v1, env: { VERSION: "2" } }]), { started: [], replaced: [], stopped: [] }, "the same spec again changes nothing");
});

test("an instance removed and added back while still stopping starts only after the old one exited", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t);
  const check = { type: "tcp" as const, intervalMs: 20, timeoutMs: 2000, rise: 1, fall: 3, startGraceMs: 10_000 };
  const spec = instance(dir, "stub-1", "stubborn.js", { healthCheck: check, stop: { signal: "SIGTERM", timeoutMs: 300 } });
  await h.sup.apply([spec]);
  const old = await h.until((s) => s.state === "healthy", "stub-1 healthy");
  await h.sup.apply([]);
  assert.deepEqual(await h.sup.apply([spec]), { started: ["stub-1"], replaced: [], stopped: [] });
  const fresh = await h.until((s) => s.state === "healthy" && s.pid !== old.pid, "the new stub-1 healthy");
  const order = h.seen.map((s) => `${s.state}${s.pid === old.pid ? ":old" : ""}`);
  assert.ok(order.indexOf("stopped:old") < order.indexOf("starting"), `the old one stopped (SIGKILLed after 300 ms) before the new started: ${order.join(" ")}`);
  assert.equal(isAlive(old.pid ?? -1), false);
  assert.equal(h.sup.statuses().length, 1);
  assert.equal(h.sup.statuses()[0]?.pid, fresh.pid);
});

test("stopAll leaves no process behind, grandchildren included", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t);
  await h.sup.apply([
    instance(dir, "web-1", "server.js"),
    instance(dir, "fork-1", "forker.js", { ports: [] }),
    instance(dir, "stub-1", "stubborn.js", { stop: { signal: "SIGTERM", timeoutMs: 200 } }),
  ]);
  const running = await Promise.all(["web-1", "fork-1", "stub-1"].map((id) => h.until((s) => s.instanceId === id && s.state === "running", `${id} running`)));
  const grandchildLine = await new Promise<string>((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const look = (): void => {
      const l = h.logLines.find((x) => x.instance === "fork-1" && String(x.msg).startsWith("grandchild "));
      if (l !== undefined) resolve(String(l.msg));
      else if (Date.now() > deadline) reject(new Error("fork-1 never reported its grandchild"));
      else setTimeout(look, 10);
    };
    look();
  });
  const pids = [...running.map((s) => s.pid ?? -1), Number(grandchildLine.split(" ")[1])];
  assert.ok(pids.every(isAlive), "everything runs before stopAll");
  await h.sup.stopAll();
  assert.deepEqual(pids.filter(isAlive), [], "no pid alive after stopAll");
  assert.deepEqual(h.sup.statuses(), []);
  await assert.rejects(h.sup.apply([instance(dir, "web-2", "server.js")]), { name: "SupervisorError", code: "closed" });
});

test("a command that does not exist fails with the reason; a duplicate id is refused", async (t) => {
  const dir = scriptsDir(t);
  const h = harness(t);
  const spec = instance(dir, "nope-1", "x", { run: { command: join(dir, "no-such-program"), args: [] }, restart: { ...BASE_RESTART, maxRestarts: 0 } });
  await h.sup.apply([spec]);
  const failed = await h.until((s) => s.state === "failed", "nope-1 failed");
  assert.match(failed.message, /could not start: spawn .*no-such-program ENOENT/);
  await assert.rejects(h.sup.apply([spec, spec]), { name: "SupervisorError", code: "invalid_desired_set", message: /nope-1 appears twice/ });
  const badCwd = await h.sup.apply([{ ...spec, instanceId: "cwd-1", cwd: join(dir, "missing") }]);
  assert.deepEqual(badCwd.started, ["cwd-1"]);
  const cwdFailed = await h.until((s) => s.instanceId === "cwd-1" && s.state === "failed", "cwd-1 failed");
  assert.match(cwdFailed.message, /working directory .*missing cannot be used/);
});

test("user: runs as another user when root; a precise error otherwise", async (t) => {
  await assert.rejects(resolveRunAs("nobody", { agentUid: 1000 }), { code: "run_as", message: /the agent runs as uid 1000, and only root can switch users/ });
  await assert.rejects(resolveRunAs("no-such-user-x", { agentUid: 0 }), { code: "run_as", message: /Cannot run as user "no-such-user-x": this node does not know the user/ });
  if (process.getuid?.() !== 0) {
    t.skip("not root: switching users cannot be tried");
    return;
  }
  const dir = scriptsDir(t);
  const h = harness(t);
  const nobody = await resolveRunAs("nobody");
  await h.sup.apply([instance(dir, "as-nobody", "server.js", { user: "nobody", healthCheck: FAST_HTTP_CHECK }), instance(dir, "as-ghost", "server.js", { user: "no-such-user-x" })]);
  const healthy = await h.until((s) => s.instanceId === "as-nobody" && s.state === "healthy", "as-nobody healthy");
  assert.equal((await getJson(healthy.ports.http ?? 0)).uid, nobody.uid);
  const ghost = await h.until((s) => s.instanceId === "as-ghost" && s.state === "failed", "as-ghost failed");
  assert.match(ghost.message, /this node does not know the user/);
});
