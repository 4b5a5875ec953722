// The life of one instance as a pure state machine: the shell reports what happened (spawned,
// exited, a check result, a timer fired, a stop was asked for) and gets back the new life and the
// effects to carry out (spawn, signal the process group, arm or cancel a timer, start or stop
// checks). Nothing here reads a clock: `nowMs` (monotonic) and wall times come with each event.
import { decideHealth, initialHealth, type HealthState } from "./health.js";
import { decideRestart } from "./restart.js";
import type { ExitInfo, InstanceSpec, InstanceState, InstanceStatus, StopSignal } from "./types.js";

/** Why the supervisor stops an instance for good. */
export type StopReason = "removed" | "replaced" | "shutdown";

/** `run`: keep it going; `restart_unhealthy`: killing it for failed checks; `stop`: ending it. */
type Intent = "run" | "restart_unhealthy" | "stop";

export interface InstanceLife {
  readonly spec: InstanceSpec;
  readonly ports: Readonly<Record<string, number>>;
  readonly state: InstanceState;
  readonly intent: Intent;
  readonly stopReason: StopReason | null;
  readonly pid: number | null;
  readonly restarts: number;
  readonly consecutiveRestarts: number;
  readonly startedMonoMs: number | null;
  readonly startedWallMs: number | null;
  readonly lastExit: ExitInfo | null;
  readonly health: HealthState | null;
  readonly backoffMs: number | null;
  readonly message: string;
}

export type LifeEvent =
  | { readonly kind: "spawned"; readonly pid: number; readonly wallMs: number }
  | { readonly kind: "spawn_failed"; readonly message: string; readonly wallMs: number }
  | { readonly kind: "exited"; readonly code: number | null; readonly signal: string | null; readonly wallMs: number }
  | { readonly kind: "check"; readonly ok: boolean; readonly detail: string }
  | { readonly kind: "restart_due" }
  | { readonly kind: "stop"; readonly reason: StopReason }
  | { readonly kind: "stop_timeout" };

export type LifeEffect =
  | { readonly kind: "spawn" }
  /** Signal the whole process group. */
  | { readonly kind: "signal"; readonly signal: StopSignal | "SIGKILL" }
  | { readonly kind: "arm_stop_timer"; readonly afterMs: number }
  | { readonly kind: "arm_restart_timer"; readonly afterMs: number }
  | { readonly kind: "cancel_timers" }
  | { readonly kind: "start_checks" }
  | { readonly kind: "stop_checks" }
  /** The group leader is gone: SIGKILL whatever is left of its group. */
  | { readonly kind: "kill_leftovers" }
  /** Stopped for good after a stop request: the slot is free (a replacement may start). */
  | { readonly kind: "finished" };

export interface Step {
  readonly life: InstanceLife;
  readonly effects: readonly LifeEffect[];
}

/** A new instance about to be spawned (the effect list says so). */
export function beginLife(spec: InstanceSpec, ports: Readonly<Record<string, number>>): Step {
  const life: InstanceLife = {
    spec, ports, state: "starting", intent: "run", stopReason: null, pid: null, restarts: 0, consecutiveRestarts: 0,
    startedMonoMs: null, startedWallMs: null, lastExit: null, health: null, backoffMs: null, message: "",
  };
  return { life, effects: [{ kind: "spawn" }] };
}

/** An instance that cannot be started on this node at all (bad user, port clash): failed at once. */
export function failedLife(spec: InstanceSpec, ports: Readonly<Record<string, number>>, message: string): InstanceLife {
  return { ...beginLife(spec, ports).life, state: "failed", message };
}

/** Applies one event. */
export function stepLife(life: InstanceLife, event: LifeEvent, nowMs: number): Step {
  switch (event.kind) {
    case "spawned": return onSpawned(life, event.pid, event.wallMs, nowMs);
    case "spawn_failed": return onEnded(life, { code: null, signal: null, atMs: event.wallMs }, nowMs, `could not start: ${event.message}`);
    case "exited": return onEnded(life, { code: event.code, signal: event.signal, atMs: event.wallMs }, nowMs, "");
    case "check": return onCheck(life, event.ok, event.detail, nowMs);
    case "restart_due":
      if (life.state !== "backoff") return { life, effects: [] };
      return { life: { ...life, state: "starting", restarts: life.restarts + 1, backoffMs: null }, effects: [{ kind: "spawn" }] };
    case "stop": return onStop(life, event.reason);
    case "stop_timeout":
      if (life.pid === null) return { life, effects: [] };
      return {
        life: { ...life, message: `did not exit within ${life.spec.stop.timeoutMs} ms of ${life.spec.stop.signal}; sent SIGKILL` },
        effects: [{ kind: "signal", signal: "SIGKILL" }],
      };
  }
}

function signalToStop(life: InstanceLife): LifeEffect[] {
  return [{ kind: "stop_checks" }, { kind: "signal", signal: life.spec.stop.signal }, { kind: "arm_stop_timer", afterMs: life.spec.stop.timeoutMs }];
}

