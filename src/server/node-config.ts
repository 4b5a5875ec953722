// The node config file of `phalanx agent --config FILE`, written by `phalanx init`, `join` and `dev`.
// Paths are relative to the file. Every timing has a documented default tuned for a LAN.
import { dirname, resolve } from "node:path";
import { stringify } from "yaml";
import { z } from "zod";
import { alertsConfigSchema } from "../alerts/config.js";
import { hostPortSchema } from "../config/address.js";
import { loadYamlConfig } from "../config/yaml.js";
import { vipSchema } from "../config/vip.js";
import { TRANSPORT_LIMITS_DEFAULT } from "../transport/limits.js";
import { frontsConfigSchema } from "../fronts/runtime/config.js";
import { checkFencingParams, type FencingParams } from "../failover/fencing.js";
import { DEFAULT_REPLICA_TUNING } from "./replica.js";
import { DEFAULT_FAILOVER_FENCING } from "./services/failover-agent.js";

/** Where instance output goes unless services.logDir says otherwise (relative to the config file). */
export const DEFAULT_SERVICES_LOG_DIR = "./logs";

/** Default TTL of the node lease (node.leaseTtlMs), kept alive every TTL/4. */
export const NODE_LEASE_TTL_MS_DEFAULT = 2000;

/** The timings a profile sets (docs/failover.md "Timing profiles"); a field set in the file wins. */
export interface TimingProfile {
  readonly raft: { readonly tickMs: number; readonly heartbeatTicks: number; readonly electionTicks: number };
  readonly nodeLeaseTtlMs: number;
  readonly fencingLeaseTtlMs: number;
  readonly fencingRenewIntervalMs: number;
  readonly fencingStopTimeoutMs: number;
  /** The leader's failover controller also runs a round this often without any change. */
  readonly failoverTickMs: number;
  /** The failover controller confirms leadership (a ReadIndex round) before deciding; the acquire commits through a quorum either way. */
  readonly failoverConfirmLeadership: boolean;
}

/**
 * `profile: default | fast`. Fast: a takeover in about a third of the time, for more heartbeat
 * traffic (Raft heartbeats every 20 ms, fencing keep-alives every 50 ms) and a holder that fences itself after
 * about 150 ms without an acknowledged keep-alive — an overloaded host (CPU starvation, GC, swap)
 * can demote a healthy active. The safety margins are derived as for the default (fencing.ts).
 */
export const TIMING_PROFILES: Readonly<Record<"default" | "fast", TimingProfile>> = {
  default: {
    raft: { tickMs: DEFAULT_REPLICA_TUNING.tickMs, heartbeatTicks: DEFAULT_REPLICA_TUNING.heartbeatTicks, electionTicks: DEFAULT_REPLICA_TUNING.electionTicks },
    nodeLeaseTtlMs: NODE_LEASE_TTL_MS_DEFAULT,
    fencingLeaseTtlMs: 1000,
    fencingRenewIntervalMs: 200,
    fencingStopTimeoutMs: 300,
    failoverTickMs: 500,
    failoverConfirmLeadership: true,
  },
  fast: {
    // Heartbeats every 20 ms, elections 200-400 ms (the client lease minimum, 1.5 longest election
    // timeouts, is then 600 ms); the leader checks lease expiry on every tick.
    raft: { tickMs: 20, heartbeatTicks: 1, electionTicks: 10 },
    nodeLeaseTtlMs: 1000,
    // The shortest the leader grants (MIN_FENCING_LEASE_TTL_MS). Acting ends 197 ms after the send
    // of the last acknowledged keep-alive (100 ms safety margin, 0.5 % clock rate error, as default).
    fencingLeaseTtlMs: 300,
    // Each keep-alive is a ReadIndex round on the leader: every 50 ms per node, three per fence window.
    fencingRenewIntervalMs: 50,
    // A fenced active gets 50 ms to stop (demote hook included) before the watchdog's SIGKILL; the
    // holder then fences itself 147 ms after the send of its last acknowledged keep-alive.
    fencingStopTimeoutMs: 50,
    failoverTickMs: 100,
    // Promotes in the round the expiry's apply starts, without a ReadIndex round first.
    failoverConfirmLeadership: false,
  },
};

