// The proxy's config file format (`phalanx proxy --config FILE`) and its normalised form. The same
// frontend and pool shapes are what the store holds under /phalanx/proxy/ (see proxy/runtime).
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import type { BackendEndpoint, FrontendSpec, HashOn, ListenAddress } from "../proxy/types.js";
import { hostPortSchema } from "./address.js";
import { healthCheckSchema, type HealthCheckSpec } from "./health.js";

/** Defaults for fields a frontend leaves out. */
export const FRONTEND_DEFAULTS = {
  timeouts: { headerMs: 10_000, idleMs: 60_000, connectMs: 3_000, responseMs: 30_000 },
  maxConnections: 10_000,
  maxHeaderBytes: 16_384,
} as const;
/** Defaults for outlier detection (on unless `consecutiveFailures: 0`). */
export const OUTLIER_DEFAULTS = { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 } as const;
/**
 * Defaults for retries. `maxAttempts` counts the first try too (1 = never retry, not even a refused
 * connect); both frontends read it per request/connection through `BackendPool.maxAttempts`.
 */
export const RETRY_DEFAULTS = { budgetPercent: 20, minRetriesPerSecond: 3, maxAttempts: 3 } as const;
/** Bound on weights, so weighted structures (hash ring points) stay small. */
export const MAX_BACKEND_WEIGHT = 1000;

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
  message: "Name must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit",
});
const ms = (max: number) => z.number().int().min(1).max(max);

/** One backend of a pool, as written in config files and store values. */
export const backendSchema = z.object({
  id: name,
  address: hostPortSchema({ allowPortZero: false }),
  weight: z.number().int().min(1).max(MAX_BACKEND_WEIGHT).default(1),
}).strict();

const hashOnSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("clientIp") }).strict(),
  z.object({ kind: z.literal("header"), name: z.string().min(1) }).strict(),
  z.object({ kind: z.literal("cookie"), name: z.string().min(1) }).strict(),
]);

const algorithmSchema = z.enum(["round-robin", "weighted-round-robin", "least-connections", "p2c", "consistent-hash"]);

/** A pool's settings without its backends (the store keeps those under their own keys). */
export const poolSettingsSchema = z.object({
  name,
  algorithm: algorithmSchema.default("round-robin"),
  hashOn: hashOnSchema.optional(),
  healthCheck: healthCheckSchema.optional(),
  outlier: z.object({
    consecutiveFailures: z.number().int().min(0).max(1000).default(OUTLIER_DEFAULTS.consecutiveFailures),
    baseEjectionMs: ms(86_400_000).default(OUTLIER_DEFAULTS.baseEjectionMs),
    maxEjectionMs: ms(86_400_000).default(OUTLIER_DEFAULTS.maxEjectionMs),
    maxEjectionPercent: z.number().min(0).max(100).default(OUTLIER_DEFAULTS.maxEjectionPercent),
  }).strict().default({}),
  retry: z.object({
    budgetPercent: z.number().min(0).max(100).default(RETRY_DEFAULTS.budgetPercent),
    minRetriesPerSecond: z.number().int().min(0).max(100_000).default(RETRY_DEFAULTS.minRetriesPerSecond),
    maxAttempts: z.number().int().min(1).max(10).default(RETRY_DEFAULTS.maxAttempts),
  }).strict().default({}),
}).strict();

/** A pool with its backends, as written in config files. */
export const poolSchema = poolSettingsSchema.extend({ backends: z.array(backendSchema).max(10_000).default([]) }).strict();

const routeSchema = z.object({
  host: z.string().min(1).optional(),
  pathPrefix: z.string().startsWith("/", { message: "Path prefix must start with /" }).optional(),
  pool: name,
}).strict();

