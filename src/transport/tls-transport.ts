// The real transport: mutual TLS over TCP, trusting only the cluster CA. Each node dials each peer
// it sends to (one outgoing PeerLink per peer) and accepts the connections its peers dial, so
// messages from A to B always travel on A's connection, in order.
import { randomInt } from "node:crypto";
import type { AddressInfo, Socket } from "node:net";
import { createSecureContext, createServer, type SecureContext, type Server, type TLSSocket } from "node:tls";
import { pino, type Logger } from "pino";
import type { Message, NodeId } from "../raft/types.js";
import { formatHostPort, parseHostPort } from "./address.js";
import { encodedFrameBytes } from "./codec.js";
import { encodeRefusal } from "./handshake.js";
import { peerNodeIdOf, REFUSAL_LINGER_MS, serveInbound } from "./inbound.js";
import { transportLimits, type TransportLimits } from "./limits.js";
import { describeSocketError, PeerLink, type TlsCredentials } from "./peer-link.js";
import type { MessageHandler, Transport, TransportStats } from "./types.js";
import { CLOCK_DEFAULTS, ClockBook, type ClockOptions, type ClockView } from "./clock.js";

/** Options of createTlsTransport. */
export interface TlsTransportOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly credentials: TlsCredentials;
  /** Where to accept peer connections; port 0 picks a free port. */
  readonly listenHost: string;
  readonly listenPort: number;
  readonly limits?: Partial<TransportLimits>;
  readonly logger?: Logger;
  /** Draws from [0, 1) for reconnection jitter; tests pass a seeded generator. */
  readonly random?: () => number;
  /** Clock comparison with peers (clock.ts); the wall clock is injected in tests to fake a skewed node. */
  readonly clock?: Partial<ClockOptions>;
}

