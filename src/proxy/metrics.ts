// Prometheus metrics of the proxy, in a registry of its own (never the global one), so that tests
// and several runtimes in one process do not collide. Hot-path series are cached per label set so
// a request costs a map lookup, not a label hash.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Pool, PoolObserver } from "./pool/pool.js";
import type { ProxyMetrics } from "./types.js";

/** Bound on cached label sets; past it, series are still recorded but through prom-client's lookup. */
export const MAX_CACHED_SERIES = 10_000;
/** Latency buckets in seconds, from sub-millisecond (LAN) to the default response timeout. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface RequestSeries {
  readonly requests: Counter.Internal;
  readonly latency: Histogram.Internal<string>;
  readonly errors: Counter.Internal | null;
}

/** The proxy's metrics: implements ProxyMetrics (frontends) and PoolObserver (pools). */
export class PrometheusProxyMetrics implements ProxyMetrics, PoolObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<"frontend" | "backend" | "class">;
  private readonly errors: Counter<"frontend" | "backend">;
  private readonly latency: Histogram<"frontend" | "backend">;
  private readonly connections: Gauge<"frontend">;
  private readonly bytes: Counter<"frontend" | "backend" | "direction">;
  private readonly ejections: Counter<"pool" | "backend">;
  private readonly series = new Map<string, RequestSeries>();
  private pools: () => Iterable<Pool> = () => [];

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({ name: "phalanx_proxy_requests_total", help: "Requests answered, by frontend, backend and status class", labelNames: ["frontend", "backend", "class"], registers });
    this.errors = new Counter({ name: "phalanx_proxy_errors_total", help: "Requests answered with a 5xx status (including the proxy's own 502/503/504)", labelNames: ["frontend", "backend"], registers });
    this.latency = new Histogram({ name: "phalanx_proxy_request_duration_seconds", help: "Time from request received to response finished", labelNames: ["frontend", "backend"], buckets: LATENCY_BUCKETS_SECONDS, registers });
    this.connections = new Gauge({ name: "phalanx_proxy_frontend_connections", help: "Open client connections per frontend", labelNames: ["frontend"], registers });
    this.bytes = new Counter({ name: "phalanx_proxy_bytes_total", help: "Bytes moved by L4 connections", labelNames: ["frontend", "backend", "direction"], registers });
    this.ejections = new Counter({ name: "phalanx_proxy_backend_ejections_total", help: "Outlier ejections per backend", labelNames: ["pool", "backend"], registers });
    const pools = (): Iterable<Pool> => this.pools();
    new Gauge({
      name: "phalanx_proxy_backend_active",
      help: "Attempts in flight per backend",
      labelNames: ["pool", "backend"],
      registers,
      collect() {
        this.reset();
        for (const pool of pools()) for (const m of pool.snapshot()) this.set({ pool: pool.name, backend: m.id }, m.active);
      },
    });
    new Gauge({
      name: "phalanx_proxy_backend_up",
      help: "1 when a backend may receive traffic (active checks up, not ejected, not draining), else 0",
      labelNames: ["pool", "backend"],
      registers,
      collect() {
        this.reset();
        for (const pool of pools()) {
          for (const m of pool.snapshot()) this.set({ pool: pool.name, backend: m.id }, m.health === "up" && !m.ejected && !m.draining ? 1 : 0);
        }
      },
    });
  }

  /** Tells the per-backend gauges where to read pool state at scrape time. */
  setPoolSource(pools: () => Iterable<Pool>): void {
    this.pools = pools;
  }

  /** The exposition text for /metrics. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  connectionOpened(frontend: string): void {
    this.connections.inc({ frontend });
  }

  connectionClosed(frontend: string): void {
    this.connections.dec({ frontend });
  }

  requestFinished(frontend: string, backendId: string | null, status: number, durationMs: number): void {
    const backend = backendId ?? "none";
    const statusClass = status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
    const key = `${frontend}\u0000${backend}\u0000${statusClass}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        requests: this.requests.labels(frontend, backend, statusClass),
        latency: this.latency.labels(frontend, backend),
        errors: status >= 500 ? this.errors.labels(frontend, backend) : null,
      };
      if (this.series.size < MAX_CACHED_SERIES) this.series.set(key, s);
    }
    s.requests.inc();
    s.latency.observe(durationMs / 1000);
    s.errors?.inc();
  }

  bytesTransferred(frontend: string, backendId: string, upstreamBytes: number, downstreamBytes: number): void {
    this.bytes.inc({ frontend, backend: backendId, direction: "upstream" }, upstreamBytes);
    this.bytes.inc({ frontend, backend: backendId, direction: "downstream" }, downstreamBytes);
  }

  backendHealthChanged(): void {
    // Read at scrape time from the pools (phalanx_proxy_backend_up).
  }

  backendEjected(pool: string, backendId: string): void {
    this.ejections.inc({ pool, backend: backendId });
  }

  backendEjectionRefused(): void {
    // Logged by the runtime; not a metric of its own.
  }

  backendReturned(): void {
    // Visible as phalanx_proxy_backend_up going back to 1.
  }

  backendRemoved(): void {
    // Counters of a removed backend stay until restart: Prometheus expects counters not to vanish.
  }
}
