// The runtime guard: promotes when the record names this node on its lease, keeps the instance
// active while keep-alives are acknowledged, demotes at the fence point when they stop (never
// before), and lets the watchdog kill an instance whose stop hangs. Real timers, short lease.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { fencingDeadlines } from "../fencing.js";
import type { FencingParams } from "../fencing.js";
import { FencingWatchdog } from "../watchdog/fencing-watchdog.js";
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
