// Child processes of the benchmark: spawned pinned to a CPU, tracked so that every one of them is
// stopped on exit (normal, failure or signal), and measured through /proc.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";

/** Clock ticks per second for /proc/<pid>/stat times. */
const CLOCK_TICKS_PER_S = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
/** How long a process may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 3_000;
/** How long a server may take to start listening. */
const READY_TIMEOUT_MS = 15_000;

const running = new Set();

/**
 * Starts `command args` pinned to `cpu` (taskset execs it, so the pid is the command's own).
 * Output goes to `logFile` when given, else is discarded.
 */
export function startPinned(name, cpu, command, args, { logFd } = {}) {
  const child = spawn("taskset", ["-c", String(cpu), command, ...args], {
    stdio: ["ignore", logFd ?? "ignore", logFd ?? "ignore"],
  });
  const proc = { name, child, exited: false, exitCode: null };
  child.on("exit", (code, signal) => {
    proc.exited = true;
    proc.exitCode = code ?? signal;
    running.delete(proc);
  });
  running.add(proc);
  return proc;
}

/** Resolves once something accepts TCP connections on `port`; rejects if `proc` exits first. */
export async function waitForPort(proc, port) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`Cannot start ${proc.name}: it exited with ${proc.exitCode}`);
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Cannot start ${proc.name}: nothing listens on port ${port} after ${READY_TIMEOUT_MS} ms`);
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Stops one process: SIGTERM, then SIGKILL after a grace period. */
export async function stop(proc) {
  if (proc.exited) return;
  const exited = new Promise((resolve) => proc.child.once("exit", resolve));
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
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

/** CPU seconds (user + system) used so far by `pid` and all its descendants. */
export function cpuSeconds(pid) {
  let ticks = 0;
  for (const p of withDescendants(pid)) {
    try {
      // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      // The process exited between listing and reading.
    }
  }
  return ticks / CLOCK_TICKS_PER_S;
}

function withDescendants(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const children = readFileSync(`/proc/${out[i]}/task/${tid}/children`, "utf8").trim();
        if (children !== "") out.push(...children.split(" ").map(Number));
      }
    } catch {
      // Gone already.
    }
  }
  return out;
}

/** Ports that were free a moment ago (bound to 0 and released), one per requested name. */
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
