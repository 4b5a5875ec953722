// Service specs: what `phalanx apply -f FILE` reads. A file holds one service (a mapping with
// `name`) or several under `services:` (a list). Every default is in SERVICE_DEFAULTS (and the
// check defaults in health.ts / service-health.ts); src/scheduler/README.md says what the scheduler
// does with each field. Cross-field rules live in checkService so that every problem is reported
// with its own field path, and so that the loader (service-file.ts) and the store can share them.
import { z } from "zod";
import { hostPortSchema } from "./address.js";
import { frontendSchema, poolSettingsSchema } from "./proxy.js";
import { serviceHealthCheckSchema } from "./service-health.js";
import { vipSchema } from "./vip.js";

/** Every default of a service spec, in one place. */
export const SERVICE_DEFAULTS = {
  replicas: 1,
  mode: "active-active",
  /** Only in mode active-standby. */
  standbys: 1,
  standby: "warm",
  restart: { backoffInitialMs: 500, backoffMultiplier: 2, backoffMaxMs: 30_000, resetAfterMs: 60_000, maxRestarts: 5 },
  placement: { labels: {}, maxPerNode: 1 },
  stop: { signal: "SIGTERM", timeoutMs: 10_000 },
  update: { maxSurge: 1, maxUnavailable: 0, healthyDeadlineMs: 120_000 },
  /** A promote/demote hook is killed (its process group) after this long; the failover goes on. */
  hookTimeoutMs: 5_000,
  /** The position command (how caught-up a standby is) is killed after this long and counts as failed. */
  positionTimeoutMs: 1_000,
  /** The agent runs the position command this often per instance. */
  positionIntervalMs: 1_000,
  /** The first port's variable; the others get `PORT_<NAME>` (name upper-cased, '-' → '_'). */
  firstPortEnv: "PORT",
} as const;

/** Bounds that keep one spec small enough to store, schedule and print. */
export const SERVICE_LIMITS = { replicas: 1000, envVars: 500, ports: 32, args: 1024, labels: 64, standbys: 16 } as const;

/** Signals an instance may be asked to stop with (SIGKILL follows after `stop.timeoutMs`). */
export const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const;

const serviceName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
  message: "Name must be 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit",
});
const portName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { message: "Port name must be 1-32 lower-case letters, digits or '-', starting with a letter" });
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { message: "Variable name must be letters, digits or '_', not starting with a digit" });
const labelKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/, { message: "Label must be 1-63 letters, digits, '_', '.', '/' or '-'" });
// YAML reads `DEBUG: 1` or `on: true` as a number or boolean: an environment value is text, so
// write it as the operator sees it rather than refusing it.
const scalarText = z.preprocess((v) => (typeof v === "number" || typeof v === "boolean" ? String(v) : v), z.string().max(65_536));
const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const portSchema = z.object({
  name: portName,
  /** Environment variable that carries the port number; see SERVICE_DEFAULTS.firstPortEnv. */
  env: envName.optional(),
  /** A fixed port on every node; left out, the agent gives each instance a free port. */
  port: z.number().int().min(1).max(65535).optional(),
}).strict();

const restartSchema = z.object({
  backoffInitialMs: ms(1, 3_600_000).default(SERVICE_DEFAULTS.restart.backoffInitialMs),
  backoffMultiplier: z.number().min(1).max(10).default(SERVICE_DEFAULTS.restart.backoffMultiplier),
  backoffMaxMs: ms(1, 86_400_000).default(SERVICE_DEFAULTS.restart.backoffMaxMs),
  /** A run this long counts as a success: the backoff and the restart count start over. */
  resetAfterMs: ms(1, 86_400_000).default(SERVICE_DEFAULTS.restart.resetAfterMs),
  /** Consecutive restarts on one node before the instance is `failed` and replaced on another. */
  maxRestarts: z.number().int().min(0).max(1000).default(SERVICE_DEFAULTS.restart.maxRestarts),
}).strict();

const placementSchema = z.object({
  /** A node must carry every one of these labels with these values. */
  labels: z.record(labelKey, scalarText).default({}),
  /** Also spread over the values of this node label (for example a zone), not only over nodes. */
  spreadBy: labelKey.optional(),
  /** Most instances of this service on one node; more than 1 must be asked for. */
  maxPerNode: z.number().int().min(1).max(SERVICE_LIMITS.replicas).default(SERVICE_DEFAULTS.placement.maxPerNode),
}).strict();

