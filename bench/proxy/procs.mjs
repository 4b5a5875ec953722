// Child processes of the proxy benchmark (see ../common/procs.mjs): spawned pinned to a CPU.
import { startTracked } from "../common/procs.mjs";

export { cpuSeconds, freePorts, killAllNow, stop, stopAll, waitForPort } from "../common/procs.mjs";

/**
 * Starts `command args` pinned to `cpu` (taskset execs it, so the pid is the command's own).
 * Output goes to `logFd` when given, else is discarded.
 */
export function startPinned(name, cpu, command, args, { logFd } = {}) {
  return startTracked(name, "taskset", ["-c", String(cpu), command, ...args], logFd);
}
