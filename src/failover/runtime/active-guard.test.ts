// The runtime guard: promotes when the record names this node on its lease, keeps the instance
// active while keep-alives are acknowledged, demotes at the fence point when they stop (never
// before), and lets the watchdog kill an instance whose stop hangs. Real timers, short lease.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { fencingDeadlines } from "../fencing.js";
import type { FencingParams } from "../fencing.js";
import { FencingWatchdog, monotonicNowNs } from "../watchdog/fencing-watchdog.js";
import { judgeActingLog } from "../acting-log.js";
import { GUARDED_AGENT_PARAMS } from "./testdata/guarded-agent-params.js";
import { ActiveGuard, monotonicNowMs } from "./active-guard.js";
import type { GuardedInstance } from "./active-guard.js";

const PARAMS: FencingParams = { leaseTtlMs: 600, clockRateErrorMax: 0.005, safetyMarginMs: 20, stopTimeoutMs: 100, renewIntervalMs: 150 };
const silent = pino({ level: "silent" });

async function untilTrue(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

interface Recorder extends GuardedInstance {
  readonly events: { kind: "promote" | "demote"; atMs: number; detail: string }[];
}

function recorder(group: number | null = null): Recorder {
  const events: Recorder["events"] = [];
  return {
    events,
    promote: (token) => events.push({ kind: "promote", atMs: monotonicNowMs(), detail: String(token) }),
    demote: (reason) => events.push({ kind: "demote", atMs: monotonicNowMs(), detail: reason }),
    processGroup: () => group,
  };
}

function guardFor(t: TestContext, instance: GuardedInstance, watchdog: FencingWatchdog | null = null): ActiveGuard {
  const guard = new ActiveGuard({ nodeId: 1, params: PARAMS, instance, watchdog, logger: silent });
  t.after(() => guard.close());
  return guard;
}

test("promotes with the record's token, stays active while fed, and demotes at the fence point once keep-alives stop", async (t) => {
  const inst = recorder();
  const guard = guardFor(t, inst);
  const grantSent = monotonicNowMs();
  guard.leaseGranted(7, grantSent);
  guard.recordSeen({ node: 1, leaseId: 7, token: 42 });
  assert.deepEqual(inst.events.map((e) => [e.kind, e.detail]), [["promote", "42"]]);
  assert.equal(guard.status().active, true);

  // Fed for longer than one whole fencing budget: no demotion.
  let lastAckedSend = grantSent;
  const fedUntil = fencingDeadlines(grantSent, PARAMS).actingEndsAtMs + 100;
  while (monotonicNowMs() < fedUntil) {
    lastAckedSend = monotonicNowMs();
    guard.keepAliveAcked(lastAckedSend);
    await new Promise((r) => setTimeout(r, PARAMS.renewIntervalMs / 3));
  }
  assert.equal(inst.events.length, 1, "fed: still active");

  await untilTrue(() => inst.events.length === 2, "the demotion");
  const demote = inst.events[1]!;
  assert.equal(demote.kind, "demote");
  assert.match(demote.detail, /no keep-alive acknowledged in time/);
  assert.ok(demote.atMs >= fencingDeadlines(lastAckedSend, PARAMS).fenceAtMs, "never before the fence point");
  assert.equal(guard.status().active, false);
});

test("demotes at once when the record names another node or the lease is lost, and does not re-promote on a stale record", (t) => {
  const inst = recorder();
  const guard = guardFor(t, inst);
  guard.leaseGranted(7, monotonicNowMs());
  guard.recordSeen({ node: 1, leaseId: 7, token: 42 });
  guard.recordSeen({ node: 2, leaseId: 9, token: 50 });
  assert.deepEqual(inst.events.map((e) => e.kind), ["promote", "demote"]);
  guard.instanceStopped();
  guard.recordSeen({ node: 1, leaseId: 7, token: 42 });
  guard.leaseLost();
  assert.deepEqual(inst.events.map((e) => e.kind), ["promote", "demote", "promote", "demote"]);
  guard.instanceStopped();
  guard.recordSeen({ node: 1, leaseId: 7, token: 42 }); // a record on the old lease: not ours any more
  assert.equal(inst.events.length, 4);
});

test("an instance whose stop hangs is killed by the watchdog the guard armed", async (t) => {
  const sleeper = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
  sleeper.unref();
  const pgid = sleeper.pid ?? -1;
  t.after(() => {
    if (isAlive(pgid)) process.kill(-pgid, "SIGKILL");
  });
  const watchdog = new FencingWatchdog(silent);
  t.after(() => watchdog.close());
  const inst = recorder(pgid); // its demote does nothing: a stop that hangs
  const guard = guardFor(t, inst, watchdog);
  guard.leaseGranted(7, monotonicNowMs());
  guard.recordSeen({ node: 1, leaseId: 7, token: 3 });
  await untilTrue(() => !isAlive(pgid), "the watchdog to kill the instance");
  assert.deepEqual(inst.events.map((e) => e.kind), ["promote", "demote"], "demoted first, killed after");
});

test("SIGSTOP of the agent alone: its active is dead before the lease could expire at a leader, and a successor starting then overlaps nothing", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "phalanx-guard-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const actingLog = join(dir, "acting.log");
  const sendsFile = join(dir, "sends");
  writeFileSync(actingLog, "");
  const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
  const agent = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./testdata/guarded-agent.ts", import.meta.url)), actingLog, sendsFile], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  let promoted: { pid: number; watchdogPid: number } | null = null;
  t.after(() => {
    if (agent.exitCode === null && agent.signalCode === null) {
      agent.kill("SIGCONT");
      agent.kill("SIGKILL");
    }
    if (promoted !== null && isAlive(promoted.pid)) process.kill(-promoted.pid, "SIGKILL");
    if (promoted !== null && isAlive(promoted.watchdogPid)) process.kill(promoted.watchdogPid, "SIGKILL");
  });
  let out = "";
  agent.stdout.setEncoding("utf8");
  agent.stdout.on("data", (chunk: string) => {
    out += chunk;
    const line = out.split("\n").find((l) => l.startsWith("{"));
    if (line !== undefined && promoted === null) promoted = JSON.parse(line) as { pid: number; watchdogPid: number };
  });
  await untilTrue(() => promoted !== null && readFileSync(actingLog, "utf8").startsWith("start a 42 "), "the instance to start acting with token 42");
  await untilTrue(() => readFileSync(sendsFile, "utf8").trim().split("\n").length >= 4, "a few renewals");
  const { pid } = promoted as unknown as { pid: number };

  agent.kill("SIGSTOP");
  await untilTrue(() => readProcState(agent.pid ?? -1) === "T", "the agent to be stopped");
  assert.equal(isAlive(pid), true, "the instance still serves when its agent stops");
  // Every renewal the stopped agent sent is in the file (written synchronously before it stopped).
  const sends = readFileSync(sendsFile, "utf8").trim().split("\n").map(Number);
  const lastSentMs = Math.max(...sends);
  // The earliest a leader whose clock runs fast by ρ could expire the lease (docs/failover.md).
  const earliestExpiryMs = lastSentMs + GUARDED_AGENT_PARAMS.leaseTtlMs / (1 + GUARDED_AGENT_PARAMS.clockRateErrorMax);
  await untilTrue(() => monotonicNowMs() >= earliestExpiryMs, "the earliest lease expiry");
  assert.equal(isAlive(pid), false, "the watchdog killed the active before its lease could expire");

  // A successor promoted at that instant: the instances' own records show no overlap.
  appendFileSync(actingLog, `start b 43 ${monotonicNowNs()}\n`);
  const report = judgeActingLog(readFileSync(actingLog, "utf8").split("\n"), BigInt(Math.round(earliestExpiryMs * 1e6)));
  assert.deepEqual(report.badLines, []);
  assert.equal(report.intervals.length, 2);
  assert.deepEqual(report.overlaps, []);
  assert.deepEqual(report.staleTokens, []);
});

