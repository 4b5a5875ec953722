// Runs an instance's health check every interval and reports each result; what the results mean
// (rise, fall, start grace) is core/health.ts's decision. http and tcp probes are the proxy's own
// (proxy/health/activeCheck.ts), so a service is judged the same way by its agent and by a proxy;
// exec runs a command in its own process group and kills the group when it overruns its timeout.
import type { ChildProcess } from "node:child_process";
import type { HealthCheckSpec } from "../config/health.js";
import { probe } from "../proxy/health/activeCheck.js";
import type { InstanceHealthCheck } from "./core/types.js";
import { signalGroup, spawnGroupLeader } from "./process-group.js";
import type { RunAs } from "./run-as.js";

export interface CheckTarget {
  /** Port for http/tcp checks; null for exec. */
  readonly port: number | null;
  /** Environment, working directory and user of exec checks: the instance's own. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly runAs: RunAs | null;
}

export interface RunningChecks {
  stop(): void;
}

export type CheckResult = { readonly ok: boolean; readonly detail: string };

/** Probes now and then every `intervalMs` after each probe ends, until stop(). */
export function startInstanceChecks(check: InstanceHealthCheck, target: CheckTarget, onResult: (r: CheckResult) => void): RunningChecks {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let cancelProbe: (() => void) | null = null;
  const run = (): void => {
    timer = null;
    const p = probeOnce(check, target);
    cancelProbe = p.cancel;
    void p.result.then((r) => {
      cancelProbe = null;
      if (stopped) return;
      onResult(r);
      timer = setTimeout(run, check.intervalMs);
    });
  };
  run();
  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      cancelProbe?.();
    },
  };
}

function probeOnce(check: InstanceHealthCheck, target: CheckTarget): { result: Promise<CheckResult>; cancel: () => void } {
  if (check.type === "exec") return probeExec(check, target);
  if (target.port === null) return { result: Promise.resolve({ ok: false, detail: "no port to check" }), cancel: () => undefined };
  const spec: HealthCheckSpec = check.type === "http"
    ? { type: "http", path: check.path, expectStatuses: check.expectStatuses === undefined ? undefined : [...check.expectStatuses], host: check.host, intervalMs: check.intervalMs, timeoutMs: check.timeoutMs, rise: check.rise, fall: check.fall }
    : { type: "tcp", intervalMs: check.intervalMs, timeoutMs: check.timeoutMs, rise: check.rise, fall: check.fall };
  return { result: probe(spec, { id: "check", host: "127.0.0.1", port: target.port, weight: 1 }), cancel: () => undefined };
}

function probeExec(check: Extract<InstanceHealthCheck, { type: "exec" }>, target: CheckTarget): { result: Promise<CheckResult>; cancel: () => void } {
  let child: ChildProcess;
  try {
    child = spawnGroupLeader({ command: check.command, args: check.args, cwd: target.cwd, env: target.env, runAs: target.runAs, output: "ignore" });
  } catch (err) {
    return { result: Promise.resolve({ ok: false, detail: `check could not start: ${(err as Error).message}` }), cancel: () => undefined };
  }
  const pid = child.pid;
  let killed = false;
  // Once only: after the group is gone its id may be reused.
  const kill = (): void => {
    if (killed || pid === undefined) return;
    killed = true;
    signalGroup(pid, "SIGKILL");
  };
  const result = new Promise<CheckResult>((resolve) => {
    let settled = false;
    const settle = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      kill();
      settle({ ok: false, detail: `check command did not finish within ${check.timeoutMs} ms` });
    }, check.timeoutMs);
    child.once("error", (err) => settle({ ok: false, detail: `check could not start: ${err.message}` }));
    child.once("exit", (code, signal) => {
      // The command is done; anything it left running in its group goes too.
      kill();
      settle(code === 0 ? { ok: true, detail: "exit 0" } : { ok: false, detail: signal !== null ? `check killed by ${signal}` : `check exited with code ${code}` });
    });
  });
  return { result, cancel: kill };
}
