// One node process: opens its storage, starts the peer transport (mutual TLS), the replica and the
// client API, and runs the leader's housekeeping (member records, learner promotion, joins).
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import type { Logger } from "pino";
import { nodeId } from "../raft/raft.js";
import type { NodeId } from "../raft/raft.js";
import { loadNodeCredentials } from "../pki/files.js";
import { openStorage } from "../storage/storage.js";
import type { Storage } from "../storage/storage.js";
import { createTlsTransport } from "../transport/tls-transport.js";
import type { TlsTransport } from "../transport/tls-transport.js";
import { Replica } from "./replica.js";
import { ServerError } from "./errors.js";
import { LeaderForwarder } from "./forward.js";
import { startNodeProxy, type NodeProxy } from "./node-proxy.js";
import { createClientApiHandler } from "./http-api.js";
import type { ApiTokens } from "./access.js";
import { MEMBER_PREFIX, MemberDirectory } from "./members.js";
import { fencingParamsOf, type NodeConfig } from "./node-config.js";
import { NodeMetrics } from "./node-metrics.js";
import { ClusterHousekeeper } from "./housekeeper.js";
import { adminRoutes } from "./admin-routes.js";
import { PhalanxClient } from "../client/client.js";
import { Supervisor } from "../agent/supervisor.js";
import { ServiceController } from "./services/controller.js";
import { FailoverController } from "./services/failover-controller.js";
import { checkFencingParams, type FencingParams } from "../failover/fencing.js";
import { NodeAgent } from "./services/node-agent.js";
import type { NodeRecord } from "./services/layout.js";
import { PHALANX_NODE_VERSION } from "./services/version.js";
import { ACTIVE_PREFIX } from "./services/layout.js";
import { readServicesView } from "./services/view.js";
import { ClusterMetrics } from "./cluster-metrics.js";
import { knownSkews, ownSkewMs } from "./clock-skew.js";
import { AgentMetrics } from "./agent-metrics.js";
import { createChannels } from "../alerts/channels.js";
import { AlertManager } from "../alerts/manager.js";
import { agentRelay, startFronts } from "../fronts/runtime/start.js";
import { clusterVipOfNode } from "./cluster-vip-config.js";
import { createDashboard, type Dashboard } from "./dashboard/routes.js";
import type { RunningFronts } from "../fronts/runtime/start.js";

/** A running node. */
export interface RunningNode {
  readonly id: NodeId;
  readonly replica: Replica;
  readonly clientAddress: string;
  readonly peerAddress: string;
  /** The load balancer for exposed services; null when `proxy.enabled` is false. */
  readonly proxy: NodeProxy | null;
  /** The session fronts; null when both are off. */
  readonly fronts: RunningFronts | null;
  stop(): Promise<void>;
}

/** Options of startNode besides the config. */
export interface StartNodeOptions {
  readonly onRemoved?: () => void;
  /** Wall clock (epoch ms) the node compares with its peers' (transport/clock.ts); tests give a node an offset. */
  readonly wallClockMs?: () => number;
}

