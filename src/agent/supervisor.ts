// The supervisor every node runs: converges the local processes to the desired instances, keeps
// them alive and reports how they are. Every decision (state, restart, backoff, health) is made by
// core/lifecycle.ts from events this shell feeds it; the shell only spawns, signals, probes and
// keeps timers, and tells listeners when an instance's status changes.
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { startInstanceChecks, type RunningChecks } from "./checks.js";
import { planConvergence, type ConvergePlan } from "./core/converge.js";
import { beginLife, failedLife, statusChanged, statusOf, stepLife, type InstanceLife, type LifeEffect, type LifeEvent, type Step } from "./core/lifecycle.js";
import { splitLines } from "./core/lines.js";
import { assignPorts, checkPort, instanceEnv, type PortRange } from "./core/ports.js";
import type { InstanceSpec, InstanceStatus } from "./core/types.js";
import { SupervisorError } from "./errors.js";
import { signalGroup, spawnGroupLeader } from "./process-group.js";
import { resolveRunAs, type RunAs } from "./run-as.js";
import { Watchdog } from "./watchdog.js";
import { openInstanceLog, type InstanceLogFile } from "./log-files.js";
import type { LogRotation } from "./core/log-rotation.js";

export interface SupervisorOptions {
  /** Instance output goes here line by line, labelled with service, instance and stream. */
  readonly logger: Logger;
  /** Where ports without a fixed number come from. */
  readonly portRange?: PortRange;
  /** Variables of the agent's own environment that instances inherit (before their spec's env). */
  readonly inheritEnv?: readonly string[];
  /** Whether a port can be bound now; the default tries to listen on it. */
  readonly portIsFree?: (port: number) => Promise<boolean>;
  /** uid/gid of a user; the default asks `id` and insists on root. */
  readonly resolveUser?: (user: string) => Promise<RunAs>;
  /** Also write instance output to DIR/SERVICE/INSTANCE.log, rotated by size (see log-files.ts). */
  readonly logDir?: string;
  readonly logRotation?: LogRotation;
  /** Kill the instances when the agent dies, even by kill -9 (see watchdog.ts); default true. */
  readonly watchdog?: boolean;
  /** Told of every health-check result (for the metrics). */
  readonly onCheck?: (service: string, instance: string, ok: boolean) => void;
}

/** Defaults: a port range below Linux's ephemeral range (32768-60999) and a minimal environment. */
export const SUPERVISOR_DEFAULTS = {
  portRange: { from: 20_000, to: 29_999 },
  inheritEnv: ["PATH", "LANG", "LC_ALL", "TZ"],
} as const;

/** Bound on ports found busy while choosing the ports of one instance. */
const MAX_BUSY_PORT_PROBES = 64;

/** What `apply` did: instance ids started, replaced (old one stopping first) and stopped. */
export interface ApplyResult {
  readonly started: readonly string[];
  readonly replaced: readonly string[];
  readonly stopped: readonly string[];
}

type StatusListener = (status: InstanceStatus) => void;

/** Everything needed to start an instance, resolved before anything is stopped for it. */
interface Prepared {
  readonly spec: InstanceSpec;
  readonly ports: Readonly<Record<string, number>>;
  readonly runAs: RunAs | null;
  /** Why it cannot start on this node; it is reported `failed` with this message. */
  readonly error: string | null;
}

interface Slot {
  life: InstanceLife;
  runAs: RunAs | null;
  /** Group id of the last spawned leader, kept past its exit until leftovers are killed. */
  groupPid: number | null;
  stopTimer: NodeJS.Timeout | null;
  restartTimer: NodeJS.Timeout | null;
  checks: RunningChecks | null;
  /** The replacement that starts once this instance has stopped. */
  next: Prepared | null;
  reported: InstanceStatus | undefined;
  onFinished: Array<() => void>;
}

/** Runs the instances placed on this node. One per node; not shared between tests. */
export class Supervisor {
  private readonly logger: Logger;
  private readonly portRange: PortRange;
  private readonly inherited: Record<string, string>;
  private readonly portIsFree: (port: number) => Promise<boolean>;
  private readonly resolveUser: (user: string) => Promise<RunAs>;
  private readonly slots = new Map<string, Slot>();
  private readonly listeners = new Set<StatusListener>();
  private portCursor: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly useWatchdog: boolean;
  private readonly logDir: string | null;
  private readonly logRotation: LogRotation | undefined;
  private watchdog: Watchdog | null = null;
  private readonly onCheck: SupervisorOptions["onCheck"];

