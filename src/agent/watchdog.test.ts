// Instances die with their agent: the watchdog kills the groups it lists when its pipe from the
// agent closes — on close(), and when the agent is killed with kill -9.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { pino } from "pino";
import { isAlive, sleeper, untilTrue } from "../testing/process-groups.js";
import { Watchdog } from "./watchdog.js";

test("the watchdog kills the groups still listed when its pipe closes, and only those", async (t) => {
  const watchdog = new Watchdog(pino({ level: "silent" }));
  const listed = sleeper(t);
  const forgotten = sleeper(t);
  watchdog.add(listed);
  watchdog.add(forgotten);
  watchdog.remove(forgotten);
  const watchdogPid = watchdog.pid ?? -1;
  assert.ok(isAlive(watchdogPid));
  watchdog.close();
  await untilTrue(() => !isAlive(listed), "the listed group killed");
  await untilTrue(() => !isAlive(watchdogPid), "the watchdog exited");
  assert.equal(isAlive(forgotten), true, "a removed group is left alone");
});

test("an agent killed with kill -9 leaves no instance running", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "phalanx-watchdog-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const supervisorUrl = new URL("./supervisor.ts", import.meta.url).href;
  const pinoUrl = pathToFileURL(createRequire(import.meta.url).resolve("pino")).href; // the temp dir has no node_modules
  writeFileSync(join(dir, "app.js"), "setInterval(() => {}, 1000);");
  // The agent: one supervisor, one instance; prints the instance's and the watchdog's pids.
  writeFileSync(join(dir, "agent.mts"), `
    import { pino } from ${JSON.stringify(pinoUrl)};
    import { Supervisor } from ${JSON.stringify(supervisorUrl)};
    const sup = new Supervisor({ logger: pino({ level: "silent" }) });
    sup.onStatus((s) => { if (s.state === "running") console.log(JSON.stringify({ pid: s.pid, watchdogPid: sup.watchdogPid })); });
    await sup.apply([{ service: "app", instanceId: "app-1", run: { command: process.execPath, args: [${JSON.stringify(join(dir, "app.js"))}] },
      env: {}, ports: [], restart: { policy: "always", backoffInitialMs: 100, backoffMultiplier: 2, backoffMaxMs: 1000, resetAfterMs: 10000, maxRestarts: 3 },
      stop: { signal: "SIGTERM", timeoutMs: 1000 } }]);
  `);
  const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
  const agent = spawn(process.execPath, ["--import", "tsx", join(dir, "agent.mts")], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  let reported: { pid: number; watchdogPid: number } | null = null;
  t.after(() => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill("SIGKILL");
    if (reported !== null && isAlive(reported.pid)) process.kill(-reported.pid, "SIGKILL");
  });
  reported = await new Promise<{ pid: number; watchdogPid: number }>((resolve, reject) => {
    let out = "";
    agent.stdout.setEncoding("utf8");
    agent.stdout.on("data", (chunk: string) => {
      out += chunk;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) resolve(JSON.parse(line) as { pid: number; watchdogPid: number });
    });
    agent.once("exit", (code) => reject(new Error(`agent exited with ${code} before its instance ran`)));
  });
  assert.ok(isAlive(reported.pid) && isAlive(reported.watchdogPid), "instance and watchdog run");
  agent.kill("SIGKILL");
  const { pid, watchdogPid } = reported;
  await untilTrue(() => !isAlive(pid), "the instance to die with its agent");
  await untilTrue(() => !isAlive(watchdogPid), "the watchdog to exit");
});
