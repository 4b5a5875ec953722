// The `fronts:` section of a node config (server/node-config.ts embeds it). Both fronts are off
// unless enabled; every field has a default.
import { z } from "zod";
import { hostPortSchema } from "../../config/address.js";

const listen = hostPortSchema({ allowPortZero: true });

/** The `fronts:` section of a node config (every field has a default; both fronts are off by default). */
export const frontsConfigSchema = z.object({
  resp: z.object({ enabled: z.boolean().default(false), listen: listen.default("127.0.0.1:6379") }).strict().default({}),
  memcached: z.object({
    enabled: z.boolean().default(false),
    listen: listen.default("127.0.0.1:11211"),
    /** memcached's text protocol has no authentication: flush_all is refused unless this is true. */
    allowFlushAll: z.boolean().default(false),
  }).strict().default({}),
  /** Most keys the fronts may hold together; writes beyond answer OOM / SERVER_ERROR out of memory. */
  maxKeys: z.number().int().min(1).default(1_000_000),
  /** Most bytes (keys + values) the fronts may hold together. */
  maxBytes: z.number().int().min(1024).default(1024 * 1024 * 1024),
  /** How often expired keys are deleted (leader) and usage is counted (every node). */
  sweepIntervalMs: z.number().int().min(10).default(1000),
  /** Keys this close to their deadline already read as gone, so a node whose clock lags by up to this never returns an expired key. */
  clockSkewMarginMs: z.number().int().min(0).max(60_000).default(50),
}).strict().default({});

/** The validated `fronts:` section. */
export type FrontsConfig = z.output<typeof frontsConfigSchema>;