const stopSchema = z.object({
  signal: z.enum(STOP_SIGNALS).default(SERVICE_DEFAULTS.stop.signal),
  /** After this long the agent sends SIGKILL to the instance's process group. */
  timeoutMs: ms(0, 3_600_000).default(SERVICE_DEFAULTS.stop.timeoutMs),
}).strict();

const updateSchema = z.object({
  /** Instances above `replicas` a roll-out or a drain may start at once. */
  maxSurge: z.number().int().min(0).max(SERVICE_LIMITS.replicas).default(SERVICE_DEFAULTS.update.maxSurge),
  /** Healthy instances below `replicas` a roll-out may accept (drains always accept 0). */
  maxUnavailable: z.number().int().min(0).max(SERVICE_LIMITS.replicas).default(SERVICE_DEFAULTS.update.maxUnavailable),
  /** A new instance not healthy this long after its start fails the roll-out, which then halts. */
  healthyDeadlineMs: ms(1000, 86_400_000).default(SERVICE_DEFAULTS.update.healthyDeadlineMs),
}).strict();

/** A promote or demote hook of an active-standby service: a command run on the role change, killed at its timeout. */
const hookSchema = z.object({
  command: z.string().min(1, { message: "Hook command must not be empty" }),
  args: z.array(z.string()).max(SERVICE_LIMITS.args).default([]),
  timeoutMs: ms(1, 600_000).default(SERVICE_DEFAULTS.hookTimeoutMs),
}).strict();

const hooksSchema = z.object({
  /** Runs when this instance becomes the active (PHALANX_ROLE=active, PHALANX_FENCING_TOKEN in its environment). */
  promote: hookSchema.optional(),
  /** Runs when this instance stops being the active, before it is stopped (within the fencing budget when the lease is at risk). */
  demote: hookSchema.optional(),
}).strict();

/**
 * How caught-up an active-standby instance is: a command the agent runs every intervalMs in the
 * instance's environment; its stdout is one number, LARGER = MORE CAUGHT-UP (a replication
 * position, an applied offset — report lag as its negative). The leader promotes the healthy
 * standby with the largest; a failing command ranks its standby last (docs/failover.md).
 */
const positionSchema = z.object({
  command: z.string().min(1, { message: "Position command must not be empty" }),
  args: z.array(z.string()).max(SERVICE_LIMITS.args).default([]),
  timeoutMs: ms(1, 60_000).default(SERVICE_DEFAULTS.positionTimeoutMs),
  intervalMs: ms(100, 3_600_000).default(SERVICE_DEFAULTS.positionIntervalMs),
}).strict();

/** Flap damping of an active-standby service (src/failover/flap-damping.ts; defaults DEFAULT_FLAP_PARAMS there). */
const flapDampingSchema = z.object({
  /** Failovers are remembered this long. */
  windowMs: ms(1000, 86_400_000).default(600_000),
  /** Failovers within the window that are free of any pause. */
  threshold: z.number().int().min(0).max(100_000).default(3),
  /** Pause before the first failover beyond the threshold; doubles with each further one. */
  backoffBaseMs: ms(0, 86_400_000).default(10_000),
  backoffMaxMs: ms(0, 86_400_000).default(300_000),
}).strict();

// The load-balancer side reuses the proxy's own field schemas, so `expose` accepts exactly what a
// frontend and a pool accept (and the store's proxy config can be derived from it; see expose.ts).
const frontendFields = frontendSchema.pick({ protocol: true, tls: true, timeouts: true, maxConnections: true, maxHeaderBytes: true }).shape;
const poolFields = poolSettingsSchema.pick({ outlier: true, retry: true }).shape;
const exposeSchema = z.object({
  listen: hostPortSchema({ allowPortZero: false }),
  ...frontendFields,
  /** Which of the service's ports the balancer sends to; the first when left out. */
  port: portName.optional(),
  /** Left out: round-robin, or consistent-hash when `sticky` is set. */
  algorithm: poolSettingsSchema.shape.algorithm.removeDefault().optional(),
  /** Sticky sessions: what to hash on (needs algorithm consistent-hash, the default with sticky). */
  sticky: poolSettingsSchema.shape.hashOn,
  ...poolFields,
}).strict();