  constructor(options: SupervisorOptions) {
    this.logger = options.logger;
    this.portRange = options.portRange ?? SUPERVISOR_DEFAULTS.portRange;
    if (this.portRange.from < 1 || this.portRange.to > 65_535 || this.portRange.from > this.portRange.to) {
      throw new RangeError(`Port range ${this.portRange.from}-${this.portRange.to} is not a range of ports: give 1 <= from <= to <= 65535`);
    }
    this.portCursor = this.portRange.from;
    this.inherited = {};
    for (const name of options.inheritEnv ?? SUPERVISOR_DEFAULTS.inheritEnv) {
      const value = process.env[name];
      if (value !== undefined) this.inherited[name] = value;
    }
    this.portIsFree = options.portIsFree ?? canListenOn;
    this.resolveUser = options.resolveUser ?? ((user) => resolveRunAs(user));
    this.useWatchdog = options.watchdog ?? true;
    this.logDir = options.logDir ?? null;
    this.logRotation = options.logRotation;
    this.onCheck = options.onCheck;
  }

  /** Calls `listener` with every status change of any instance; returns an unsubscribe function. */
  onStatus(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current status of every instance this supervisor holds (including those stopping). */
  statuses(): InstanceStatus[] {
    return [...this.slots.values()].map((s) => statusOf(s.life));
  }

  /**
   * Converges to `desired`: starts the missing, stops the removed, replaces the changed (the new
   * process starts when the old one has exited). Resolves once every action has begun; the
   * outcome of each shows in the statuses. Calls are carried out one after another.
   */
  apply(desired: readonly InstanceSpec[]): Promise<ApplyResult> {
    const run = this.queue.then(() => this.applyNow(desired));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops every instance (their stop signal, then SIGKILL after their timeout) and refuses further `apply`. */
  async stopAll(): Promise<void> {
    this.closed = true;
    await this.queue;
    const waits = [...this.slots.values()].map((slot) => new Promise<void>((resolve) => {
      slot.onFinished.push(resolve);
      slot.next = null;
      this.dispatch(slot, { kind: "stop", reason: "shutdown" });
    }));
    await Promise.all(waits);
    this.watchdog?.close();
    this.watchdog = null;
  }

  /** Process id of the watchdog process, null before the first spawn or without one (tests). */
  get watchdogPid(): number | null {
    return this.watchdog?.pid ?? null;
  }

  private async applyNow(desired: readonly InstanceSpec[]): Promise<ApplyResult> {
    if (this.closed) throw new SupervisorError("closed", "Cannot apply instances: the supervisor has been stopped (stopAll)");
    const present = new Map<string, InstanceSpec>();
    for (const [id, slot] of this.slots) {
      const spec = slot.next?.spec ?? (slot.life.intent === "stop" ? undefined : slot.life.spec);
      if (spec !== undefined) present.set(id, spec);
    }
    const result = planConvergence(present, desired);
    if (!result.ok) throw new SupervisorError("invalid_desired_set", result.message);
    const plan: ConvergePlan = result.plan;
    for (const id of plan.stop) {
      const slot = this.slots.get(id);
      if (slot === undefined) continue;
      slot.next = null;
      this.dispatch(slot, { kind: "stop", reason: "removed" });
    }
    // A "start" may find its id still stopping (removed by an earlier apply): like a replacement,
    // it waits for that process to exit, so two copies never run at once.
    for (const spec of [...plan.replace, ...plan.start]) await this.startAfterCurrent(spec);
    return { started: plan.start.map((s) => s.instanceId), replaced: plan.replace.map((s) => s.instanceId), stopped: [...plan.stop] };
  }

  /** Starts `spec` now, or once the process holding its id has stopped. */
  private async startAfterCurrent(spec: InstanceSpec): Promise<void> {
    const prepared = await this.prepare(spec, this.slots.get(spec.instanceId)?.life.ports ?? {});
    const slot = this.slots.get(spec.instanceId);
    if (slot === undefined) {
      this.launch(prepared); // new, or the old one finished stopping while this was prepared
      return;
    }
    slot.next = prepared;
    this.dispatch(slot, { kind: "stop", reason: "replaced" });
  }

  /** Resolves the user and the ports of an instance; a problem becomes its `error`, not a throw. */
  private async prepare(spec: InstanceSpec, previous: Readonly<Record<string, number>>): Promise<Prepared> {
    let runAs: RunAs | null = null;
    if (spec.user !== undefined) {
      try {
        runAs = await this.resolveUser(spec.user);
      } catch (err) {
        return { spec, ports: {}, runAs: null, error: (err as Error).message };
      }
    }
    const taken = new Map<number, string>();
    for (const [id, slot] of this.slots) {
      if (id === spec.instanceId) continue;
      for (const p of Object.values(slot.life.ports)) taken.set(p, id);
      for (const p of Object.values(slot.next?.ports ?? {})) taken.set(p, id);
    }
    const busy = new Set<number>();
    const kept = new Set(Object.values(previous));
    for (let probes = 0; probes <= MAX_BUSY_PORT_PROBES; probes++) {
      const assigned = assignPorts(spec, this.portRange, { taken, busy, cursor: this.portCursor }, previous);
      if (!assigned.ok) return { spec, ports: {}, runAs, error: assigned.message };
      const fixed = new Set(spec.ports.flatMap((p) => (p.port === undefined ? [] : [p.port])));
      // Ports this instance already holds are bound by its old process; fixed ports are the
      // operator's to keep free. Only fresh picks are tried.
      const fresh = Object.values(assigned.ports).filter((p) => !kept.has(p) && !fixed.has(p));
      const inUse: number[] = [];
      for (const p of fresh) if (!(await this.portIsFree(p))) inUse.push(p);
      if (inUse.length === 0) {
        this.portCursor = assigned.cursor;
        return { spec, ports: assigned.ports, runAs, error: null };
      }
      for (const p of inUse) busy.add(p);
    }
    return { spec, ports: {}, runAs, error: `Found ${MAX_BUSY_PORT_PROBES} ports in ${this.portRange.from}-${this.portRange.to} in use by other programs: give the agent a port range nothing else uses` };
  }

  private launch(prepared: Prepared): void {
    const { spec } = prepared;
    const step: Step = prepared.error === null
      ? beginLife(spec, prepared.ports)
      : { life: failedLife(spec, prepared.ports, prepared.error), effects: [] };
    const slot: Slot = {
      life: step.life, runAs: prepared.runAs, groupPid: null, stopTimer: null, restartTimer: null, checks: null,
      next: null, reported: undefined, onFinished: [],
    };
    this.slots.set(spec.instanceId, slot);
    this.settle(slot, step);
  }

  private dispatch(slot: Slot, event: LifeEvent): void {
    this.settle(slot, stepLife(slot.life, event, performance.now()));
  }

  /** Takes a step: records the life, reports it, then carries out its effects (which may step again). */
  private settle(slot: Slot, step: Step): void {
    slot.life = step.life;
    // A step that spawns is reported by the spawn's own outcome (pid known, or the error), one
    // status instead of two.
    if (!step.effects.some((e) => e.kind === "spawn")) this.report(slot);
    for (const effect of step.effects) this.perform(slot, effect);
  }

  private perform(slot: Slot, effect: LifeEffect): void {
    switch (effect.kind) {
      case "spawn": return this.spawn(slot);
      case "signal":
        if (slot.groupPid !== null && slot.life.pid !== null) signalGroup(slot.groupPid, effect.signal);
        return;
      case "arm_stop_timer":
        slot.stopTimer = setTimeout(() => {
          slot.stopTimer = null;
          this.dispatch(slot, { kind: "stop_timeout" });
        }, effect.afterMs);
        return;
      case "arm_restart_timer":
        slot.restartTimer = setTimeout(() => {
          slot.restartTimer = null;
          this.dispatch(slot, { kind: "restart_due" });
        }, effect.afterMs);
        return;
      case "cancel_timers":
        if (slot.stopTimer !== null) clearTimeout(slot.stopTimer);
        if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
        slot.stopTimer = slot.restartTimer = null;
        return;
      case "start_checks": return this.startChecks(slot);
      case "stop_checks":
        slot.checks?.stop();
        slot.checks = null;
        return;
      case "kill_leftovers":
        // The leader is gone; nothing it forked may outlive it (ports, files, a second copy).
        if (slot.groupPid !== null) {
          signalGroup(slot.groupPid, "SIGKILL");
          this.watchdog?.remove(slot.groupPid);
        }
        slot.groupPid = null;
        return;
      case "finished": return this.finish(slot);
    }
  }

  private spawn(slot: Slot): void {
    const spec = slot.life.spec;
    const env = instanceEnv(spec, slot.life.ports, this.inherited);
    let child: ChildProcess;
    try {
      child = spawnGroupLeader({ command: spec.run.command, args: spec.run.args, cwd: spec.cwd, env, runAs: slot.runAs, output: "pipe" });
    } catch (err) {
      this.dispatch(slot, { kind: "spawn_failed", message: (err as Error).message, wallMs: Date.now() });
      return;
    }
    const pid = child.pid;
    if (pid === undefined) {
      // Node reports a failed exec (no such command, no permission) as an 'error' event.
      child.once("error", (err) => this.dispatch(slot, { kind: "spawn_failed", message: err.message, wallMs: Date.now() }));
      return;
    }
    slot.groupPid = pid;
    if (this.useWatchdog) {
      this.watchdog ??= new Watchdog(this.logger);
      this.watchdog.add(pid);
    }
    const log = this.logger.child({ service: spec.service, instance: spec.instanceId, instancePid: pid });
    const file = this.openLogFile(spec);
    let openStreams = 2;
    const streamEnded = (): void => {
      if (--openStreams === 0) file?.close();
    };
    pipeLines(child.stdout, (line) => {
      log.info({ stream: "stdout" }, line);
      file?.write("stdout", line);
    }, streamEnded);
    pipeLines(child.stderr, (line) => {
      log.info({ stream: "stderr" }, line);
      file?.write("stderr", line);
    }, streamEnded);
    child.once("exit", (code, signal) => this.dispatch(slot, { kind: "exited", code, signal, wallMs: Date.now() }));
    this.dispatch(slot, { kind: "spawned", pid, wallMs: Date.now() });
  }

  /** The instance's log file for this run, or null (no logDir, or it cannot be opened: logged). */
  private openLogFile(spec: InstanceSpec): InstanceLogFile | null {
    if (this.logDir === null) return null;
    const where = { service: spec.service, instance: spec.instanceId };
    try {
      return openInstanceLog(this.logDir, spec.service, spec.instanceId, {
        ...(this.logRotation !== undefined ? { rotation: this.logRotation } : {}),
        onError: (err) => this.logger.error({ ...where, err }, "instance log file failed; its output goes to the agent's log only"),
      });
    } catch (err) {
      this.logger.error({ ...where, err }, "instance log file cannot be opened; its output goes to the agent's log only");
      return null;
    }
  }

  private startChecks(slot: Slot): void {
    const spec = slot.life.spec;
    if (spec.healthCheck === undefined) return;
    const target = { port: checkPort(spec, slot.life.ports), env: instanceEnv(spec, slot.life.ports, this.inherited), cwd: spec.cwd, runAs: slot.runAs };
    slot.checks = startInstanceChecks(spec.healthCheck, target, (r) => {
      this.onCheck?.(spec.service, spec.instanceId, r.ok);
      this.dispatch(slot, { kind: "check", ok: r.ok, detail: r.detail });
    });
  }

  private finish(slot: Slot): void {
    const id = slot.life.spec.instanceId;
    if (this.slots.get(id) === slot) {
      this.slots.delete(id);
      if (slot.next !== null && !this.closed) this.launch(slot.next);
    }
    for (const resolve of slot.onFinished.splice(0)) resolve();
  }

  private report(slot: Slot): void {
    const status = statusOf(slot.life);
    if (!statusChanged(slot.reported, status)) return;
    const before = slot.reported?.state;
    slot.reported = status;
    if (before !== status.state) {
      this.logger.info({ service: status.service, instance: status.instanceId, state: status.state, instancePid: status.pid, restarts: status.restarts, message: status.message || undefined }, `instance ${status.instanceId} ${status.state}`);
    }
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (err) {
        // A broken listener must not stop supervision; it is a bug, so it is logged loudly.
        this.logger.error({ err, service: status.service, instance: status.instanceId }, "status listener threw");
      }
    }
  }
}

/** Logs a stream line by line (bounded lines, see core/lines.ts). */
function pipeLines(stream: Readable | null, emit: (line: string) => void, ended: () => void): void {
  if (stream === null) {
    ended();
    return;
  }
  stream.setEncoding("utf8");
  let carry = "";
  stream.on("data", (chunk: string) => {
    const r = splitLines(carry, chunk);
    carry = r.carry;
    for (const line of r.lines) emit(line);
  });
  stream.once("close", () => {
    if (carry !== "") emit(carry);
    carry = "";
    ended();
  });
}

/** True when nothing listens on `port` (any address) right now. */
function canListenOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
