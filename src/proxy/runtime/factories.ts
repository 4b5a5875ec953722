// How the runtime builds frontends. The HTTP and TCP frontends live in proxy/http and proxy/tcp;
// they are loaded by module path so that the runtime builds and tests even while one of them is
// missing (a frontend of that protocol is then refused with a clear error).
import type { Logger } from "pino";
import type { Frontend, FrontendSpec, PoolResolver, ProxyMetrics } from "../types.js";

/** What every frontend factory receives besides its spec. */
export interface FrontendDeps {
  readonly pools: PoolResolver;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
}

/** Builds a frontend (not yet listening). */
export type FrontendFactory = (spec: FrontendSpec, deps: FrontendDeps) => Frontend;

/** Factories by kind: `http` serves both http and https frontends. */
export interface FrontendFactories {
  readonly http?: FrontendFactory;
  readonly tcp?: FrontendFactory;
}

/** The factory for a protocol, or undefined when its module is not available. */
export function factoryFor(factories: FrontendFactories, protocol: FrontendSpec["protocol"]): FrontendFactory | undefined {
  return protocol === "tcp" ? factories.tcp : factories.http;
}

async function loadFactory(specifier: string, exportName: string): Promise<FrontendFactory | undefined> {
  try {
    const mod = (await import(specifier)) as Record<string, unknown>;
    const candidate = mod[exportName];
    return typeof candidate === "function" ? (candidate as FrontendFactory) : undefined;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw err;
  }
}

/** Loads createHttpFrontend and createTcpFrontend from proxy/http and proxy/tcp when present. */
export async function loadFrontendFactories(): Promise<FrontendFactories> {
  // Resolved relative to this file, so it works from src (tsx) and from dist (compiled).
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const [http, tcp] = await Promise.all([
    loadFactory(new URL(`../http/frontend.${ext}`, import.meta.url).href, "createHttpFrontend"),
    loadFactory(new URL(`../tcp/frontend.${ext}`, import.meta.url).href, "createTcpFrontend"),
  ]);
  return { ...(http ? { http } : {}), ...(tcp ? { tcp } : {}) };
}