/** Schema of one service, before cross-field checks. */
export const serviceObjectSchema = z.object({
  name: serviceName,
  run: z.object({
    /** Program to start: an absolute path or a name looked up on the node's PATH. */
    command: z.string().min(1, { message: "Command must not be empty" }),
    args: z.array(z.string()).max(SERVICE_LIMITS.args).default([]),
  }).strict(),
  cwd: z.string().startsWith("/", { message: "Working directory must be an absolute path" }).optional(),
  env: z.record(envName, scalarText).default({}),
  /** Run as this user (the agent must be root to switch); the agent's own user when left out. */
  user: z.string().min(1).max(64).optional(),
  replicas: z.number().int().min(0).max(SERVICE_LIMITS.replicas).optional(),
  mode: z.enum(["active-active", "active-standby"]).default(SERVICE_DEFAULTS.mode),
  standbys: z.number().int().min(1).max(SERVICE_LIMITS.standbys).optional(),
  standby: z.enum(["warm", "cold"]).optional(),
  hooks: hooksSchema.optional(),
  flapDamping: flapDampingSchema.optional(),
  position: positionSchema.optional(),
  ports: z.array(portSchema).max(SERVICE_LIMITS.ports).default([]),
  healthCheck: serviceHealthCheckSchema.optional(),
  restart: restartSchema.default({}),
  placement: placementSchema.default({}),
  stop: stopSchema.default({}),
  update: updateSchema.default({}),
  expose: exposeSchema.optional(),
  /** Active-standby only: a virtual IP on the active's node (src/vip/, docs/service-spec.md). */
  vip: vipSchema.optional(),
}).strict();

type RawService = z.output<typeof serviceObjectSchema>;
/** Issue sink: a field path, what is wrong, what to do. */
export type AddIssue = (path: (string | number)[], message: string, hint: string) => void;

/** Cross-field rules of one service; `at` is the service's own path in the file. */
export function checkService(s: RawService, at: (string | number)[], add: AddIssue): void {
  checkMode(s, at, add);
  checkPorts(s, at, add);
  checkHealthPort(s, at, add);
  checkExpose(s, at, add);
  if (s.restart.backoffInitialMs > s.restart.backoffMaxMs) {
    add([...at, "restart", "backoffInitialMs"], `Initial backoff ${s.restart.backoffInitialMs} ms is longer than the cap ${s.restart.backoffMaxMs} ms`, "make backoffInitialMs at most backoffMaxMs");
  }
  if (s.update.maxSurge === 0 && s.update.maxUnavailable === 0) {
    add([...at, "update"], "A roll-out with maxSurge 0 and maxUnavailable 0 can never replace an instance", "set maxSurge or maxUnavailable to at least 1");
  }
  if (s.placement.spreadBy !== undefined && s.placement.labels[s.placement.spreadBy] !== undefined) {
    add([...at, "placement", "spreadBy"], `Spreading by "${s.placement.spreadBy}" has no effect: placement.labels pins it to one value`, "remove spreadBy, or remove that label");
  }
}

function checkMode(s: RawService, at: (string | number)[], add: AddIssue): void {
  if (s.mode === "active-active") {
    if (s.standbys !== undefined) add([...at, "standbys"], "standbys applies to mode active-standby only", "set mode: active-standby, or remove standbys");
    if (s.standby !== undefined) add([...at, "standby"], "standby applies to mode active-standby only", "set mode: active-standby, or remove standby");
    if (s.flapDamping !== undefined) add([...at, "flapDamping"], "flapDamping applies to mode active-standby only", "set mode: active-standby, or remove flapDamping");
    if (s.hooks !== undefined) add([...at, "hooks"], "hooks (promote/demote) apply to mode active-standby only", "set mode: active-standby, or remove hooks");
    if (s.position !== undefined) add([...at, "position"], "position (how caught-up a standby is) applies to mode active-standby only", "set mode: active-standby, or remove position");
    if (s.vip !== undefined) add([...at, "vip"], "vip applies to mode active-standby only: an active-active service has no single holder for the address", "set mode: active-standby, or remove vip");
    return;
  }
  if (s.position !== undefined && s.position.timeoutMs > s.position.intervalMs) {
    add([...at, "position", "timeoutMs"], `Position timeout ${s.position.timeoutMs} ms is longer than its interval ${s.position.intervalMs} ms`, "make timeoutMs at most intervalMs");
  }
  if (s.replicas !== undefined && s.replicas !== 1) {
    add([...at, "replicas"], `An active-standby service has exactly one active instance, not ${s.replicas}`, "remove replicas and set standbys: N for the copies that wait");
  }
}