function readProcState(pid: number): string | null {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

test("the observer sees this node's view after every evaluation: holder on its lease, the deadlines of the last acknowledged keep-alive, withheld or lost", (t) => {
  const views: { isHolder: boolean; fenceAtMs: number | null }[] = [];
  const guard = new ActiveGuard({
    nodeId: 1, params: PARAMS, instance: recorder(), watchdog: null, logger: silent,
    observer: (v) => views.push({ isHolder: v.isHolder, fenceAtMs: v.deadlines?.fenceAtMs ?? null }),
  });
  t.after(() => guard.close());
  const sent = monotonicNowMs();
  guard.leaseGranted(7, sent);
  guard.recordSeen({ node: 1, leaseId: 7, token: 42 });
  guard.keepAliveAcked(sent + 1);
  guard.withhold(true);
  guard.withhold(false);
  guard.recordSeen({ node: 2, leaseId: 9, token: 50 });
  guard.leaseLost();
  assert.deepEqual(views.map((v) => v.isHolder), [false, true, true, false, true, false, false]);
  assert.equal(views[1]!.fenceAtMs, fencingDeadlines(sent, PARAMS).fenceAtMs);
  assert.equal(views[2]!.fenceAtMs, fencingDeadlines(sent + 1, PARAMS).fenceAtMs);
  assert.equal(views.at(-1)!.fenceAtMs, null);
});
