// Every node's load balancer for exposed services (issue 10, deliver 6): a ProxyRuntime in the
// node's own process, fed by a ServiceConfigSource over this node's replica of the store. It serves
// each exposed service's `expose.listen` and routes only to the service's routable instances.
import type { Logger } from "pino";
import { BUILTIN_FRONTEND_FACTORIES } from "../proxy/runtime/factories.js";
import { ProxyRuntime, type ApplyResult } from "../proxy/runtime/runtime.js";
import { ServiceConfigSource } from "../proxy/runtime/serviceSource.js";
import type { ProxyConfig } from "../config/proxy.js";
import type { ListenAddress } from "../proxy/types.js";
import type { Replica } from "./replica.js";
import { kvWatchClientFromReplica } from "./replica-watch-client.js";

/** The proxy part of a node config (node-config.ts `proxy:`). */
export interface NodeProxySettings {
  readonly enabled: boolean;
  readonly bindHost?: string | undefined;
  readonly admin?: ListenAddress | undefined;
  readonly drainGraceMs: number;
}

/** A running node proxy. */
export interface NodeProxy {
  readonly runtime: ProxyRuntime;
  /** Resolves once the config of the store as this node sees it now is applied (tests, status). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the node's proxy, or returns null when the config turns it off. Never throws for a frontend
 * that cannot listen (a port in use): that is logged and retried on the next change.
 */
export async function startNodeProxy(replica: Replica, settings: NodeProxySettings, logger: Logger): Promise<NodeProxy | null> {
  if (!settings.enabled) return null;
  const log = logger.child({ part: "proxy" });
  const runtime = new ProxyRuntime({ logger: log, factories: BUILTIN_FRONTEND_FACTORIES, drainGraceMs: settings.drainGraceMs });
  const source = new ServiceConfigSource(kvWatchClientFromReplica(replica), {
    ...(settings.bindHost !== undefined ? { bindHost: settings.bindHost } : {}),
    admin: settings.admin ?? null,
  });
  let last: Promise<ApplyResult | void> = Promise.resolve();
  const apply = (config: ProxyConfig): void => {
    last = runtime.apply(config).then(
      (result) => {
        for (const f of result.failures) log.error({ frontend: f.frontend, err: f.error }, `Cannot serve service ${f.frontend}: ${f.error.message}`);
      },
      (err: unknown) => log.error({ err }, `Cannot apply the services' proxy config: ${(err as Error).message}`),
    );
  };
  const first = await source.start({ onConfig: apply, onError: (err) => log.warn({ err }, err.message) });
  apply(first);
  return {
    runtime,
    settled: async () => {
      for (;;) {
        const waiting = last;
        await waiting;
        if (waiting === last) return;
      }
    },
    async stop() {
      source.stop();
      await runtime.stop(settings.drainGraceMs);
    },
  };
}