/** One frontend, as written in config files and store values. */
export const frontendSchema = z.object({
  name,
  listen: hostPortSchema({ allowPortZero: true }),
  protocol: z.enum(["http", "https", "tcp"]).default("http"),
  tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).strict().optional(),
  routes: z.array(routeSchema).max(1000).optional(),
  pool: name.optional(),
  timeouts: z.object({
    headerMs: ms(3_600_000).default(FRONTEND_DEFAULTS.timeouts.headerMs),
    idleMs: ms(86_400_000).default(FRONTEND_DEFAULTS.timeouts.idleMs),
    connectMs: ms(3_600_000).default(FRONTEND_DEFAULTS.timeouts.connectMs),
    responseMs: ms(86_400_000).default(FRONTEND_DEFAULTS.timeouts.responseMs),
  }).strict().default({}),
  maxConnections: z.number().int().min(1).max(1_000_000).default(FRONTEND_DEFAULTS.maxConnections),
  maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(FRONTEND_DEFAULTS.maxHeaderBytes),
}).strict();

type RawFrontend = z.output<typeof frontendSchema>;
type RawPool = z.output<typeof poolSchema>;

/** Issue sink shared by the cross-checks of a file and of the store's keys. */
type AddIssue = (path: (string | number)[], message: string, hint: string) => void;

/** Checks one frontend against its protocol's rules and the known pool names. */
export function checkFrontend(f: RawFrontend, poolNames: ReadonlySet<string>, at: (string | number)[], add: AddIssue): void {
  const known = poolNames.size === 0 ? "none defined" : [...poolNames].join(", ");
  const needPool = (pool: string, path: (string | number)[]): void => {
    if (!poolNames.has(pool)) add(path, `No pool named "${pool}"`, `define it under pools (known: ${known})`);
  };
  if (f.protocol === "tcp") {
    if (f.pool === undefined) add([...at, "protocol"], "A tcp frontend needs a pool", 'add "pool: <name>" to this frontend');
    else needPool(f.pool, [...at, "pool"]);
    if (f.routes !== undefined) add([...at, "routes"], "Routes apply to http and https frontends only", 'remove routes and use "pool" for tcp');
    if (f.tls !== undefined) add([...at, "tls"], "TLS is not supported on tcp frontends", "remove tls, or use protocol: https");
    return;
  }
  if (f.routes === undefined || f.routes.length === 0) {
    add([...at, f.routes === undefined ? "protocol" : "routes"], `An ${f.protocol} frontend needs at least one route`, 'add "routes: [{ pool: <name> }]"');
  }
  f.routes?.forEach((r, j) => needPool(r.pool, [...at, "routes", j, "pool"]));
  if (f.pool !== undefined) add([...at, "pool"], `"pool" applies to tcp frontends only`, "route to it with routes: [{ pool: <name> }]");
  if (f.protocol === "https" && f.tls === undefined) add([...at, "protocol"], "An https frontend needs tls", "add tls: { certFile: ..., keyFile: ... }");
  if (f.protocol === "http" && f.tls !== undefined) add([...at, "tls"], "TLS is set on an http frontend", "use protocol: https, or remove tls");
}

/** Checks one pool: unique backend ids and hashOn only with consistent hashing. */
export function checkPool(p: z.output<typeof poolSettingsSchema> & { backends?: RawPool["backends"] }, at: (string | number)[], add: AddIssue): void {
  if (p.hashOn !== undefined && p.algorithm !== "consistent-hash") {
    add([...at, "hashOn"], `hashOn has no effect with algorithm ${p.algorithm}`, "use algorithm: consistent-hash, or remove hashOn");
  }
  if (p.outlier.baseEjectionMs > p.outlier.maxEjectionMs) {
    add([...at, "outlier", "baseEjectionMs"], "Base ejection time is longer than the maximum", "make baseEjectionMs at most maxEjectionMs");
  }
  const seen = new Set<string>();
  p.backends?.forEach((b, k) => {
    if (seen.has(b.id)) add([...at, "backends", k, "id"], `Duplicate backend id "${b.id}" in pool "${p.name}"`, "give every backend of a pool its own id");
    seen.add(b.id);
  });
}

