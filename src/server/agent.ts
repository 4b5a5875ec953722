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
import { createClientApiHandler } from "./http-api.js";
import type { ApiTokens } from "./access.js";
import { MEMBER_PREFIX, MemberDirectory } from "./members.js";
import type { NodeConfig } from "./node-config.js";
import { NodeMetrics } from "./node-metrics.js";
import { ClusterHousekeeper } from "./housekeeper.js";
import { adminRoutes } from "./admin-routes.js";
import { agentRelay, startFronts } from "../fronts/runtime/start.js";
import type { RunningFronts } from "../fronts/runtime/start.js";

/** A running node. */
export interface RunningNode {
  readonly id: NodeId;
  readonly replica: Replica;
  readonly clientAddress: string;
  readonly peerAddress: string;
  stop(): Promise<void>;
}

/** Starts a node from its config. */
export async function startNode(config: NodeConfig, logger: Logger = pino({ level: config.log.level }), options: { onRemoved?: () => void } = {}): Promise<RunningNode> {
  const id = nodeId(config.node.id);
  const log = logger.child({ node: id });
  const tokens = await readApiTokens(config);
  const credentials = await loadNodeCredentials(config.pkiDir);
  const bootstrapVoters = config.joined ? null : { voters: config.members.map((m) => nodeId(m.id)), learners: [] };
  const { storage, restored, warnings } = await openStorage(config.node.dataDir, { bootstrap: bootstrapVoters });
  for (const w of warnings) log.warn(w);
  await checkIdentity(storage, config, id);

  let transport: TlsTransport | null = null;
  let server: Server | null = null;
  let replica: Replica | null = null;
  let forwarder: LeaderForwarder | null = null;
  let housekeeper: ClusterHousekeeper | null = null;
  let fronts: RunningFronts | null = null;
  try {
    transport = await createTlsTransport({
      nodeId: id,
      clusterId: config.clusterId,
      credentials,
      listenHost: config.node.peerListen.host,
      listenPort: config.node.peerListen.port,
      limits: { maxSnapshotBytes: config.transport.maxSnapshotBytes },
      logger: log.child({ part: "transport" }),
    });
    const members = new MemberDirectory(config.members.map((m) => ({ ...m, id: nodeId(m.id) })));
    const peers = new PeerSync(id, members, transport);
    const metrics: NodeMetrics = new NodeMetrics({ status: () => r.status(), appliedIndex: () => r.kv.appliedIndex, pendingProposals: () => r.pendingProposals });
    storage.observeFsync((seconds) => metrics.fsync(seconds));
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
      },
    });
    replica = r;
    peers.refresh(r.localPrefix(MEMBER_PREFIX));
    const clientTls = config.node.clientTls;
    forwarder = new LeaderForwarder(members, clientTls ? "https" : "http", log, clientTls ? { ca: credentials.caCertPem, cert: credentials.certPem, key: credentials.keyPem } : undefined);
    housekeeper = new ClusterHousekeeper(r, members, config, log.child({ part: "housekeeper" }));
    const routes = adminRoutes({ replica: r, members, config, housekeeper, forwarder, credentials });
    const handler = createClientApiHandler({ replica: r, clusterId: config.clusterId, tokens, forwarder, logger: log.child({ part: "api" }), routes,
      metrics: () => metrics.text(), onAnswered: (path, status) => metrics.request(path, status) });
    // With clientTls, a client certificate of the cluster CA authenticates on its own; the token still works too.
    server = clientTls
      ? createHttpsServer({ keepAliveTimeout: 65_000, ca: credentials.caCertPem, cert: credentials.certPem, key: credentials.keyPem, requestCert: true, rejectUnauthorized: false }, handler)
      : createServer({ keepAliveTimeout: 65_000 }, handler);
    await listen(server, config.node.clientListen.host, config.node.clientListen.port);
    r.start();
    housekeeper.start();
    fronts = await startFronts(config.fronts, { replica: r, relay: agentRelay(forwarder, tokens.client), clientToken: tokens.client, adminToken: tokens.admin, logger: log });
    log.info({ peer: transport.address(), client: addressOf(server), members: members.all().length }, "node started");
  } catch (err) {
    await fronts?.stop();
    housekeeper?.stop();
    replica?.stop();
    server?.close();
    await forwarder?.close();
    await transport?.close();
    await storage.close().catch(() => undefined);
    throw err;
  }
  const started = { transport, server, replica, forwarder, housekeeper, fronts };
  return {
    id,
    replica: started.replica,
    clientAddress: addressOf(started.server),
    peerAddress: started.transport.address(),
    async stop() {
      await started.fronts?.stop();
      started.housekeeper.stop();
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

function addressOf(server: Server): string {
  const a = server.address() as AddressInfo;
  return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
