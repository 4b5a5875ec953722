// What every node's proxy serves for an exposed service: the frontend and the pool settings,
// derived from the service's `expose` with the proxy's own normalisers, so a service frontend
// behaves exactly like one written in a proxy config. The pool's backends are the service's healthy
// instances, which the proxy learns from the store (not part of the spec).
import { toFrontendSpec, toPoolSpec, type PoolSpec } from "./proxy.js";
import type { ServiceSpec } from "./service.js";
import type { FrontendSpec } from "../proxy/types.js";

/** The proxy frontend and (backend-less) pool of an exposed service; null when it is not exposed. */
export function exposeToProxy(spec: ServiceSpec, baseDir: string): { frontend: FrontendSpec; pool: PoolSpec } | null {
  const e = spec.expose;
  if (e === null) return null;
  const frontend = toFrontendSpec({
    name: spec.name,
    listen: e.listen,
    protocol: e.protocol,
    tls: e.tls,
    ...(e.protocol === "tcp" ? { pool: spec.name } : { routes: [{ pool: spec.name }] }),
    timeouts: e.timeouts,
    maxConnections: e.maxConnections,
    maxHeaderBytes: e.maxHeaderBytes,
  }, baseDir);
  // No proxy-side health check: the agents' checks reach the proxy through the store at once,
  // and a second set of probes would only lag behind them (issue 10, deliver 6).
  const pool = toPoolSpec({ name: spec.name, algorithm: e.algorithm, hashOn: e.sticky, healthCheck: undefined, outlier: e.outlier, retry: e.retry }, []);
  return { frontend, pool };
}
