// How caught-up each active-standby instance on this node is (issue 11, Deliver 2): the service's
// `position` command runs every intervalMs per instance, in the instance's environment (its spec's
// env, PHALANX_ROLE, PHALANX_SERVICE, PHALANX_INSTANCE, its PORT variables), in its own process group, killed at
// its timeout. Its stdout is one number, larger = more caught-up (docs/failover.md). The node agent
// puts the value into the instance's report (`position`, null when the command failed), and the
// leader's controller promotes the most caught-up healthy standby (src/failover/promotion.ts).
import { spawn } from "node:child_process";
import type { Logger } from "pino";
import type { ServiceSpec } from "../../config/service.js";

export type PositionConfig = NonNullable<ServiceSpec["position"]>;

/** Longest stdout read from a position command: a number needs far less. */
export const POSITION_STDOUT_MAX = 4096;

/** One number (integer or decimal, optional sign, surrounding whitespace allowed), else null. */
export function parsePosition(stdout: string): number | null {
  const text = stdout.trim();
  if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** Runs the command once; resolves the position, or an error text (non-zero exit, timeout, not a number). Never rejects. */
export function runPositionCommand(c: PositionConfig, env: Readonly<Record<string, string>>, cwd: string | undefined): Promise<{ position: number } | { error: string }> {
  return new Promise((resolve) => {
    let out = "";
    let settled = false;
    const done = (r: { position: number } | { error: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(c.command, c.args, { detached: true, stdio: ["ignore", "pipe", "ignore"], env: { ...env }, ...(cwd !== undefined ? { cwd } : {}) });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch { /* already gone */ }
    };
    const timer = setTimeout(() => {
      killGroup();
      done({ error: `still running after ${c.timeoutMs} ms: killed` });
    }, c.timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      if (out.length < POSITION_STDOUT_MAX) out += d;
    });
    child.on("error", (err) => done({ error: `could not run ${c.command}: ${err.message}` }));
    child.on("close", (code, signal) => {
      if (code !== 0) return done({ error: `exited with ${code ?? signal}` });
      const p = parsePosition(out);
      done(p === null ? { error: `printed ${JSON.stringify(out.slice(0, 80))}, not one number` } : { position: p });
    });
  });
}

/** What to probe for one instance. */
export interface PositionTarget {
  readonly service: string;
  readonly config: PositionConfig;
  /** Read at each run (the instance's ports are known once it started). */
  readonly env: () => Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** Probes every tracked instance on its own timer; `onPosition(id, value)` with null when the command failed. */
export class PositionProber {
  private readonly loops = new Map<string, { target: PositionTarget; timer: NodeJS.Timeout | null; stopped: boolean }>();

  constructor(private readonly onPosition: (instanceId: string, position: number | null) => void, private readonly logger: Logger) {}

  /** The instances to probe now: new ones start at once, gone ones stop, changed ones take the new target at their next run. */
  track(targets: ReadonlyMap<string, PositionTarget>): void {
    for (const [id, loop] of this.loops) {
      if (targets.has(id)) continue;
      loop.stopped = true;
      if (loop.timer !== null) clearTimeout(loop.timer);
      this.loops.delete(id);
    }
    for (const [id, target] of targets) {
      const loop = this.loops.get(id);
      if (loop !== undefined) {
        loop.target = target;
        continue;
      }
      const fresh = { target, timer: null as NodeJS.Timeout | null, stopped: false };
      this.loops.set(id, fresh);
      void this.run(id, fresh);
    }
  }

  stop(): void {
    this.track(new Map());
  }

  private async run(id: string, loop: { target: PositionTarget; timer: NodeJS.Timeout | null; stopped: boolean }): Promise<void> {
    const t = loop.target;
    const r = await runPositionCommand(t.config, t.env(), t.cwd);
    if (loop.stopped) return;
    if ("error" in r) this.logger.debug({ service: t.service, instance: id, error: r.error }, "position command failed: this standby ranks last for promotion");
    this.onPosition(id, "error" in r ? null : r.position);
    loop.timer = setTimeout(() => void this.run(id, loop), t.config.intervalMs);
    loop.timer.unref();
  }
}
