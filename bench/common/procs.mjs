// Child processes of the benchmarks: tracked so that every one is stopped on exit (normal, failure
// or signal), and measured through /proc. Shared by bench/kv and bench/proxy.
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

/** Spawns `command args` with stdout and stderr to `outFd` (or discarded); returns a tracked handle. */
export function startTracked(name, command, args, outFd) {
  const out = outFd ?? "ignore";
  const child = spawn(command, args, { stdio: ["ignore", out, out] });
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

/** Fields after the command name of /proc/<pid>/stat (the name may hold spaces), or null. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null; // The process exited between listing and reading.
  }
}

/** CPU seconds (user + system) used so far by `pid` and all its descendants. */
export function cpuSeconds(pid) {
  let ticks = 0;
  for (const p of withDescendants(pid)) {
    const fields = statFields(p);
    if (fields !== null) ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return ticks / CLOCK_TICKS_PER_S;
}

/** CPU seconds (cutime + cstime) of `pid`'s children that have exited and been reaped. */
export function childrenCpuSeconds(pid) {
  const fields = statFields(pid);
  return fields === null ? 0 : (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_S;
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
