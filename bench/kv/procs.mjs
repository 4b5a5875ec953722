// Child processes of the KV benchmark: tracked so that every one is stopped on exit (normal, failure
// or signal), and measured through /proc.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Clock ticks per second for /proc/<pid>/stat times. */
const CLOCK_TICKS_PER_S = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
/** How long a process may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 3_000;

const running = new Set();

/** Starts `command args` with output appended to `logFile`; returns a tracked handle. */
export function start(name, command, args, logFile) {
  const fd = openSync(logFile, "a");
  const child = spawn(command, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const proc = { name, child, exited: false, exitCode: null };
  proc.exitedPromise = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      proc.exited = true;
      proc.exitCode = code ?? signal;
      running.delete(proc);
      resolve();
    }),
  );
  running.add(proc);
  return proc;
}

/** kill -9 and wait until the process is gone. */
export async function kill9(proc) {
  if (proc.exited) return;
  proc.child.kill("SIGKILL");
  await proc.exitedPromise;
}

/** Stops one process: SIGTERM, then SIGKILL after a grace period. */
export async function stop(proc) {
  if (proc.exited) return;
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), STOP_GRACE_MS);
  await proc.exitedPromise;
  clearTimeout(timer);
}

/** Stops every process still running, in parallel. */
export async function stopAll() {
  await Promise.all([...running].map((proc) => stop(proc)));
}

/** Last resort from a synchronous exit handler: SIGKILL whatever is left. */
export function killAllNow() {
  for (const proc of running) if (!proc.exited) proc.child.kill("SIGKILL");
}

/** CPU seconds (user + system) used so far by `pid`. */
export function cpuSeconds(pid) {
  try {
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S; // utime, stime
  } catch {
    return 0;
  }
}

/** CPU seconds (cutime + cstime) of `pid`'s children that have exited and been reaped. */
export function childrenCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_S; // cutime, cstime
  } catch {
    return 0;
  }
}

/** `count` ports that were free a moment ago (bound to 0 and released). */
export async function freePorts(count) {
  const servers = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Polls `probe()` every 50 ms until it resolves truthy, or throws after `deadlineMs`. */
export async function waitFor(what, probe, deadlineMs) {
  const start = Date.now();
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() - start > deadlineMs) throw new Error(`Cannot ${what}: not done after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
