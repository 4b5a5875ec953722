// Health checks of a service's instances, run by the agent on the instance's node. The http and tcp
// shapes and their defaults are the proxy's (config/health.ts); a service adds `exec` (run a
// command, exit status 0 is healthy) and `startGraceMs`: failures during the grace period after a
// start do not count, so a slow starter is not restarted while it warms up.
import { z } from "zod";
import { checkTimeoutWithinInterval, healthCheckCommonFields, httpCheckSchema, tcpCheckSchema } from "./health.js";

/** Default grace period after a start during which failed checks do not count. */
export const START_GRACE_MS_DEFAULT = 10_000;

const startGraceMs = z.number().int().min(0).max(3_600_000).default(START_GRACE_MS_DEFAULT);

const execCheck = z.object({
  type: z.literal("exec"),
  /** Program to run: an absolute path or a name looked up on the node's PATH. */
  command: z.string().min(1, { message: "Command must not be empty" }),
  args: z.array(z.string()).max(256).default([]),
  ...healthCheckCommonFields,
}).strict();

/** Schema of a service's health check: `http`, `tcp` or `exec`, each with `startGraceMs`. */
export const serviceHealthCheckSchema = z
  .discriminatedUnion("type", [
    httpCheckSchema.extend({ startGraceMs }).strict(),
    tcpCheckSchema.extend({ startGraceMs }).strict(),
    execCheck.extend({ startGraceMs }).strict(),
  ])
  .superRefine((check, ctx) => {
    checkTimeoutWithinInterval(check, ctx);
    if (check.type === "exec" && check.port !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["port"], message: "An exec check has no port", params: { hint: "remove port, or use type: http or tcp" } });
    }
  });

/** A validated service health check with defaults filled in. */
export type ServiceHealthCheckSpec = z.output<typeof serviceHealthCheckSchema>;