function onSpawned(life: InstanceLife, pid: number, wallMs: number, nowMs: number): Step {
  const started = { ...life, pid, startedMonoMs: nowMs, startedWallMs: wallMs, message: "" };
  if (life.intent === "stop") {
    // Asked to stop while the spawn was under way: end it at once.
    return { life: { ...started, state: "stopping" }, effects: signalToStop(started) };
  }
  if (life.spec.healthCheck === undefined) return { life: { ...started, state: "running", health: null }, effects: [] };
  return { life: { ...started, state: "starting", health: initialHealth(nowMs) }, effects: [{ kind: "start_checks" }] };
}

function onEnded(life: InstanceLife, exit: ExitInfo, nowMs: number, startError: string): Step {
  const ended = { ...life, pid: null, lastExit: exit };
  const cleanup: LifeEffect[] = [{ kind: "stop_checks" }, { kind: "cancel_timers" }];
  if (life.pid !== null) cleanup.push({ kind: "kill_leftovers" });
  if (life.intent === "stop") {
    return { life: { ...ended, state: "stopped", message: startError || `stopped (${life.stopReason ?? "removed"})` }, effects: [...cleanup, { kind: "finished" }] };
  }
  const clean = exit.code === 0 && exit.signal === null && life.intent === "run";
  const uptimeMs = life.startedMonoMs === null || startError !== "" ? 0 : nowMs - life.startedMonoMs;
  const decision = decideRestart(life.spec.restart, { clean, uptimeMs, consecutiveRestarts: life.consecutiveRestarts });
  const why = startError || (life.intent === "restart_unhealthy" ? life.message : describeExit(exit));
  const base = { ...ended, intent: "run" as const };
  switch (decision.kind) {
    case "restart":
      return {
        life: { ...base, state: "backoff", backoffMs: decision.delayMs, consecutiveRestarts: decision.consecutiveRestarts, message: why },
        effects: [...cleanup, { kind: "arm_restart_timer", afterMs: decision.delayMs }],
      };
    case "stay_stopped": return { life: { ...base, state: "stopped", message: `${why}; ${decision.reason}` }, effects: cleanup };
    case "give_up": return { life: { ...base, state: "failed", message: `${why}; ${decision.reason}` }, effects: cleanup };
  }
}

function onCheck(life: InstanceLife, ok: boolean, detail: string, nowMs: number): Step {
  const check = life.spec.healthCheck;
  if (life.health === null || check === undefined || life.pid === null || life.intent !== "run") return { life, effects: [] };
  const { state: health, change } = decideHealth(life.health, { ok, detail }, nowMs, check);
  const next = { ...life, health };
  if (change === "became_healthy") return { life: { ...next, state: "healthy", message: "" }, effects: [] };
  if (change !== "became_unhealthy") return { life: next, effects: [] };
  const message = `failed ${check.fall} health checks in a row: ${detail}`;
  if (life.spec.restart.policy === "never") return { life: { ...next, state: "unhealthy", message }, effects: [] };
  // Stays `unhealthy` (out of the balancer) until it has exited; then the restart policy decides.
  return { life: { ...next, state: "unhealthy", intent: "restart_unhealthy", message }, effects: signalToStop(next) };
}

function onStop(life: InstanceLife, reason: StopReason): Step {
  const stopping = { ...life, intent: "stop" as const, stopReason: reason };
  if (life.state === "stopped" || life.state === "failed" || life.state === "backoff") {
    const message = life.state === "failed" ? life.message : `stopped (${reason})`;
    return { life: { ...stopping, state: life.state === "failed" ? "failed" : "stopped", backoffMs: null, message }, effects: [{ kind: "cancel_timers" }, { kind: "finished" }] };
  }
  // Already signalled (restart_unhealthy), already stopping, or the spawn is still under way:
  // the exit (or the spawn result) will finish it.
  if (life.intent !== "run" || life.pid === null) return { life: { ...stopping, state: "stopping" }, effects: [] };
  return { life: { ...stopping, state: "stopping" }, effects: signalToStop(life) };
}

/** "exited with code 1", "killed by SIGKILL". */
export function describeExit(exit: ExitInfo): string {
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? "unknown"}`;
}

/** What listeners see. */
export function statusOf(life: InstanceLife): InstanceStatus {
  return {
    service: life.spec.service,
    instanceId: life.spec.instanceId,
    state: life.state,
    pid: life.pid,
    ports: life.ports,
    restarts: life.restarts,
    startedAtMs: life.startedWallMs,
    lastExit: life.lastExit,
    health: life.health === null ? null : life.health.view,
    backoffMs: life.backoffMs,
    message: life.message,
  };
}

/**
 * Whether a status is worth reporting: anything but the health counters moving within a phase
 * (a check every interval would otherwise write to the store every interval).
 */
export function statusChanged(prev: InstanceStatus | undefined, next: InstanceStatus): boolean {
  if (prev === undefined) return true;
  const strip = (s: InstanceStatus): unknown => ({ ...s, health: s.health === null });
  return JSON.stringify(strip(prev)) !== JSON.stringify(strip(next));
}
