// State shared by every connection of one HTTP frontend. `update()` swaps the router, timeouts and
// bounds in place, so established connections pick up new routes on their next request.
import type pino from "pino";
import type { FrontendTimeouts, PoolResolver, ProxyMetrics } from "../types.js";
import { MAX_HEADER_FIELDS } from "./parser.js";
import type { Router } from "./router.js";
import type { UpstreamPool } from "./upstream.js";

/** Attempts (first try plus retries) for one request when the pool does not set `maxAttempts`. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Request bodies up to this size are kept so an idempotent request can be retried. */
export const RETRY_BODY_BYTES_MAX = 64 * 1024;
/** Bytes of pipelined requests (or body bytes before the upstream is connected) read ahead before pausing the client. */
export const READ_AHEAD_BYTES_MAX = 256 * 1024;
/** After the proxy half-closes a client connection, the client gets this long to close its side. */
export const CLOSE_LINGER_MS = 2000;
/** While draining, a connection idle for less than this gets this long for a request already on its way. */
export const DRAIN_IDLE_LINGER_MS = 100;
/** Idle keep-alive connections kept per backend. */
export const UPSTREAM_IDLE_PER_BACKEND_MAX = 256;

/** Per-frontend shared state. */
export interface FrontendContext {
  readonly name: string;
  readonly proto: "http" | "https";
  router: Router;
  timeouts: FrontendTimeouts;
  maxHeaderBytes: number;
  readonly pools: PoolResolver;
  readonly metrics: ProxyMetrics;
  readonly logger: pino.Logger;
  readonly upstreams: UpstreamPool;
  /** Set by close(): responses say Connection: close, idle connections are closed. */
  draining: boolean;
  /** Scratch for head rewriting; used synchronously only. */
  readonly dropScratch: Uint8Array;
}

/** A fresh scratch array sized for the parser's field bound. */
export function newDropScratch(): Uint8Array {
  return new Uint8Array(MAX_HEADER_FIELDS);
}
