// How the runtime builds frontends. The HTTP and TCP frontends are imported statically: a broken
// import fails when the program (or a test) loads, never later as a protocol the running proxy
// refuses. Tests inject their own factories through the same interface.
import type { Logger } from "pino";
import { createHttpFrontend } from "../http/frontend.js";
import { createTcpFrontend } from "../tcp/frontend.js";
import type { Frontend, FrontendSpec, PoolResolver, ProxyMetrics } from "../types.js";

/** What every frontend factory receives besides its spec. */
export interface FrontendDeps {
  readonly pools: PoolResolver;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
}

/** Builds a frontend (not yet listening). */
export type FrontendFactory = (spec: FrontendSpec, deps: FrontendDeps) => Frontend;

/**
 * Factories by kind: `http` serves both http and https frontends. A set a test injects may leave
 * one out; the runtime then refuses configs that use that protocol.
 */
export interface FrontendFactories {
  readonly http?: FrontendFactory;
  readonly tcp?: FrontendFactory;
}

/** The frontends built into this program. */
export const BUILTIN_FRONTEND_FACTORIES: Required<FrontendFactories> = {
  http: createHttpFrontend,
  tcp: createTcpFrontend,
};

/** The factory for a protocol, or undefined when the given set has none for it. */
export function factoryFor(factories: FrontendFactories, protocol: FrontendSpec["protocol"]): FrontendFactory | undefined {
  return protocol === "tcp" ? factories.tcp : factories.http;
}