function checkPorts(s: RawService, at: (string | number)[], add: AddIssue): void {
  const names = new Set<string>();
  const vars = new Map<string, string>();
  s.ports.forEach((p, i) => {
    if (names.has(p.name)) add([...at, "ports", i, "name"], `Duplicate port name "${p.name}"`, "give every port its own name");
    names.add(p.name);
    const variable = portEnvName(p, i);
    const other = vars.get(variable);
    if (other !== undefined) add([...at, "ports", i, "env"], `Variable ${variable} already carries port "${other}"`, "set env: to another name");
    vars.set(variable, p.name);
    if (s.env[variable] !== undefined) add([...at, "env", variable], `${variable} is set by Phalanx to port "${p.name}"`, `remove it from env, or give the port another env: name`);
    if (p.port !== undefined && s.placement.maxPerNode > 1) {
      add([...at, "ports", i, "port"], `Fixed port ${p.port} clashes when ${s.placement.maxPerNode} instances share a node (placement.maxPerNode)`, "remove port: to let each instance get its own, or set maxPerNode: 1");
    }
  });
}

function checkHealthPort(s: RawService, at: (string | number)[], add: AddIssue): void {
  const check = s.healthCheck;
  if (check === undefined || check.type === "exec" || check.port !== undefined || s.ports.length > 0) return;
  add([...at, "healthCheck", "type"], `A ${check.type} check needs a port to check, and this service has no ports`, "add ports: [{ name: http }], or set healthCheck.port");
}

function checkExpose(s: RawService, at: (string | number)[], add: AddIssue): void {
  const e = s.expose;
  if (e === undefined) return;
  const here = [...at, "expose"];
  if (s.ports.length === 0) add([...here, "listen"], "An exposed service needs a port for the balancer to send to", "add ports: [{ name: http }] to the service");
  else if (e.port !== undefined && !s.ports.some((p) => p.name === e.port)) {
    add([...here, "port"], `No port named "${e.port}"`, `use one of: ${s.ports.map((p) => p.name).join(", ")}`);
  }
  if (e.sticky !== undefined && e.algorithm !== undefined && e.algorithm !== "consistent-hash") {
    add([...here, "algorithm"], `Sticky sessions need algorithm consistent-hash, not ${e.algorithm}`, "remove algorithm (sticky implies consistent-hash), or remove sticky");
  }
  if (e.protocol === "https" && e.tls === undefined) add([...here, "protocol"], "An https frontend needs tls", "add tls: { certFile: ..., keyFile: ... }");
  if (e.protocol !== "https" && e.tls !== undefined) add([...here, "tls"], `TLS is set on an ${e.protocol} frontend`, "use protocol: https, or remove tls");
  if (e.outlier.baseEjectionMs > e.outlier.maxEjectionMs) add([...here, "outlier", "baseEjectionMs"], "Base ejection time is longer than the maximum", "make baseEjectionMs at most maxEjectionMs");
}

/** The environment variable that carries port `index` of a service. */
export function portEnvName(port: { name: string; env?: string | undefined }, index: number): string {
  if (port.env !== undefined) return port.env;
  return index === 0 ? SERVICE_DEFAULTS.firstPortEnv : `PORT_${port.name.toUpperCase().replace(/-/g, "_")}`;
}

/** A validated service with every default filled in. */
export interface ServiceSpec extends Omit<RawService, "replicas" | "standbys" | "standby" | "ports" | "expose"> {
  /** Active instances wanted (1 in active-standby mode). */
  readonly replicas: number;
  /** 0 in active-active mode. */
  readonly standbys: number;
  readonly standby: "warm" | "cold";
  readonly ports: readonly { readonly name: string; readonly env: string; readonly port: number | null }[];
  readonly expose: ExposeSpec | null;
}

/** The load-balancer frontend of a service, with its balancing choices resolved. */
export interface ExposeSpec extends Omit<NonNullable<RawService["expose"]>, "port" | "algorithm"> {
  /** Name of the service port the balancer sends to. */
  readonly port: string;
  readonly algorithm: z.output<typeof poolSettingsSchema>["algorithm"];
}

/** Fills in the defaults that depend on other fields (replicas by mode, port variables, algorithm). */
export function toServiceSpec(s: RawService): ServiceSpec {
  const standbyMode = s.mode === "active-standby";
  const ports = s.ports.map((p, i) => ({ name: p.name, env: portEnvName(p, i), port: p.port ?? null }));
  const e = s.expose;
  const expose: ExposeSpec | null = e === undefined ? null : {
    ...e,
    port: e.port ?? ports[0]?.name ?? "",
    algorithm: e.algorithm ?? (e.sticky !== undefined ? "consistent-hash" : "round-robin"),
  };
  return {
    ...s,
    replicas: standbyMode ? 1 : s.replicas ?? SERVICE_DEFAULTS.replicas,
    standbys: standbyMode ? s.standbys ?? SERVICE_DEFAULTS.standbys : 0,
    standby: s.standby ?? SERVICE_DEFAULTS.standby,
    ports,
    expose,
  };
}
