// Contracts between the parts of the load balancer: the frontends (HTTP in proxy/http, TCP in
// proxy/tcp) ask a BackendPool (proxy/pool, fed by config or by the store, filtered by health) for a
// backend, report the outcome of each attempt, and record metrics. Change this file additively only:
// three parts of the proxy code against it.

/** One instance the balancer can send traffic to. `id` is stable across config reloads. */
export interface BackendEndpoint {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** Relative share for weighted algorithms; 1 when unset. */
  readonly weight: number;
}

/** What a pool hashes on for consistent hashing (sticky sessions). */
export type HashOn =
  | { readonly kind: "none" }
  | { readonly kind: "clientIp" }
  | { readonly kind: "header"; readonly name: string }
  | { readonly kind: "cookie"; readonly name: string };

/**
 * The facts about one request or connection that a pool may balance on. Valid only during the
 * pick: frontends reuse the object.
 */
export interface PickRequest {
  readonly clientIp: string;
  /** The value named by the pool's `hashOn` (header or cookie value), when the frontend found one. */
  readonly hashKey?: string;
}

/** How one attempt against a backend ended, as the frontend saw it. Feeds outlier detection. */
export type AttemptOutcome = "success" | "connect_error" | "reset" | "timeout" | "http_5xx";

/** Call exactly once when an attempt ends. */
export type FinishAttempt = (outcome: AttemptOutcome, latencyMs: number) => void;

/** A live set of backends for one route target, already filtered to healthy, non-draining ones. */
export interface BackendPool {
  readonly name: string;
  readonly hashOn: HashOn;
  /**
   * Chooses a backend for a new request/connection, skipping those in `exclude` (already tried for
   * this request). Returns null when no healthy backend is left: the frontend answers 503 at once.
   */
  pick(request: PickRequest, exclude?: ReadonlySet<string>): BackendEndpoint | null;
  /**
   * Marks an attempt as started on `backendId` (active counts, draining); call the result when it
   * ends. `nowMs` (monotonic) saves a clock read when the caller has one.
   */
  begin(backendId: string, nowMs?: number): FinishAttempt;
  /** Takes one token from the retry budget; false means "do not retry, fail this request". */
  tryAcquireRetry(): boolean;
  /**
   * Most attempts (the first plus retries) one request may make in this pool, from the pool's
   * `retry.maxAttempts`; frontends use their own default when unset.
   */
  readonly maxAttempts?: number;
}

/** Looks up a pool by name; undefined when the config names none such (a config error upstream). */
export type PoolResolver = (poolName: string) => BackendPool | undefined;

/** Metrics sink the frontends report to (implemented with prom-client in proxy/metrics.ts). */
export interface ProxyMetrics {
  connectionOpened(frontend: string): void;
  connectionClosed(frontend: string): void;
  /** `backendId` is null when no backend was reached (503 for none healthy, 400 for bad framing). */
  requestFinished(frontend: string, backendId: string | null, status: number, durationMs: number): void;
  /** Bytes moved by an L4 connection when it closes. */
  bytesTransferred(frontend: string, backendId: string, upstreamBytes: number, downstreamBytes: number): void;
}

export interface ListenAddress {
  readonly host: string;
  /** 0 takes an ephemeral port (tests). */
  readonly port: number;
}

export interface HttpRoute {
  /** Exact host match (without port), or undefined for any host. */
  readonly host?: string;
  /** Path prefix match, or undefined for any path. Longest prefix wins. */
  readonly pathPrefix?: string;
  readonly pool: string;
}

export interface FrontendTimeouts {
  /** Time to receive a full request head (slowloris guard). */
  readonly headerMs: number;
  /** Idle keep-alive connection with no request in progress. */
  readonly idleMs: number;
  readonly connectMs: number;
  /** Time from request sent to response head received. */
  readonly responseMs: number;
}

export interface FrontendSpec {
  readonly name: string;
  readonly listen: ListenAddress;
  readonly protocol: "http" | "https" | "tcp";
  /** PEM file paths, required for https. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** http/https: routes in order of specificity (the router picks the best match). */
  readonly routes?: readonly HttpRoute[];
  /** tcp: the one pool every connection goes to. */
  readonly pool?: string;
  readonly timeouts: FrontendTimeouts;
  /** Connections beyond this are refused at accept. */
  readonly maxConnections: number;
  /** Bound on the request head (request line + headers) in bytes. */
  readonly maxHeaderBytes: number;
}

/** A running frontend. `update` swaps routes/pools without dropping established connections. */
export interface Frontend {
  readonly name: string;
  /** Resolves with the bound address once listening. */
  listen(): Promise<ListenAddress>;
  update(spec: FrontendSpec): void;
  /** Stops accepting; waits for in-flight requests (up to `graceMs`), then closes what remains. */
  close(graceMs: number): Promise<void>;
}