/** Starts a node from its config. */
export async function startNode(config: NodeConfig, logger: Logger = pino({ level: config.log.level }), options: StartNodeOptions = {}): Promise<RunningNode> {
  const id = nodeId(config.node.id);
  const log = logger.child({ node: id });
  const tokens = await readApiTokens(config);
  const credentials = await loadNodeCredentials(config.pkiDir);
  const bootstrapVoters = config.joined ? null : { voters: config.members.map((m) => nodeId(m.id)), learners: [] };
  const clusterVip = clusterVipOfNode(config, log);
  const { storage, restored, warnings } = await openStorage(config.node.dataDir, { bootstrap: bootstrapVoters });
  for (const w of warnings) log.warn(w);
  await checkIdentity(storage, config, id);

  let transport: TlsTransport | null = null;
  let proxy: NodeProxy | null = null;
  let server: Server | null = null;
  let replica: Replica | null = null;
  let forwarder: LeaderForwarder | null = null;
  let housekeeper: ClusterHousekeeper | null = null;
  let controller: ServiceController | null = null;
  let failoverController: FailoverController | null = null;
  let nodeAgent: NodeAgent | null = null;
  let agentClient: PhalanxClient | null = null;
  let alerts: AlertManager | null = null;
  let fronts: RunningFronts | null = null;
  let dashboard: Dashboard | null = null;
  try {
    transport = await createTlsTransport({
      nodeId: id,
      clusterId: config.clusterId,
      credentials,
      listenHost: config.node.peerListen.host,
      listenPort: config.node.peerListen.port,
      limits: { maxSnapshotBytes: config.transport.maxSnapshotBytes },
      logger: log.child({ part: "transport" }),
      ...(options.wallClockMs === undefined ? {} : { clock: { wallMs: options.wallClockMs } }),
    });
    const members = new MemberDirectory(config.members.map((m) => ({ ...m, id: nodeId(m.id) })));
    const peers = new PeerSync(id, members, transport);
    const metrics: NodeMetrics = new NodeMetrics({ status: () => r.status(), appliedIndex: () => r.kv.appliedIndex, pendingProposals: () => r.pendingProposals });
    storage.observeFsync((seconds) => {
      metrics.fsync(seconds);
      alerts?.fsync(seconds);
    });
    const r: Replica = new Replica({
      id,
      storage,
      restored,
      transport,
      logger: log.child({ part: "raft" }),
      tuning: config.raft,
      metrics,
      onRemoved: () => options.onRemoved?.(),
      onApplied: (batch) => {
        if (batch.changedKeys.some((k) => k.startsWith(MEMBER_PREFIX))) peers.refresh(r.localPrefix(MEMBER_PREFIX));
        controller?.changed(batch.changedKeys);
        failoverController?.changed(batch.changedKeys);
        nodeAgent?.changed(batch.changedKeys);
      },
    });
    replica = r;
    if (config.services.enabled && config.node.leaseTtlMs < r.minLeaseTtlMs) {
      throw new ServerError("bad_request", `node.leaseTtlMs ${config.node.leaseTtlMs} in ${config.file} is below the minimum lease TTL of ${r.minLeaseTtlMs} ms (1.5 election timeouts): raise it`);
    }
    peers.refresh(r.localPrefix(MEMBER_PREFIX));
    const clientTls = config.node.clientTls;
    forwarder = new LeaderForwarder(members, clientTls ? "https" : "http", log, clientTls ? { ca: credentials.caCertPem, cert: credentials.certPem, key: credentials.keyPem } : undefined);
    housekeeper = new ClusterHousekeeper(r, members, config, log.child({ part: "housekeeper" }));
    const tlsTransport = transport;
    const clocks = { status: () => r.status(), clockView: () => tlsTransport.clockView() };
    alerts = new AlertManager({ replica: r, config: config.alerts, channels: await createChannels(config.alerts, config.file), clusterId: config.clusterId,
      logger: log.child({ part: "alerts" }), peerLinks: () => tlsTransport.stats().peers, clockSkews: () => knownSkews(clocks) });
    const clusterMetrics = new ClusterMetrics(metrics.registry, {
      members: () => {
        const links = new Map(tlsTransport.stats().peers.map((p) => [p.id, p.connected]));
        const { confState } = r.status();
        return [...confState.voters, ...confState.learners].map((m) => ({ id: m, up: m === id || links.get(m) === true }));
      },
      services: () => readServicesView((p) => r.localPrefix(p), r.kv.revision),
      actives: () => r.localPrefix(ACTIVE_PREFIX),
      clockSkews: () => knownSkews(clocks),
    });
    const agentMetrics = new AgentMetrics(metrics.registry);
    const routes = adminRoutes({ replica: r, members, config, housekeeper, forwarder, credentials, alerts, localActiveStatus: (service) => nodeAgent?.failover.status(service) ?? null,
      ownClockSkewMs: () => ownSkewMs(clocks) });
    dashboard = createDashboard({ replica: r, members, config, peerLinks: () => tlsTransport.stats().peers, alerts, proxy: () => proxy?.runtime ?? null,
      fronts: () => fronts, forwarder, adminToken: tokens.admin, logger: log.child({ part: "dashboard" }), clockSkews: () => knownSkews(clocks), ownClockSkewMs: () => ownSkewMs(clocks) });
    for (const [key, route] of dashboard.routes) routes.set(key, route);
    const handler = createClientApiHandler({ replica: r, clusterId: config.clusterId, tokens, forwarder, logger: log.child({ part: "api" }), routes, pages: dashboard.pages,
      // The balancer's series live in the proxy's own registry; one /metrics serves both.
      metrics: async () => (await metrics.text()) + (proxy === null ? "" : await proxy.runtime.metrics.text()), onAnswered: (path, status) => metrics.request(path, status) });
    // With clientTls, a client certificate of the cluster CA authenticates on its own; the token still works too.
    server = clientTls
      ? createHttpsServer({ keepAliveTimeout: 65_000, ca: credentials.caCertPem, cert: credentials.certPem, key: credentials.keyPem, requestCert: true, rejectUnauthorized: false }, handler)
      : createServer({ keepAliveTimeout: 65_000 }, handler);
    await listen(server, config.node.clientListen.host, config.node.clientListen.port);
    proxy = await startNodeProxy(r, config.proxy, log);
    r.start();
    dashboard.start();
    housekeeper.start();
    controller = new ServiceController({ replica: r, logger: log.child({ part: "controller" }), alerts });
    controller.start();
    failoverController = new FailoverController({ replica: r, logger: log.child({ part: "failover-controller" }), alerts, tickMs: config.services.failoverTickMs, confirmLeadership: config.services.failoverConfirmLeadership,
      onFailoverEnded: (outcome, ms) => clusterMetrics.failoverEnded(outcome, ms), onPromoted: () => clusterMetrics.promoted() });
    failoverController.start();
    if (config.services.enabled) {
      // Short deadlines: a keep-alive slower than half the lease is as good as lost, and a stopping
      // node must not wait long on a cluster without quorum to remove its keys (the lease does it).
      agentClient = new PhalanxClient({
        endpoints: [config.node.clientAdvertise],
        timeoutMs: Math.max(1000, Math.floor(config.node.leaseTtlMs / 2)),
        maxAttempts: 2,
        token: tokens.admin ?? "",
        ...(clientTls ? { tls: { ca: credentials.caCertPem, cert: credentials.certPem, key: credentials.keyPem } } : {}),
      });
      const supervisor = new Supervisor({ logger: log.child({ part: "supervisor" }), portRange: config.services.portRange, onCheck: agentMetrics.checked, ...(config.services.logDir !== undefined ? { logDir: config.services.logDir } : {}) });
      const record: NodeRecord = {
        id, name: config.node.name, labels: config.node.labels, host: hostOf(config.node.clientAdvertise),
        clientAddress: config.node.clientAdvertise, startedAtMs: Date.now(), version: PHALANX_NODE_VERSION,
        ...(clusterVip !== null ? { clusterVip: clusterVip.cidr } : {}),
      };
      const fencing: FencingParams = fencingParamsOf(config.services);
      const fencingProblem = checkFencingParams(fencing);
      if (fencingProblem !== null) throw new ServerError("bad_request", `services.fencingLeaseTtlMs / fencingRenewIntervalMs / fencingStopTimeoutMs (profile ${config.profile}) in ${config.file}: ${fencingProblem}`);
      nodeAgent = new NodeAgent({ replica: r, client: agentClient, supervisor, logger: log.child({ part: "services" }), record, leaseTtlMs: config.node.leaseTtlMs, fencing, onDemoted: agentMetrics.demoted });
      if (clusterVip !== null && config.clusterVip !== undefined) nodeAgent.failover.followClusterVip(config.clusterVip);
      nodeAgent.start();
    }
    alerts.start();
    fronts = await startFronts(config.fronts, { replica: r, relay: agentRelay(forwarder, tokens.client), clientToken: tokens.client, adminToken: tokens.admin, logger: log, onCommand: agentMetrics.frontCommand });
    log.info({ peer: transport.address(), client: addressOf(server), members: members.all().length }, "node started");
  } catch (err) {
    dashboard?.stop();
    await fronts?.stop();
    await nodeAgent?.stop().catch(() => undefined);
    await agentClient?.close();
    controller?.stop();
    failoverController?.stop();
    alerts?.stop();
    housekeeper?.stop();
    replica?.stop();
    await proxy?.stop();
    server?.close();
    await forwarder?.close();
    await transport?.close();
    await storage.close().catch(() => undefined);
    throw err;
  }
  const started = { transport, server, replica, forwarder, housekeeper, alerts, controller, failoverController, nodeAgent, agentClient, fronts, dashboard };
  return {
    id,
    replica: started.replica,
    clientAddress: addressOf(started.server),
    peerAddress: started.transport.address(),
    proxy,
    fronts: started.fronts,
    async stop() {
      started.dashboard.stop();
      await started.fronts?.stop();
      // Instances first, while the API can still remove this node's keys.
      await started.nodeAgent?.stop().catch((err: unknown) => log.error({ err }, "stopping services failed"));
      await started.agentClient?.close();
      started.controller.stop();
      started.failoverController.stop();
      started.alerts.stop();
      started.housekeeper.stop();
      await proxy?.stop();
      started.replica.stop();
      started.server.closeAllConnections();
      await new Promise<void>((r) => started.server.close(() => r()));
      await started.forwarder.close();
      await started.transport.close();
      await storage.close();
    },
  };
}

