// The fencing watchdog kills an active instance whose agent stops feeding it, whatever the agent's
// state: here the agent (testdata/feeder.ts) is SIGSTOPped. Judged by the order of events (fed
// deadlines, the stop, the death), not by timing figures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { isAlive, sleeper, untilTrue } from "../../testing/process-groups.js";
import { FencingWatchdog, deadlineAfterMs, monotonicNowNs } from "./fencing-watchdog.js";

/** How far past the last fed deadline read the kill may come (a feed not yet read, scheduling on a loaded machine). */
const SLACK_MS = 1500;

test("an instance whose deadline passes unfed is killed; a disarmed one is left alone", async (t) => {
  const watchdog = new FencingWatchdog(pino({ level: "silent" }));
  t.after(() => watchdog.close());
  const doomed = sleeper(t);
  const spared = sleeper(t);
  const kills: number[] = [];
  watchdog.onKill((pgid) => kills.push(pgid));
  watchdog.arm(spared, deadlineAfterMs(100));
  watchdog.disarm(spared);
  watchdog.arm(doomed, deadlineAfterMs(100));
  await untilTrue(() => !isAlive(doomed), "the unfed instance killed");
  await untilTrue(() => kills.includes(doomed), "the kill reported");
  assert.equal(isAlive(spared), true);
  assert.deepEqual(kills, [doomed]);
  assert.throws(() => watchdog.arm(1, deadlineAfterMs(10)), /not a group id/);
});

test("a SIGSTOPped agent cannot keep its active serving: the watchdog kills it after the last fed deadline", async (t) => {
  const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
  const feeder = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./testdata/feeder.ts", import.meta.url))], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  let pgid = -1;
  let watchdogPid = -1;
  t.after(() => {
    if (feeder.exitCode === null && feeder.signalCode === null) {
      feeder.kill("SIGCONT");
      feeder.kill("SIGKILL");
    }
    if (pgid > 0 && isAlive(pgid)) process.kill(-pgid, "SIGKILL");
    if (watchdogPid > 0 && isAlive(watchdogPid)) process.kill(watchdogPid, "SIGKILL");
  });
  const fedDeadlines: bigint[] = [];
  let out = "";
  feeder.stdout.setEncoding("utf8");
  feeder.stdout.on("data", (chunk: string) => {
    out += chunk;
    let i: number;
    while ((i = out.indexOf("\n")) >= 0) {
      const ev = JSON.parse(out.slice(0, i)) as { event: string; pgid?: number; watchdogPid?: number; deadlineNs?: string };
      out = out.slice(i + 1);
      if (ev.event === "started") {
        pgid = ev.pgid ?? -1;
        watchdogPid = ev.watchdogPid ?? -1;
      } else if (ev.event === "fed") fedDeadlines.push(BigInt(ev.deadlineNs ?? "0"));
    }
  });
  // Fed: the instance outlives the first deadline it was armed with.
  await untilTrue(() => fedDeadlines.length > 0, "the first feed");
  const firstDeadline = fedDeadlines[0] as bigint;
  await untilTrue(() => monotonicNowNs() > firstDeadline && fedDeadlines.length > 3, "the first deadline to pass while fed");
  assert.equal(isAlive(pgid), true, "a fed watchdog leaves the instance alone");

  feeder.kill("SIGSTOP");
  const stoppedAt = monotonicNowNs();
  assert.equal(isAlive(pgid), true, "the instance still serves when its agent stops");
  // A feed may still be in the pipe: the last deadline fed is at most one feed interval later than
  // the last one read here, which SLACK_MS covers.
  const lastDeadline = fedDeadlines[fedDeadlines.length - 1] as bigint;
  assert.ok(lastDeadline > stoppedAt, "the last deadline read was fed before the stop and lies after it");

  await untilTrue(() => !isAlive(pgid), "the watchdog to kill the instance of the stopped agent");
  const deadAt = monotonicNowNs();
  assert.ok(deadAt > stoppedAt);
  assert.ok(deadAt <= lastDeadline + BigInt(SLACK_MS) * 1_000_000n, `killed ${(Number(deadAt - lastDeadline) / 1e6).toFixed(0)} ms after the deadline`);
  assert.equal(feeder.signalCode, null, "the agent itself is still there, stopped");
});

test("armed deadlines still fire after the agent's end of the pipe closes (a killed agent)", async (t) => {
  const watchdog = new FencingWatchdog(pino({ level: "silent" }));
  const first = sleeper(t);
  const second = sleeper(t);
  watchdog.arm(first, deadlineAfterMs(150));
  watchdog.arm(second, deadlineAfterMs(200));
  const watchdogPid = watchdog.pid ?? -1;
  t.after(() => {
    if (isAlive(watchdogPid)) process.kill(watchdogPid, "SIGKILL");
  });
  watchdog.close();
  await untilTrue(() => !isAlive(first) && !isAlive(second), "both instances killed");
  await untilTrue(() => !isAlive(watchdogPid), "the watchdog to exit once nothing is armed");
});