export type TimingProfileName = keyof typeof TIMING_PROFILES;

const address = z.string().min(3).refine((s) => /^[^\s]+:\d{1,5}$/.test(s), { message: "Expected host:port" });
const listen = hostPortSchema({ allowPortZero: true });

const memberSchema = z.object({ id: z.number().int().positive(), name: z.string().min(1).max(64), peerAddress: address, clientAddress: address }).strict();

const nodeConfigObjectSchema = z.object({
  clusterId: z.string().min(1),
  node: z.object({
    id: z.number().int().positive(),
    name: z.string().min(1).max(64),
    dataDir: z.string().min(1),
    peerListen: listen,
    peerAdvertise: address,
    clientListen: listen,
    clientAdvertise: address,
    /** Serve the client API over TLS with this node's certificate; clients may then authenticate with a certificate of the cluster CA instead of the token. */
    clientTls: z.boolean().default(false),
    /** Labels services select nodes by (placement.labels, placement.spreadBy), registered with the node. */
    labels: z.record(z.string().min(1).max(63), z.string().max(256)).default({}),
    /**
     * TTL of the node lease, the node's heartbeat: its registration and instance reports vanish this
     * long after the node stops renewing (kill -9, partition), and its instances are replaced. At least
     * the replica's minimum lease TTL (1.5 election timeouts: 1500 ms with the default raft timings).
     */
    leaseTtlMs: z.number().int().min(1).max(600_000).optional(),
  }).strict(),
  /** Services (issue 10): run the instances the leader places on this node. */
  services: z.object({
    enabled: z.boolean().default(true),
    /** Where instance ports without a fixed number come from. */
    portRange: z.object({ from: z.number().int().min(1).max(65535), to: z.number().int().min(1).max(65535) }).strict().default({ from: 20_000, to: 29_999 }),
    /** Instance output also to DIR/SERVICE/INSTANCE.log (rotated by size: 10 MiB, 3 old files); relative to this file; default ./logs. */
    logDir: z.string().min(1).optional(),
    /**
     * Active-standby services (docs/failover.md): TTL of the node's fencing lease, the lease every
     * active record of the node hangs on (kept alive every TTL/5). A takeover waits about this long.
     * May be below the client lease minimum: an election longer than it only causes a failover.
     * Default from `profile` (1000 ms; fast: 300 ms).
     */
    fencingLeaseTtlMs: z.number().int().min(300).max(60_000).optional(),
    /** How often the agent renews the fencing lease; default from `profile` (200 ms; fast: 50 ms). */
    fencingRenewIntervalMs: z.number().int().min(10).max(30_000).optional(),
    /** How long an active may take to stop once fenced (demote hook + stop); the fencing watchdog kills it after. Default from `profile` (300 ms; fast: 50 ms). */
    fencingStopTimeoutMs: z.number().int().min(0).max(10_000).optional(),
  }).strict().default({}),
  /** Directory with ca.crt, node.crt, node.key (and ca.key on the first node). */
  pkiDir: z.string().min(1),
  /** File holding the clients' bearer token (KV, leases, watches, status). */
  tokenFile: z.string().min(1),
  /**
   * File holding the admin bearer token (members, leadership transfer, snapshot download). Optional
   * in the schema only so that a config written before it existed gets a precise error below.
   */
  adminTokenFile: z.string().min(1).optional(),
  /** SHA-256 of the join token. */
  joinTokenHash: z.string().regex(/^[0-9a-f]{64}$/, "must be a hex SHA-256"),
  /** Members at bootstrap (all voters of a new cluster), or the members a joining node was told of. */
  members: z.array(memberSchema).min(1),
  /** True for a node that joined: it starts with no membership and learns it from the leader. */
  joined: z.boolean().default(false),
  /**
   * One switch for every failover timing left unset below (TIMING_PROFILES): `default`, or `fast`
   * for takeovers in about a third of the time at the cost described in docs/failover.md.
   */
  profile: z.enum(["default", "fast"]).default("default"),
  raft: z.object({
    /** tickMs, heartbeatTicks, electionTicks: default from `profile` (50 ms, 1, 10; fast: 20 ms, 1, 10). */
    tickMs: z.number().int().min(1).max(10_000).optional(),
    heartbeatTicks: z.number().int().min(1).optional(),
    electionTicks: z.number().int().min(2).optional(),
    snapshotEveryEntries: z.number().int().min(10).default(DEFAULT_REPLICA_TUNING.snapshotEveryEntries),
    /** Payload bytes a leader lets wait uncommitted before it answers "overloaded" (0: no limit). */
    maxUncommittedBytes: z.number().int().min(0).default(DEFAULT_REPLICA_TUNING.maxUncommittedBytes),
  }).strict().default({}),
  /** Peer transport bounds (src/transport/limits.ts); the rest keep their defaults. */
  transport: z.object({
    /** Largest snapshot this node sends or accepts from a peer (held whole in memory while it arrives). */
    maxSnapshotBytes: z.number().int().min(1).max(TRANSPORT_LIMITS_DEFAULT.maxSnapshotBytes).default(TRANSPORT_LIMITS_DEFAULT.maxSnapshotBytes),
  }).strict().default({}),
  /**
   * The load balancer every node runs for the services that declare `expose` (src/server/node-proxy.ts):
   * it listens only while some service is exposed. `bindHost` replaces the host of every expose.listen
   * on this node (for several nodes on one machine, or one interface of many); `admin` serves the
   * proxy's /metrics and /healthz.
   */
  proxy: z.object({
    enabled: z.boolean().default(true),
    bindHost: z.string().min(1).max(255).optional(),
    admin: listen.optional(),
    /** Time a removed frontend gets to finish its requests, and the proxy on shutdown. */
    drainGraceMs: z.number().int().min(0).max(600_000).default(10_000),
  }).strict().default({}),
  log: z.object({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info") }).strict().default({}),
  /**
   * The cluster VIP (docs/cluster-vip.md): one address for the admin API, the balancer and the fronts,
   * held by one node at a time through the same consensus role and fencing as a service's `vip:`.
   * Set it on every node that may hold it, with the SAME address (the leader only hands the role to
   * nodes that publish the address most nodes publish); the interface may differ per host.
   * Needs services.enabled (checked by nodeConfigFileSchema).
   */
  clusterVip: vipSchema.optional(),
  /** Alert channels, thresholds and delivery bounds (src/alerts/config.ts); no channels: alerts are only logged. */
  alerts: alertsConfigSchema.default({}),
  /** Redis (RESP) and memcached protocol fronts for shared sessions (src/fronts/README.md); off by default. */
  fronts: frontsConfigSchema,
}).strict();

export const nodeConfigSchema = nodeConfigObjectSchema.superRefine((c, ctx) => {
  if (c.adminTokenFile === undefined) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["adminTokenFile"],
      message: "Missing required field \"adminTokenFile\": this config predates the admin token (cluster operations now need a token of their own)",
      params: { hint: "write a new random token beside tokenFile (`openssl rand -base64 24 > admin-token; chmod 600 admin-token`), add `adminTokenFile: ./admin-token` here and on every node, and give it to operators" },
    });
  }
}).transform((c, ctx) => {
  const resolved = applyTimingProfile(c);
  for (const issue of timingIssues(resolved)) ctx.addIssue({ code: z.ZodIssueCode.custom, ...issue });
  return resolved;
});

