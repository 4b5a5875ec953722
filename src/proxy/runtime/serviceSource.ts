// A config source for services: every exposed service in the store becomes a frontend and a pool
// (exposeToProxy, the same normalisers as a proxy config file), and each pool's backends are the
// service's routable instances (serviceRouting.ts). Four prefixes are followed live:
//
//   /phalanx/specs/<service>               { spec, revision, appliedAtMs }    frontends and pool settings
//   /phalanx/instances/<node>/<instance>   the agent's instance report         backends
//   /phalanx/nodes/<node>                  the node's registration (lease)     instances of live nodes only
//   /phalanx/drain/<node>                  { sinceMs }                         drains
//   /phalanx/active/<service>              { node, ... } (src/failover)        an active-standby service's only backend node
//
// An instance stops receiving new requests in the apply that deletes its key (its node's lease
// expired or the agent removed it) or reports it unhealthy, without waiting for any proxy-side
// probe; the pool's passive outlier detection and retries remain as a second opinion against an
// instance that dies between two reports. A broken watch resumes from the next revision and the
// copy keeps its keys meanwhile, so a transient store error never drops a healthy backend.
import type { ProxyConfig } from "../../config/proxy.js";
import { exposeToProxy } from "../../config/expose.js";
import type { ServiceSpec } from "../../config/service.js";
import type { FrontendSpec, ListenAddress } from "../types.js";
import { PrefixMirror } from "./prefixMirror.js";
import { parseInstanceRecord, routableBackends, type InstanceEntry, type NodeEntry } from "./serviceRouting.js";
import type { ConfigSink, ConfigSource } from "./source.js";
import { StoreConfigError, type KvWatchClient } from "./storeSource.js";

/** The prefixes of the services layout. */
export const SERVICE_PREFIXES = {
  specs: "/phalanx/specs/",
  instances: "/phalanx/instances/",
  nodes: "/phalanx/nodes/",
  drain: "/phalanx/drain/",
  active: "/phalanx/active/",
} as const;

/** Options of a service source. */
export interface ServiceSourceOptions {
  /** Serve every exposed frontend on this host instead of the host in its `expose.listen` (port kept). */
  readonly bindHost?: string;
  /** Admin listener (/metrics, /healthz) of the proxy; none when null or left out. */
  readonly admin?: ListenAddress | null;
  /** Directory relative TLS file names in `expose.tls` are resolved against. */
  readonly baseDir?: string;
}

/** Config assembled from the services in the store. */
export class ServiceConfigSource implements ConfigSource {
  private readonly mirrors: { specs: PrefixMirror; instances: PrefixMirror; nodes: PrefixMirror; drain: PrefixMirror; active: PrefixMirror };
  private sink: ConfigSink | null = null;
  private lastJson = "";
  private started = false;
  /** Keys already reported as invalid, with the value reported (each bad value is logged once). */
  private readonly reported = new Map<string, string>();

  constructor(client: KvWatchClient, private readonly options: ServiceSourceOptions = {}) {
    const listener = { onChange: () => this.changed(), onError: (error: Error) => this.sink?.onError(error) };
    this.mirrors = {
      specs: new PrefixMirror(SERVICE_PREFIXES.specs, client, listener),
      instances: new PrefixMirror(SERVICE_PREFIXES.instances, client, listener),
      nodes: new PrefixMirror(SERVICE_PREFIXES.nodes, client, listener),
      drain: new PrefixMirror(SERVICE_PREFIXES.drain, client, listener),
      active: new PrefixMirror(SERVICE_PREFIXES.active, client, listener),
    };
  }

  async start(sink: ConfigSink): Promise<ProxyConfig> {
    this.sink = sink;
    const all = Object.values(this.mirrors);
    try {
      await Promise.all(all.map((m) => m.start()));
    } catch (err) {
      for (const m of all) m.stop();
      throw err;
    }
    this.started = true;
    const config = this.assemble();
    this.lastJson = JSON.stringify(config);
    return config;
  }

  stop(): void {
    for (const m of Object.values(this.mirrors)) m.stop();
    this.sink = null;
  }

  private changed(): void {
    if (!this.started || this.sink === null) return;
    const config = this.assemble();
    const json = JSON.stringify(config);
    // Most instance reports (restart counts, messages) change no backend: skip those applies.
    if (json === this.lastJson) return;
    this.lastJson = json;
    this.sink.onConfig(config);
  }

