// Child processes of the KV benchmark (see ../common/procs.mjs): output appended to a log file.
import { closeSync, openSync } from "node:fs";
import { startTracked } from "../common/procs.mjs";

export { childrenCpuSeconds, cpuSeconds, freePorts, kill9, killAllNow, stop, stopAll, waitFor } from "../common/procs.mjs";

/** Starts `command args` with output appended to `logFile`; returns a tracked handle. */
export function start(name, command, args, logFile) {
  const fd = openSync(logFile, "a");
  const proc = startTracked(name, command, args, fd);
  closeSync(fd);
  return proc;
}
