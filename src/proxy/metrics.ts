// Prometheus metrics of the proxy, in a registry of its own (never the global one), so that tests
// and several runtimes in one process do not collide. The per-request series are plain counts
// turned into samples at scrape time (collected-metrics.ts): a request costs two Map lookups.
import { Counter, Gauge, Registry } from "prom-client";
import { CollectedCounter, CollectedHistogram, LatencyBuckets } from "./collected-metrics.js";
import type { Pool, PoolObserver } from "./pool/pool.js";
import type { ProxyMetrics } from "./types.js";

/** Latency buckets in seconds, from sub-millisecond (LAN) to the default response timeout. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Status class labels by index: 1xx … 5xx, then anything outside 100–599. */
const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/** Everything recorded for one frontend and backend. */
interface RequestSeries {
  readonly labels: { frontend: string; backend: string };
  readonly byClass: Float64Array;
  errors: number;
  readonly latency: LatencyBuckets;
}

/** The proxy's metrics: implements ProxyMetrics (frontends) and PoolObserver (pools). */
export class PrometheusProxyMetrics implements ProxyMetrics, PoolObserver {
  readonly registry = new Registry();
  private readonly connections: Gauge<"frontend">;
  private readonly bytes: Counter<"frontend" | "backend" | "direction">;
  private readonly ejections: Counter<"pool" | "backend">;
  /** frontend → backend ("none" when no backend was reached) → series. */
  private readonly series = new Map<string, Map<string, RequestSeries>>();
  private pools: () => Iterable<Pool> = () => [];

  constructor() {
    const registers = [this.registry];
    const all = (): Iterable<RequestSeries> => this.allSeries();
    new CollectedCounter("phalanx_proxy_requests_total", "Requests answered, by frontend, backend and status class", this.registry, function* () {
      for (const s of all()) {
        for (let c = 0; c < STATUS_CLASSES.length; c++) {
          if (s.byClass[c]! > 0) yield [{ ...s.labels, class: STATUS_CLASSES[c]! }, s.byClass[c]!];
        }
      }
    });
    new CollectedCounter("phalanx_proxy_errors_total", "Requests answered with a 5xx status (including the proxy's own 502/503/504)", this.registry, function* () {
      for (const s of all()) if (s.errors > 0) yield [s.labels, s.errors];
    });
    new CollectedHistogram("phalanx_proxy_request_duration_seconds", "Time from request received to response finished", this.registry, LATENCY_BUCKETS_SECONDS, function* () {
      for (const s of all()) yield [s.labels, s.latency];
    });
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
    new Gauge({
      name: "phalanx_proxy_backend_ejected",
      help: "1 while outlier detection keeps a backend out of rotation, else 0",
      labelNames: ["pool", "backend"],
      registers,
      collect() {
        this.reset();
        for (const pool of pools()) for (const m of pool.snapshot()) this.set({ pool: pool.name, backend: m.id }, m.ejected ? 1 : 0);
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
    let byBackend = this.series.get(frontend);
    if (byBackend === undefined) {
      byBackend = new Map();
      this.series.set(frontend, byBackend);
    }
    let s = byBackend.get(backend);
    if (s === undefined) {
      s = { labels: { frontend, backend }, byClass: new Float64Array(STATUS_CLASSES.length), errors: 0, latency: new LatencyBuckets(LATENCY_BUCKETS_SECONDS) };
      byBackend.set(backend, s);
    }
    s.byClass[status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 5]!++;
    if (status >= 500) s.errors++;
    s.latency.observe(durationMs / 1000);
  }

  /** Requests and 5xx answers so far per frontend and backend ("none": no backend reached), for status pages. */
  requestTotals(): { frontend: string; backend: string; requests: number; errors: number }[] {
    return [...this.allSeries()].map((s) => ({ ...s.labels, requests: s.byClass.reduce((a, b) => a + b, 0), errors: s.errors }));
  }

  private *allSeries(): Iterable<RequestSeries> {
    for (const byBackend of this.series.values()) yield* byBackend.values();
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
