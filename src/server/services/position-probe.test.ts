// The position command: parsed stdout, failures (exit code, not a number, timeout), the environment it runs in.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { parsePosition, PositionProber, runPositionCommand, type PositionConfig } from "./position-probe.js";

const sh = (script: string, timeoutMs = 2000): PositionConfig => ({ command: "/bin/sh", args: ["-c", script], timeoutMs, intervalMs: 100 });
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

test("parsePosition takes one number and nothing else", () => {
  assert.equal(parsePosition(" 42\n"), 42);
  assert.equal(parsePosition("-3.5"), -3.5);
  assert.equal(parsePosition("1e3"), 1000);
  for (const bad of ["", "lag 3", "1 2", "NaN", "Infinity", "0x10", "12abc"]) assert.equal(parsePosition(bad), null, bad);
});

test("runPositionCommand: the number printed, else an error saying why (exit code, not a number, killed at its timeout with its group)", async () => {
  assert.deepEqual(await runPositionCommand(sh('echo "$PHALANX_ROLE $X" >&2; echo 17'), { ...env, PHALANX_ROLE: "standby" }, undefined), { position: 17 });
  assert.deepEqual(await runPositionCommand(sh("echo $X"), { ...env, X: "123" }, undefined), { position: 123 }, "runs in the environment given");
  const failed = await runPositionCommand(sh("echo 5; exit 3"), env, undefined);
  assert.ok("error" in failed && /exited with 3/.test(failed.error), JSON.stringify(failed));
  const text = await runPositionCommand(sh("echo behind"), env, undefined);
  assert.ok("error" in text && /not one number/.test(text.error), JSON.stringify(text));
  const hung = await runPositionCommand(sh("sleep 30; echo 1", 200), env, undefined);
  assert.ok("error" in hung && /killed/.test(hung.error), JSON.stringify(hung));
  const missing = await runPositionCommand({ command: "/nonexistent/pos", args: [], timeoutMs: 1000, intervalMs: 100 }, env, undefined);
  assert.ok("error" in missing, JSON.stringify(missing));
});

test("PositionProber runs each tracked instance's command repeatedly in the environment its target gives, and stops an untracked one", async (t) => {
  const seen: [string, number | null][] = [];
  const prober = new PositionProber((id, p) => seen.push([id, p]), pino({ level: "silent" }));
  t.after(() => prober.stop());
  prober.track(new Map([
    ["i-7", { service: "db", config: sh('echo "${PHALANX_INSTANCE#i-}"'), env: () => ({ ...env, PHALANX_INSTANCE: "i-7" }) }],
    ["i-8", { service: "db", config: sh("exit 1"), env: () => env }],
  ]));
  const deadline = Date.now() + 10_000;
  while (seen.filter(([id]) => id === "i-7").length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(seen.filter(([id, p]) => id === "i-7" && p === 7).length >= 2, JSON.stringify(seen));
  assert.ok(seen.some(([id, p]) => id === "i-8" && p === null), JSON.stringify(seen));
  prober.track(new Map());
  const count = seen.length;
  // Absence cannot be polled for: give the 100 ms loops several intervals to show up (a run in flight reports nothing once untracked).
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(seen.length, count, "no report after untracking");
});
