// The supervisor's vocabulary: what one node is asked to run (InstanceSpec) and what it reports
// back (InstanceStatus). The field names follow the service spec (config/service.ts) so the agent
// can map a placement onto an InstanceSpec field by field; ports arrive here already named, and
// the supervisor gives each one a number.

/** Signals an instance may be stopped with; SIGKILL follows after `stop.timeoutMs`. */
export type StopSignal = "SIGTERM" | "SIGINT" | "SIGQUIT" | "SIGHUP" | "SIGUSR1" | "SIGUSR2";

/** When an instance that ended is started again. */
export type RestartPolicyKind = "always" | "on-failure" | "never";

export interface RestartPolicy {
  /** `always`: after any exit; `on-failure`: after a non-zero code, a signal or failed checks; `never`. */
  readonly policy: RestartPolicyKind;
  readonly backoffInitialMs: number;
  readonly backoffMultiplier: number;
  readonly backoffMaxMs: number;
  /** A run at least this long counts as a success: the backoff starts over. */
  readonly resetAfterMs: number;
  /** Consecutive restarts before the instance is `failed` (and left for the scheduler to replace). */
  readonly maxRestarts: number;
}

interface CheckTiming {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive passes that make an instance healthy. */
  readonly rise: number;
  /** Consecutive failures that make a healthy (or never healthy) instance unhealthy. */
  readonly fall: number;
  /** Failures within this long after a start do not count (a slow starter warming up). */
  readonly startGraceMs: number;
}

/** Checks an instance: GET a path, connect, or run a command (exit status 0 is healthy). */
export type InstanceHealthCheck =
  | (CheckTiming & { readonly type: "http"; readonly path: string; readonly expectStatuses?: readonly number[]; readonly host?: string; readonly port?: number })
  | (CheckTiming & { readonly type: "tcp"; readonly port?: number })
  | (CheckTiming & { readonly type: "exec"; readonly command: string; readonly args: readonly string[] });

/** One port of an instance; `port` fixes the number, otherwise the supervisor picks a free one. */
export interface PortRequest {
  readonly name: string;
  /** Variable carrying the number; `PORT` for the first port, `PORT_<NAME>` for the others by default. */
  readonly env?: string;
  readonly port?: number;
}

/** One instance this node should run. Two specs with equal JSON are the same desired process. */
export interface InstanceSpec {
  readonly service: string;
  /** Unique on this node; the supervisor's key. */
  readonly instanceId: string;
  readonly run: { readonly command: string; readonly args: readonly string[] };
  /** Absolute working directory; the agent's own when unset. */
  readonly cwd?: string;
  readonly env: Readonly<Record<string, string>>;
  /** Run as this user; only an agent running as root can switch. */
  readonly user?: string;
  readonly ports: readonly PortRequest[];
  readonly healthCheck?: InstanceHealthCheck;
  readonly restart: RestartPolicy;
  readonly stop: { readonly signal: StopSignal; readonly timeoutMs: number };
}

/**
 * An instance's life. `starting`: spawned, not yet healthy (or inside its start grace);
 * `running`: alive, no health check configured; `healthy`/`unhealthy`: by its checks;
 * `stopping`: asked to stop; `stopped`: ended and not restarted (removed, or a clean exit under
 * on-failure/never); `backoff`: waiting to restart; `failed`: gave up (restart policy exhausted,
 * or it cannot be started here).
 */
export type InstanceState = "starting" | "running" | "healthy" | "unhealthy" | "stopping" | "stopped" | "backoff" | "failed";

export interface ExitInfo {
  /** Exit code, null when a signal ended it or it never started. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly atMs: number;
}

export interface HealthView {
  /** Result of the last completed check; null before the first. */
  readonly lastOk: boolean | null;
  readonly lastDetail: string;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
}

/** What the supervisor reports about one instance; every change goes to `onStatus` listeners. */
export interface InstanceStatus {
  readonly service: string;
  readonly instanceId: string;
  readonly state: InstanceState;
  /** Process id of the group leader while one runs. */
  readonly pid: number | null;
  /** Port name → number, as passed in the environment. */
  readonly ports: Readonly<Record<string, number>>;
  /** Times restarted by the restart policy since the supervisor took it on. */
  readonly restarts: number;
  /** Wall-clock ms of the current (or last) start; null before the first. */
  readonly startedAtMs: number | null;
  readonly lastExit: ExitInfo | null;
  /** Null when the spec has no health check. */
  readonly health: HealthView | null;
  /** In `backoff`: the delay chosen before the next start. */
  readonly backoffMs: number | null;
  /** Why it is failed, stopped by the supervisor, or could not start; empty otherwise. */
  readonly message: string;
}
