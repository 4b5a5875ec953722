// Helpers of the tests that check a watchdog kills process groups (agent/watchdog.test.ts,
// failover/watchdog/fencing-watchdog.test.ts): whether a process still lives, a detached `sleep`
// standing in for an instance, and a poll with a deadline for a death or an event.
import type { TestContext } from "node:test";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { waitUntil } from "./wait.js";

/** Whether `pid` runs (a zombie, killed but not yet reaped, counts as dead). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Polls `cond` every 10 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function untilTrue(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await waitUntil(what, cond, timeoutMs, 10);
}

/** A detached `sleep` (its own group, pid = pgid) that the test kills if still alive at the end. */
export function sleeper(t: TestContext): number {
  const child = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
  child.unref();
  const pid = child.pid ?? -1;
  t.after(() => {
    if (isAlive(pid)) process.kill(-pid, "SIGKILL");
  });
  return pid;
}