type ParsedConfig = z.output<typeof nodeConfigObjectSchema>;

/** Fills every timing the file leaves unset from its profile. */
function applyTimingProfile(c: ParsedConfig) {
  const p = TIMING_PROFILES[c.profile];
  return {
    ...c,
    node: { ...c.node, leaseTtlMs: c.node.leaseTtlMs ?? p.nodeLeaseTtlMs },
    services: {
      ...c.services,
      fencingLeaseTtlMs: c.services.fencingLeaseTtlMs ?? p.fencingLeaseTtlMs,
      fencingRenewIntervalMs: c.services.fencingRenewIntervalMs ?? p.fencingRenewIntervalMs,
      fencingStopTimeoutMs: c.services.fencingStopTimeoutMs ?? p.fencingStopTimeoutMs,
      failoverTickMs: p.failoverTickMs,
      failoverConfirmLeadership: p.failoverConfirmLeadership,
    },
    raft: {
      ...c.raft,
      tickMs: c.raft.tickMs ?? p.raft.tickMs,
      heartbeatTicks: c.raft.heartbeatTicks ?? p.raft.heartbeatTicks,
      electionTicks: c.raft.electionTicks ?? p.raft.electionTicks,
    },
  };
}

/** The fencing settings the agent runs with (the margin and clock-rate bound are never profiled). */
export function fencingParamsOf(services: { fencingLeaseTtlMs: number; fencingRenewIntervalMs: number; fencingStopTimeoutMs: number }): FencingParams {
  return { ...DEFAULT_FAILOVER_FENCING, leaseTtlMs: services.fencingLeaseTtlMs, renewIntervalMs: services.fencingRenewIntervalMs, stopTimeoutMs: services.fencingStopTimeoutMs };
}

