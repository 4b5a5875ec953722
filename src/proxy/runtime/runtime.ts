// The proxy runtime: builds pools and frontends from a ProxyConfig and applies new configs live.
// Added frontends start; removed ones stop accepting and drain; changed routes and pools are
// swapped in place (established connections keep going); removed backends drain in their pools.
// Applies are serialised, and a burst of configs collapses to the latest one.
import { randomInt as cryptoRandomInt } from "node:crypto";
import type { Logger } from "pino";
import type { ProxyConfig, PoolSpec } from "../../config/proxy.js";
import type { RandomInt } from "../balance/types.js";
import { startActiveCheck } from "../health/activeCheck.js";
import { PrometheusProxyMetrics } from "../metrics.js";
import { Pool, type CheckStarter, type PoolObserver } from "../pool/pool.js";
import type { Frontend, FrontendSpec, ListenAddress } from "../types.js";
import { startAdminServer, type AdminServer } from "./admin.js";
import { factoryFor, type FrontendFactories } from "./factories.js";

/** Default time a removed frontend gets to finish its in-flight requests. */
export const DEFAULT_DRAIN_GRACE_MS = 30_000;

/** What the runtime needs. */
export interface RuntimeDeps {
  readonly logger: Logger;
  readonly factories: FrontendFactories;
  readonly metrics?: PrometheusProxyMetrics;
  readonly now?: () => number;
  readonly randomInt?: RandomInt;
  readonly startCheck?: CheckStarter;
  /** Grace for draining removed frontends. */
  readonly drainGraceMs?: number;
}

/** A frontend that could not be started or replaced. */
export interface FrontendFailure {
  readonly frontend: string;
  readonly error: Error;
}

/** Outcome of applying one config. */
export interface ApplyResult {
  readonly failures: readonly FrontendFailure[];
}

/** What ProxyRuntime.stats() reports. */
export interface ProxyStats {
  readonly frontends: readonly { name: string; protocol: string; listen: ListenAddress | null; pools: readonly string[] }[];
  readonly pools: readonly { name: string; backends: ReturnType<Pool["snapshot"]> }[];
  readonly requests: ReturnType<PrometheusProxyMetrics["requestTotals"]>;
}

/** A config refused before anything changed (a protocol without a frontend implementation). */
export class ConfigRejectedError extends Error {
  override readonly name = "ConfigRejectedError";
  readonly code = "config_rejected";
}

interface RunningFrontend {
  readonly frontend: Frontend;
  spec: FrontendSpec;
  address: ListenAddress;
}

/** Runs frontends and pools for the config in force. */
export class ProxyRuntime {
  readonly metrics: PrometheusProxyMetrics;
  private readonly pools = new Map<string, Pool>();
  private readonly frontends = new Map<string, RunningFrontend>();
  /** Frontends and pools being drained after removal; stop() waits for them. */
  private readonly retiring = new Set<Promise<void>>();
  private admin: AdminServer | null = null;
  private adminKey = "";
  private current: ProxyConfig | null = null;
  private chain: Promise<void> = Promise.resolve();
  private pending: { config: ProxyConfig; waiters: Array<{ resolve: (r: ApplyResult) => void; reject: (e: unknown) => void }> } | null = null;
  private stopped = false;
  private readonly now: () => number;
  private readonly randomInt: RandomInt;
  private readonly observer: PoolObserver;

  constructor(private readonly deps: RuntimeDeps) {
    this.metrics = deps.metrics ?? new PrometheusProxyMetrics();
    this.metrics.setPoolSource(() => this.pools.values());
    this.now = deps.now ?? (() => performance.now());
    this.randomInt = deps.randomInt ?? ((bound: number) => cryptoRandomInt(bound));
    this.observer = loggingObserver(deps.logger, this.metrics);
  }

  /** The config in force, or null before the first apply. */
  get config(): ProxyConfig | null {
    return this.current;
  }

  /** Where a running frontend listens (the real port when the config said 0). */
  frontendAddress(name: string): ListenAddress | undefined {
    return this.frontends.get(name)?.address;
  }