/** Schema of a whole proxy config file. */
export const proxyFileSchema = z.object({
  admin: z.object({ listen: hostPortSchema({ allowPortZero: true }) }).strict().optional(),
  frontends: z.array(frontendSchema).max(1000).default([]),
  pools: z.array(poolSchema).max(1000).default([]),
}).strict().superRefine((cfg, ctx) => {
  const add: AddIssue = (path, message, hint) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message, params: { hint } });
  const poolNames = new Set<string>();
  cfg.pools.forEach((p, i) => {
    if (poolNames.has(p.name)) add(["pools", i, "name"], `Duplicate pool name "${p.name}"`, "give every pool its own name");
    poolNames.add(p.name);
    checkPool(p, ["pools", i], add);
  });
  const frontendNames = new Set<string>();
  const listens = new Map<string, string>();
  cfg.frontends.forEach((f, i) => {
    if (frontendNames.has(f.name)) add(["frontends", i, "name"], `Duplicate frontend name "${f.name}"`, "give every frontend its own name");
    frontendNames.add(f.name);
    const key = `${f.listen.host}:${f.listen.port}`;
    const other = listens.get(key);
    if (f.listen.port !== 0 && other !== undefined) add(["frontends", i, "listen"], `Address ${key} is already used by frontend "${other}"`, "listen on another port");
    listens.set(key, f.name);
    checkFrontend(f, poolNames, ["frontends", i], add);
  });
});

/** A pool as the runtime uses it. */
export interface PoolSpec {
  readonly name: string;
  readonly algorithm: z.output<typeof algorithmSchema>;
  readonly hashOn: HashOn;
  readonly backends: readonly BackendEndpoint[];
  readonly healthCheck: HealthCheckSpec | null;
  /** Null when outlier detection is off (consecutiveFailures: 0). */
  readonly outlier: { readonly consecutiveFailures: number; readonly baseEjectionMs: number; readonly maxEjectionMs: number; readonly maxEjectionPercent: number } | null;
  readonly retry: { readonly budgetPercent: number; readonly minRetriesPerSecond: number; readonly maxAttempts: number };
}

/** A whole proxy configuration as the runtime uses it. */
export interface ProxyConfig {
  readonly admin: ListenAddress | null;
  readonly frontends: readonly FrontendSpec[];
  readonly pools: readonly PoolSpec[];
}

/** Turns a validated frontend into a FrontendSpec; relative TLS paths resolve against `baseDir`. */
export function toFrontendSpec(f: RawFrontend, baseDir: string): FrontendSpec {
  const file = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    name: f.name,
    listen: f.listen,
    protocol: f.protocol,
    ...(f.tls ? { tls: { certFile: file(f.tls.certFile), keyFile: file(f.tls.keyFile) } } : {}),
    ...(f.routes ? { routes: f.routes.map((r) => ({ ...r })) } : {}),
    ...(f.pool !== undefined ? { pool: f.pool } : {}),
    timeouts: f.timeouts,
    maxConnections: f.maxConnections,
    maxHeaderBytes: f.maxHeaderBytes,
  };
}

/** Turns validated pool settings and backends into a PoolSpec. */
export function toPoolSpec(p: z.output<typeof poolSettingsSchema>, backends: RawPool["backends"]): PoolSpec {
  return {
    name: p.name,
    algorithm: p.algorithm,
    hashOn: p.hashOn ?? (p.algorithm === "consistent-hash" ? { kind: "clientIp" } : { kind: "none" }),
    backends: backends.map((b) => ({ id: b.id, host: b.address.host, port: b.address.port, weight: b.weight })),
    healthCheck: p.healthCheck ?? null,
    outlier: p.outlier.consecutiveFailures === 0 ? null : p.outlier,
    retry: p.retry,
  };
}

/** Normalises a validated file into the runtime's ProxyConfig. */
export function toProxyConfig(raw: z.output<typeof proxyFileSchema>, baseDir: string): ProxyConfig {
  return {
    admin: raw.admin?.listen ?? null,
    frontends: raw.frontends.map((f) => toFrontendSpec(f, baseDir)),
    pools: raw.pools.map((p) => toPoolSpec(p, p.backends)),
  };
}