/** Timings that cannot work together, with the field to change (checked after the profile is applied). */
function timingIssues(c: ReturnType<typeof applyTimingProfile>): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const fencing = checkFencingParams(fencingParamsOf(c.services));
  if (c.services.enabled && fencing !== null) {
    out.push({ path: ["services", "fencingLeaseTtlMs"], message: `services.fencingLeaseTtlMs ${c.services.fencingLeaseTtlMs}, fencingRenewIntervalMs ${c.services.fencingRenewIntervalMs}, fencingStopTimeoutMs ${c.services.fencingStopTimeoutMs} (profile ${c.profile}): ${fencing}` });
  }
  if (c.raft.heartbeatTicks >= c.raft.electionTicks) {
    out.push({ path: ["raft", "heartbeatTicks"], message: `raft.heartbeatTicks ${c.raft.heartbeatTicks} must be below raft.electionTicks ${c.raft.electionTicks} (profile ${c.profile}): followers would start elections between heartbeats` });
  }
  return out;
}

/** A validated node config, with paths resolved against the file's directory. */
export type NodeConfig = Omit<z.output<typeof nodeConfigSchema>, "adminTokenFile"> & { readonly adminTokenFile: string; readonly file: string };
/** What a config file holds before defaults and path resolution. */
export type NodeConfigInput = z.input<typeof nodeConfigSchema>;

/** Rules between sections, beside the schema's own: the cluster VIP's role lives on the services agent's fencing lease. */
function clusterVipNeedsServices(c: { readonly clusterVip?: unknown; readonly services: { readonly enabled: boolean } }, ctx: z.RefinementCtx): void {
  if (c.clusterVip === undefined || c.services.enabled) return;
  ctx.addIssue({
    code: z.ZodIssueCode.custom,
    path: ["clusterVip"],
    message: "clusterVip needs services.enabled: the cluster VIP follows a role held on the services agent's fencing lease",
    params: { hint: "remove services.enabled: false, or remove clusterVip from this node (it then never holds the cluster VIP)" },
  });
}

/** What a node config file must satisfy: the schema and the rules between its sections. */
export const nodeConfigFileSchema = nodeConfigSchema.superRefine(clusterVipNeedsServices);

/** Reads and validates a node config file; throws ConfigError naming file, line, field and fix. */
export async function loadNodeConfig(file: string): Promise<NodeConfig> {
  const raw = await loadYamlConfig(file, nodeConfigFileSchema);
  const base = dirname(resolve(file));
  const adminTokenFile = raw.adminTokenFile;
  if (adminTokenFile === undefined) throw new Error(`Cannot load ${file}: adminTokenFile is missing although the schema requires it`);
  return {
    ...raw,
    file: resolve(file),
    pkiDir: resolve(base, raw.pkiDir),
    tokenFile: resolve(base, raw.tokenFile),
    adminTokenFile: resolve(base, adminTokenFile),
    node: { ...raw.node, dataDir: resolve(base, raw.node.dataDir) },
    // Instance output goes to files by default (for `phalanx logs`), beside the data directory.
    services: { ...raw.services, logDir: resolve(base, raw.services.logDir ?? DEFAULT_SERVICES_LOG_DIR) },
  };
}

/** Renders a config as YAML with a header comment. */
export function renderNodeConfig(config: NodeConfigInput): string {
  return `# Phalanx node config: run it with \`phalanx agent --config <this file>\`.\n# Paths are relative to this file.\n${stringify(config)}`;
}