  /** Where the admin listener listens, when there is one. */
  adminAddress(): ListenAddress | undefined {
    return this.admin?.address;
  }

  /** Frontends (where they listen, which pools they route to) and pools (each backend's state), for status pages. */
  stats(): ProxyStats {
    const frontends = (this.current?.frontends ?? []).map((f) => ({
      name: f.name, protocol: f.protocol, listen: this.frontends.get(f.name)?.address ?? null,
      pools: f.pool !== undefined ? [f.pool] : [...new Set((f.routes ?? []).map((r) => r.pool))],
    }));
    const pools = [...this.pools.values()].map((p) => ({ name: p.name, backends: p.snapshot() }));
    return { frontends, pools, requests: this.metrics.requestTotals() };
  }

  /** A pool by name (for status and tests). */
  pool(name: string): Pool | undefined {
    return this.pools.get(name);
  }

  /**
   * Applies `config`. Rejects (changing nothing) when a frontend's protocol has no implementation;
   * frontends that fail to listen are reported in the result and retried on the next apply.
   */
  apply(config: ProxyConfig): Promise<ApplyResult> {
    for (const f of config.frontends) {
      if (factoryFor(this.deps.factories, f.protocol) === undefined) {
        return Promise.reject(new ConfigRejectedError(`Cannot start frontend ${f.name}: no ${f.protocol} frontend is built into this program`));
      }
    }
    return new Promise((resolve, reject) => {
      if (this.pending !== null) {
        this.pending.config = config;
        this.pending.waiters.push({ resolve, reject });
        return;
      }
      this.pending = { config, waiters: [{ resolve, reject }] };
      this.chain = this.chain.then(async () => {
        const job = this.pending;
        this.pending = null;
        if (job === null) return;
        try {
          const result = await this.applyNow(job.config);
          for (const w of job.waiters) w.resolve(result);
        } catch (err) {
          for (const w of job.waiters) w.reject(err);
        }
      });
    });
  }