/** A TLS listener could not be started. */
export class TransportListenError extends Error {
  override readonly name = "TransportListenError";
  constructor(message: string, readonly code: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Starts a TLS transport listening on the given address. */
export async function createTlsTransport(options: TlsTransportOptions): Promise<TlsTransport> {
  const transport = new TlsTransport(options);
  await transport.listen();
  return transport;
}

/** Mutual-TLS peer transport. Make one with createTlsTransport. */
export class TlsTransport implements Transport {
  private readonly limits: TransportLimits;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly server: Server;
  private readonly clientContext: SecureContext;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<TLSSocket>();
  private readonly inboundByPeer = new Map<NodeId, TLSSocket>();
  /** Every raw connection, also those still in the TLS handshake, so close() can end them all. */
  private readonly sockets = new Set<Socket>();
  private handler: MessageHandler = () => undefined;
  private receivedMessages = 0;
  private droppedMessages = 0;
  private closed = false;
  private readonly clock: ClockBook;

  constructor(private readonly options: TlsTransportOptions) {
    this.limits = transportLimits(options.limits);
    // A given logger already names the node (agent.ts binds `node`): binding it again would repeat the key on every line.
    this.logger = (options.logger ?? pino().child({ node: options.nodeId })).child({ component: "transport" });
    this.random = options.random ?? (() => randomInt(0, 1 << 30) / (1 << 30));
    this.clock = new ClockBook({ ...CLOCK_DEFAULTS, ...options.clock });
    const { credentials } = options;
    this.clientContext = createSecureContext({
      ca: credentials.caCertPem,
      cert: credentials.certPem,
      key: credentials.keyPem,
      minVersion: "TLSv1.3",
    });
    this.server = createServer({
      ca: credentials.caCertPem,
      cert: credentials.certPem,
      key: credentials.keyPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.3",
      handshakeTimeout: this.limits.handshakeTimeoutMs,
    });
    this.server.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
      // When the certificate chain fails verification, Node closes the socket itself and reports
      // only a hang-up; the real reason is in authorizationError.
      const verifyCode = socket.authorizationError as unknown;
      const reason = verifyCode === undefined || verifyCode === null ? describeSocketError(err) : describeVerifyError(verifyCode);
      this.logger.warn({ remote: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`, reason },
        "Refused peer connection: TLS handshake failed");
    });
    this.server.on("secureConnection", (socket: TLSSocket) => this.accept(socket));
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  /** Binds the listener (called by createTlsTransport). */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error & { code?: string }): void => {
        reject(new TransportListenError(`Cannot listen for peers on ${formatHostPort(this.options.listenHost, this.options.listenPort)}: ${err.message}`, err.code ?? "EIO", { cause: err }));
      };
      this.server.once("error", onError);
      this.server.listen(this.options.listenPort, this.options.listenHost, () => {
        this.server.off("error", onError);
        this.server.on("error", (err) => this.logger.error({ reason: err.message }, "Peer listener failed"));
        resolve();
      });
    });
  }

  /** The address peers dial, "host:port". */
  address(): string {
    const info = this.server.address() as AddressInfo;
    return formatHostPort(info.address, info.port);
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.from !== this.options.nodeId) throw new Error(`Cannot send a message from node ${m.from} through the transport of node ${this.options.nodeId}`);
      const link = this.links.get(m.to);
      if (this.closed || link === undefined) {
        this.droppedMessages++;
        continue;
      }
      const size = encodedFrameBytes(m);
      // A snapshot streams in chunks; the link checks its size against maxSnapshotBytes.
      const bound = this.limits.maxFrameBytes;
      if (m.type !== "snapshot" && size - 4 > bound) {
        this.logger.error({ peer: m.to, type: m.type, bytes: size, limit: bound }, "Dropped a message larger than the frame limit");
        link.countDrop();
        this.droppedMessages++;
        continue;
      }
      if (!link.send(m, size)) this.droppedMessages++;
    }
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  addPeer(id: NodeId, address: string): void {
    if (this.closed) return;
    if (id === this.options.nodeId) throw new Error(`Cannot add peer ${id}: it is this node`);
    parseHostPort(address);
    if (this.links.get(id)?.stats().address === address) return;
    this.removePeer(id);
    const link = new PeerLink({
      localId: this.options.nodeId,
      peerId: id,
      address,
      clusterId: this.options.clusterId,
      secureContext: this.clientContext,
      limits: this.limits,
      logger: this.logger,
      random: this.random,
      onDroppedLater: (count) => (this.droppedMessages += count),
      clock: this.clock,
    });
    this.links.set(id, link);
    link.start();
  }

  removePeer(id: NodeId): void {
    const link = this.links.get(id);
    if (link === undefined) return;
    this.droppedMessages += link.stats().queuedMessages;
    link.close();
    this.links.delete(id);
    this.clock.forget(id);
  }

  /** Offsets of the peers this node probes (as leader) and its own as the leader reported it. */
  clockView(): ClockView {
    return this.clock.view();
  }

  stats(): TransportStats {
    return {
      receivedMessages: this.receivedMessages,
      droppedMessages: this.droppedMessages,
      peers: [...this.links.values()].map((l) => l.stats()),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.links.keys()]) this.removePeer(id);
    for (const socket of this.inbound) socket.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: TLSSocket): void {
    const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.inbound.size >= this.limits.maxInboundConnections) {
      this.logger.warn({ remote, limit: this.limits.maxInboundConnections }, "Refused peer connection: too many connections");
      socket.destroy();
      return;
    }
    const peer = peerNodeIdOf(socket, this.options.nodeId, this.options.clusterId);
    if (!peer.ok) {
      this.logger.warn({ remote, reason: peer.reason }, "Refused peer connection");
      socket.end(encodeRefusal(peer.reason));
      setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
      return;
    }
    this.inbound.add(socket);
    serveInbound(socket, peer.nodeId, {
      localId: this.options.nodeId,
      clusterId: this.options.clusterId,
      limits: this.limits,
      logger: this.logger,
      clock: this.clock,
      deliver: (m) => {
        if (this.closed) return;
        this.receivedMessages++;
        this.handler(m);
      },
      // A peer dials again only after giving up on its previous connection; end that one, which
      // may be half-open after a crash or partition, instead of letting it linger.
      onGreeted: () => {
        const previous = this.inboundByPeer.get(peer.nodeId);
        if (previous !== undefined && previous !== socket) previous.destroy();
        this.inboundByPeer.set(peer.nodeId, socket);
      },
      onClose: () => {
        this.inbound.delete(socket);
        if (this.inboundByPeer.get(peer.nodeId) === socket) this.inboundByPeer.delete(peer.nodeId);
      },
    });
  }
}

const VERIFY_ERRORS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not yet valid",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "certificate is not signed by the cluster CA",
  UNABLE_TO_GET_ISSUER_CERT: "certificate is not signed by the cluster CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "certificate is not signed by the cluster CA",
  DEPTH_ZERO_SELF_SIGNED_CERT: "certificate is self-signed, not signed by the cluster CA",
  SELF_SIGNED_CERT_IN_CHAIN: "certificate chains to another CA than the cluster CA",
  CERT_SIGNATURE_FAILURE: "certificate signature does not verify against the cluster CA",
  INVALID_PURPOSE: "certificate is not valid for client authentication",
};

/** A readable reason for an OpenSSL certificate verification code (Node's authorizationError). */
export function describeVerifyError(code: unknown): string {
  const text = code instanceof Error ? ((code as Error & { code?: string }).code ?? code.message) : String(code);
  const known = VERIFY_ERRORS[text];
  return known === undefined ? `certificate rejected (${text})` : `${known} (${text})`;
}