/** Keeps the transport's peer list equal to the member directory (minus this node). */
class PeerSync {
  private known = new Map<NodeId, string>();

  constructor(
    private readonly self: NodeId,
    private readonly members: MemberDirectory,
    private readonly transport: TlsTransport,
  ) {}

  refresh(records: Parameters<MemberDirectory["refresh"]>[0]): void {
    this.members.refresh(records);
    const next = new Map<NodeId, string>();
    for (const m of this.members.all()) if (m.id !== this.self) next.set(m.id, m.peerAddress);
    for (const [id, address] of next) if (this.known.get(id) !== address) this.transport.addPeer(id, address);
    for (const id of this.known.keys()) if (!next.has(id)) this.transport.removePeer(id);
    this.known = next;
  }
}

/** Reads the client and admin tokens named by the config; refuses empty or equal tokens. */
async function readApiTokens(config: NodeConfig): Promise<ApiTokens> {
  const read = async (file: string, what: string): Promise<string> => {
    const token = (await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new ServerError("bad_request", `Cannot read the ${what} token from ${file}: ${err.code ?? err.message}; check the path in ${config.file}`, { cause: err });
    })).trim();
    if (token === "") throw new ServerError("bad_request", `The ${what} token file ${file} is empty: write a random token into it (e.g. \`openssl rand -base64 24\`)`);
    return token;
  };
  const client = await read(config.tokenFile, "client");
  const admin = await read(config.adminTokenFile, "admin");
  if (client === admin) throw new ServerError("bad_request", `${config.tokenFile} and ${config.adminTokenFile} hold the same token: the admin token must differ from the client token; write a new random one into ${config.adminTokenFile}`);
  return { client, admin };
}

async function checkIdentity(storage: Storage, config: NodeConfig, id: NodeId): Promise<void> {
  const meta = storage.meta;
  if (meta === null) {
    await storage.saveMeta({ clusterId: config.clusterId, nodeId: id });
    return;
  }
  if (meta.clusterId !== config.clusterId || meta.nodeId !== id) {
    throw new ServerError("bad_request", `Cannot start node ${id} of cluster ${config.clusterId}: ${config.node.dataDir} belongs to node ${meta.nodeId} of cluster ${meta.clusterId}; point dataDir at this node's own directory`);
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(new ServerError("bad_request", `Cannot listen for clients on ${host}:${port}: ${err.code ?? err.message}; choose a free port in clientListen`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
}

/** The host part of host:port (brackets of an IPv6 address removed). */
function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(":"));
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

function addressOf(server: Server): string {
  const a = server.address() as AddressInfo;
  return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