  /** Builds the config from the keys held now; bad keys are reported once and skipped. */
  assemble(): ProxyConfig {
    const nodes = new Map<string, NodeEntry>();
    for (const [key, v] of this.mirrors.nodes.values) nodes.set(key.slice(SERVICE_PREFIXES.nodes.length), { lease: v.lease });
    const draining = new Set([...this.mirrors.drain.values.keys()].map((k) => k.slice(SERVICE_PREFIXES.drain.length)));
    const instances: InstanceEntry[] = [];
    for (const [key, v] of this.mirrors.instances.values) {
      const rest = key.slice(SERVICE_PREFIXES.instances.length).split("/");
      if (rest.length !== 2 || rest[0] === "") {
        this.report(key, v.value, `unknown key layout; expected ${SERVICE_PREFIXES.instances}<node>/<instance>`);
        continue;
      }
      const record = parseInstanceRecord(v.value);
      if (typeof record === "string") this.report(key, v.value, record);
      else instances.push({ nodeId: rest[0] as string, key, record, lease: v.lease });
    }
    const view = { instances, nodes, draining };
    const frontends: FrontendSpec[] = [];
    const pools: ProxyConfig["pools"][number][] = [];
    const listens = new Map<string, string>();
    for (const key of [...this.mirrors.specs.values.keys()].sort()) {
      const raw = this.mirrors.specs.values.get(key)?.value ?? "";
      const spec = parseStoredSpec(raw);
      if (typeof spec === "string") {
        this.report(key, raw, spec);
        continue;
      }
      let exposed: ReturnType<typeof exposeToProxy>;
      try {
        exposed = exposeToProxy(spec, this.options.baseDir ?? "/");
      } catch (err) {
        this.report(key, raw, `expose cannot be served: ${(err as Error).message}`);
        continue;
      }
      if (exposed === null || spec.expose === null) continue;
      const listen = this.options.bindHost === undefined ? exposed.frontend.listen : { host: this.options.bindHost, port: exposed.frontend.listen.port };
      const at = `${listen.host}:${listen.port}`;
      const clash = listens.get(at);
      if (clash !== undefined) {
        this.report(key, raw, `expose.listen ${at} is already served for service ${clash}; give each service its own port`);
        continue;
      }
      listens.set(at, spec.name);
      frontends.push({ ...exposed.frontend, listen });
      pools.push({ ...exposed.pool, backends: routableBackends({ name: spec.name, replicas: spec.replicas, port: spec.expose.port }, this.routingView(spec, view)) });
    }
    return { admin: this.options.admin ?? null, frontends, pools };
  }

  /** An active-standby service is routed only to the instance on the node its active record names (none while no record exists). */
  private routingView(spec: ServiceSpec, view: { instances: InstanceEntry[]; nodes: Map<string, NodeEntry>; draining: Set<string> }): typeof view {
    if (spec.mode !== "active-standby") return view;
    let holder: string | null = null;
    try {
      const raw = this.mirrors.active.values.get(`${SERVICE_PREFIXES.active}${spec.name}`)?.value;
      const node = raw === undefined ? undefined : (JSON.parse(raw) as { node?: unknown }).node;
      if (typeof node === "number") holder = String(node);
    } catch {
      holder = null;
    }
    return { ...view, instances: view.instances.filter((e) => e.record.service !== spec.name || e.nodeId === holder) };
  }

  private report(key: string, value: string, detail: string): void {
    if (this.reported.get(key) === value) return;
    this.reported.set(key, value);
    if (this.reported.size > 10_000) this.reported.clear();
    this.sink?.onError(new StoreConfigError(key, detail));
  }
}

/**
 * Reads a /phalanx/specs value. The leader validated the spec before storing it, so only the fields
 * the proxy depends on are checked here (a value from a newer or broken writer is skipped, not trusted).
 */
function parseStoredSpec(raw: string): ServiceSpec | string {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    return `value is not JSON: ${(err as Error).message}`;
  }
  const spec = (v as { spec?: unknown } | null)?.spec;
  if (typeof spec !== "object" || spec === null) return "field spec must be an object (the stored service spec)";
  const s = spec as Record<string, unknown>;
  if (typeof s.name !== "string") return "spec.name must be a string";
  if (typeof s.replicas !== "number") return "spec.replicas must be a number";
  if (s.expose === null || s.expose === undefined) return { ...(s as unknown as ServiceSpec), expose: null };
  const e = s.expose as Record<string, unknown>;
  const listen = e.listen as { host?: unknown; port?: unknown } | undefined;
  if (typeof listen?.host !== "string" || typeof listen.port !== "number") return "spec.expose.listen must be { host, port }";
  if (typeof e.port !== "string") return "spec.expose.port must name a port of the service";
  for (const field of ["protocol", "algorithm", "timeouts", "outlier", "retry"] as const) {
    if (e[field] === undefined) return `spec.expose.${field} is missing`;
  }
  return s as unknown as ServiceSpec;
}
