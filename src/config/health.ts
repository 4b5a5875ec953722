// Health check settings, shared by the proxy's active checks on backends and the agent's checks on
// the services it supervises (config/service-health.ts adds `exec` and a start grace period to the
// same http and tcp shapes): one shape, one set of defaults.
import { z } from "zod";

/** Defaults that apply when a field is left out. */
export const HEALTH_CHECK_DEFAULTS = { intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 } as const;

/** Fields every kind of check has (exported so service checks reuse them). */
export const healthCheckCommonFields = {
  intervalMs: z.number().int().min(10).max(3_600_000).default(HEALTH_CHECK_DEFAULTS.intervalMs),
  timeoutMs: z.number().int().min(1).max(600_000).default(HEALTH_CHECK_DEFAULTS.timeoutMs),
  rise: z.number().int().min(1).max(100).default(HEALTH_CHECK_DEFAULTS.rise),
  fall: z.number().int().min(1).max(100).default(HEALTH_CHECK_DEFAULTS.fall),
  /** Checks this port instead of the backend's own (a separate health port). */
  port: z.number().int().min(1).max(65535).optional(),
};

const httpCheck = z.object({
  type: z.literal("http"),
  path: z.string().startsWith("/", { message: "Path must start with /" }).default("/"),
  /** Statuses that count as healthy; any 2xx or 3xx when unset. */
  expectStatuses: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  /** Host header to send; the backend's address when unset. */
  host: z.string().min(1).optional(),
  ...healthCheckCommonFields,
}).strict();

const tcpCheck = z.object({ type: z.literal("tcp"), ...healthCheckCommonFields }).strict();

/** The http and tcp check objects, before the cross-field rule (service checks extend them). */
export const httpCheckSchema = httpCheck;
export const tcpCheckSchema = tcpCheck;

/** Adds an issue when a check's timeout is longer than its interval (every kind of check). */
export function checkTimeoutWithinInterval(check: { timeoutMs: number; intervalMs: number }, ctx: z.RefinementCtx): void {
  if (check.timeoutMs > check.intervalMs) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["timeoutMs"],
      message: `Timeout ${check.timeoutMs} ms is longer than the interval ${check.intervalMs} ms`,
      params: { hint: "make timeoutMs at most intervalMs" },
    });
  }
}

/** Schema of one health check: `http` (GET a path, expect a status) or `tcp` (connect). */
export const healthCheckSchema = z
  .discriminatedUnion("type", [httpCheck, tcpCheck])
  .superRefine(checkTimeoutWithinInterval);

/** A validated health check with defaults filled in. */
export type HealthCheckSpec = z.output<typeof healthCheckSchema>;

/** True when `status` counts as healthy for `check`. */
export function isHealthyStatus(check: HealthCheckSpec, status: number): boolean {
  if (check.type !== "http") return true;
  if (check.expectStatuses !== undefined) return check.expectStatuses.includes(status);
  return status >= 200 && status < 400;
}
