// What every benchmark does on its way out, however it ends: no process it started may outlive it.
// On exit (normal or failure) every tracked process still running is killed and `cleanup` runs (it
// removes the temporary directory); on SIGINT/SIGTERM the processes are first stopped gracefully,
// then the benchmark exits with 130.
import { killAllNow, stopAll } from "./procs.mjs";

/** Installs the exit and signal handlers; returns the synchronous clean-up, also callable directly. */
export function cleanUpOnExit(cleanup, log) {
  const cleanupNow = () => {
    killAllNow();
    cleanup();
  };
  process.on("exit", cleanupNow);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      log(`Benchmark interrupted by ${signal}: stopping every process it started`);
      stopAll().finally(() => process.exit(130));
    });
  }
  return cleanupNow;
}