  /** Stops accepting everywhere, drains in-flight work for up to `graceMs`, stops checks. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    await this.chain;
    const closing = [...this.frontends.values()].map((r) => r.frontend.close(graceMs));
    this.frontends.clear();
    await Promise.all([...closing, ...this.retiring]);
    await Promise.all([...this.pools.values()].map((p) => withTimeout(p.close(), graceMs)));
    this.pools.clear();
    await this.admin?.close();
    this.admin = null;
  }

  private async applyNow(config: ProxyConfig): Promise<ApplyResult> {
    if (this.stopped) throw new ConfigRejectedError("Cannot apply config: the proxy is stopping");
    const log = this.deps.logger;
    // Order matters: pools exist before any frontend routes to them, and kept frontends move to
    // the new routes (synchronously) before removed pools stop resolving.
    this.upsertPools(config.pools);
    const failures: FrontendFailure[] = [];
    const wanted = new Map(config.frontends.map((f) => [f.name, f]));
    for (const [name, running] of this.frontends) {
      if (!wanted.has(name)) {
        this.frontends.delete(name);
        this.retire(running.frontend);
        log.info({ frontend: name }, "Frontend removed: draining");
      }
    }
    const toStart: FrontendSpec[] = [];
    for (const spec of config.frontends) {
      const running = this.frontends.get(spec.name);
      if (running !== undefined && running.spec.protocol === spec.protocol && sameListen(running.spec.listen, spec.listen)) {
        running.frontend.update(spec);
        running.spec = spec;
      } else {
        toStart.push(spec);
      }
    }
    this.removePools(config.pools);
    for (const spec of toStart) {
      const running = this.frontends.get(spec.name);
      if (running !== undefined) {
        // A new address or protocol needs a new listener; the old one drains, and must be closed
        // first when the new one takes the same address.
        this.frontends.delete(spec.name);
        const closing = this.retire(running.frontend);
        if (sameListen(running.spec.listen, spec.listen)) await closing;
      }
      try {
        await this.startFrontend(spec);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        failures.push({ frontend: spec.name, error });
        log.error({ frontend: spec.name, err: error }, `Cannot start frontend ${spec.name}: ${error.message}`);
      }
    }
    await this.applyAdmin(config);
    this.current = config;
    return { failures };
  }

  private upsertPools(specs: readonly PoolSpec[]): void {
    for (const spec of specs) {
      const pool = this.pools.get(spec.name);
      if (pool !== undefined) pool.update(spec);
      else this.pools.set(spec.name, new Pool(spec, { now: this.now, randomInt: this.randomInt, observer: this.observer, startCheck: this.deps.startCheck ?? startActiveCheck }));
    }
  }

  private removePools(specs: readonly PoolSpec[]): void {
    const wanted = new Set(specs.map((p) => p.name));
    for (const [name, pool] of this.pools) {
      if (wanted.has(name)) continue;
      this.pools.delete(name);
      this.track(pool.close());
      this.deps.logger.info({ pool: name }, "Pool removed: draining its backends");
    }
  }

  private async startFrontend(spec: FrontendSpec): Promise<void> {
    const factory = factoryFor(this.deps.factories, spec.protocol);
    if (factory === undefined) throw new ConfigRejectedError(`Cannot start frontend ${spec.name}: no ${spec.protocol} frontend is built into this program`);
    const frontend = factory(spec, {
      pools: (name) => this.pools.get(name),
      metrics: this.metrics,
      logger: this.deps.logger.child({ frontend: spec.name }),
    });
    try {
      const address = await frontend.listen();
      this.frontends.set(spec.name, { frontend, spec, address });
    } catch (err) {
      await frontend.close(0).catch(() => undefined);
      throw err;
    }
  }

  private async applyAdmin(config: ProxyConfig): Promise<void> {
    const key = config.admin === null ? "" : `${config.admin.host}:${config.admin.port}`;
    if (key === this.adminKey && (this.admin !== null || key === "")) return;
    await this.admin?.close();
    this.admin = null;
    this.adminKey = key;
    if (config.admin === null) return;
    try {
      this.admin = await startAdminServer(config.admin, {
        metricsText: () => this.metrics.text(),
        unhealthyReason: () => (this.stopped ? "stopping" : null),
      });
    } catch (err) {
      this.adminKey = "";
      this.deps.logger.error({ err }, `Cannot start the admin listener on ${key}: ${(err as Error).message}`);
    }
  }

  private retire(frontend: Frontend): Promise<void> {
    return this.track(frontend.close(this.deps.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS));
  }

  private track(work: Promise<void>): Promise<void> {
    const tracked = work.catch((err: unknown) => this.deps.logger.error({ err }, "Draining failed")).finally(() => this.retiring.delete(tracked));
    this.retiring.add(tracked);
    return tracked;
  }
}

function sameListen(a: ListenAddress, b: ListenAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Logs pool events and forwards them to the metrics. */
function loggingObserver(logger: Logger, metrics: PoolObserver): PoolObserver {
  return {
    backendHealthChanged(pool, backendId, up) {
      metrics.backendHealthChanged(pool, backendId, up);
      logger[up ? "info" : "warn"]({ pool, backend: backendId }, up ? "Backend passed its health checks: in service" : "Backend failed its health checks: out of service");
    },
    backendEjected(pool, backendId, ejectionMs) {
      metrics.backendEjected(pool, backendId, ejectionMs);
      logger.warn({ pool, backend: backendId, ejectionMs }, "Backend ejected after consecutive failures");
    },
    backendEjectionRefused(pool, backendId) {
      metrics.backendEjectionRefused(pool, backendId);
      logger.warn({ pool, backend: backendId }, "Backend kept in service despite failures: maxEjectionPercent reached");
    },
    backendReturned(pool, backendId) {
      metrics.backendReturned(pool, backendId);
      logger.info({ pool, backend: backendId }, "Backend returned from ejection");
    },
    backendRemoved(pool, backendId) {
      metrics.backendRemoved(pool, backendId);
      logger.info({ pool, backend: backendId }, "Backend drained and removed");
    },
  };
}
