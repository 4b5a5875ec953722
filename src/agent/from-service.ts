// From a validated service spec (config/service.ts) to what the supervisor runs for one of its
// instances. The shapes were kept field for field; what differs: ports carry no number here unless
// fixed (the supervisor picks the rest), and a service always restarts its instances (its
// `restart` has no policy: a service is meant to keep running; `maxRestarts` bounds the tries).
import type { ServiceSpec } from "../config/service.js";
import type { InstanceSpec } from "./core/types.js";

/** The InstanceSpec of instance `instanceId` of `service`. */
export function instanceSpecFromService(service: ServiceSpec, instanceId: string): InstanceSpec {
  return {
    service: service.name,
    instanceId,
    run: { command: service.run.command, args: [...service.run.args] },
    ...(service.cwd !== undefined ? { cwd: service.cwd } : {}),
    env: { ...service.env },
    ...(service.user !== undefined ? { user: service.user } : {}),
    ports: service.ports.map((p) => (p.port === null ? { name: p.name, env: p.env } : { name: p.name, env: p.env, port: p.port })),
    ...(service.healthCheck !== undefined ? { healthCheck: service.healthCheck } : {}),
    restart: { policy: "always", ...service.restart },
    stop: { signal: service.stop.signal, timeoutMs: service.stop.timeoutMs },
  };
}
