// The outgoing side of one peer: a bounded queue, one mutual-TLS connection at a time, reconnection
// with capped exponential backoff and jitter. Messages flow only after the acceptor has checked our
// certificate and acknowledged our hello; they are written in order, many frames per write, without
// waiting for any reply (pipelining). When the socket pushes back, the queue absorbs up to its
// bounds and then drops (counted): memory never grows with a slow or stalled peer.
// Snapshots do not enter the queue: they stream in chunks beside it (snapshot-sender.ts), and each
// flush writes the queued messages first, so a large snapshot never holds back heartbeats.
import { isIP } from "node:net";
import { connect, type PeerCertificate, type SecureContext, type TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { describeIdentity, identityFromSubjectAltName } from "../pki/identity.js";
import type { Message, NodeId, SnapshotMessage } from "../raft/types.js";
import { parseHostPort } from "./address.js";
import { backoffDelayMs } from "./backoff.js";
import { encodeMessages, KIND_HELLO_ACK, KIND_REFUSE } from "./codec.js";
import { readFrames } from "./framed-socket.js";
import { ackAnswersClockProbes, encodeHello, frameBoundOf } from "./handshake.js";
import { decodeClockEcho, encodeClockProbe, KIND_CLOCK_ECHO, type ClockBook } from "./clock.js";
import type { TransportLimits } from "./limits.js";
import { SendQueue } from "./send-queue.js";
import { decodeSnapshotAck, KIND_SNAPSHOT_ACK } from "./snapshot-frames.js";
import { SnapshotSender, type SnapshotAckOutcome } from "./snapshot-sender.js";
import type { PeerStats } from "./types.js";

/** The node's TLS material: the cluster CA, its certificate and key, in PEM. */
export interface TlsCredentials {
  readonly caCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** What a PeerLink needs from its transport. */
export interface PeerLinkOptions {
  readonly localId: NodeId;
  readonly peerId: NodeId;
  readonly address: string;
  readonly clusterId: string;
  /** Made once per transport from the node's credentials (CA, certificate, key; TLS 1.3 only). */
  readonly secureContext: SecureContext;
  readonly limits: TransportLimits;
  readonly logger: Logger;
  readonly random: () => number;
  /** Called for messages dropped after send() accepted them (snapshots displaced, refused, abandoned). */
  readonly onDroppedLater?: (count: number) => void;
  /** Where clock samples go; without it the link sends no clock probes. */
  readonly clock?: ClockBook;
}

type LinkState = "connecting" | "handshaking" | "open" | "backoff" | "closed";

/** One outgoing peer connection and its queue. */
export class PeerLink {
  private state: LinkState = "backoff";
  private socket: TLSSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private flushScheduled = false;
  private waitingDrain = false;
  private lastLoggedReason = "";
  private readonly queue: SendQueue;
  private readonly snapshots: SnapshotSender;
  /** Abandons a snapshot transfer whose receiver stopped acknowledging; armed while one is open. */
  private snapshotStallTimer: NodeJS.Timeout | null = null;
  private sentMessages = 0;
  private droppedMessages = 0;
  private connects = 0;
  /** The acceptor of the current connection answers clock probes (its hello-ack said so). */
  private peerAnswersProbes = false;
  private lastProbeMonoMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: PeerLinkOptions) {
    this.queue = new SendQueue(options.limits);
    this.snapshots = new SnapshotSender(options.limits);
  }

  /** Begins connecting. */
  start(): void {
    this.connect();
  }

  /** Queues `m` (its frame is `frameBytes` long; unused for snapshots); returns false when it was dropped. */
  send(m: Message, frameBytes: number): boolean {
    const accepted = this.state !== "closed" && (m.type === "snapshot" ? this.offerSnapshot(m) : this.queue.offer(m, frameBytes));
    if (!accepted) {
      this.droppedMessages++;
      return false;
    }
    this.scheduleFlush();
    return true;
  }

  /** Counts a message dropped before it reached the queue (e.g. oversized). */
  countDrop(): void {
    this.droppedMessages++;
  }

  /** Counters of this link. */
  stats(): PeerStats {
    return {
      id: this.options.peerId,
      address: this.options.address,
      connected: this.state === "open",
      queuedMessages: this.queue.length + this.snapshots.heldSnapshots,
      queuedBytes: this.queue.queuedBytes,
      sentMessages: this.sentMessages,
      droppedMessages: this.droppedMessages,
      connects: this.connects,
    };
  }

  /** Closes the connection and drops the queue (counted). */
  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.droppedMessages += this.queue.clear();
    this.droppedMessages += this.snapshots.clear();
    this.stopSnapshotStallTimer();
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): void {
    if (this.state === "closed") return;
    const { host, port } = parseHostPort(this.options.address);
    const { limits } = this.options;
    this.state = "connecting";
    const socket = connect({
      host,
      port,
      secureContext: this.options.secureContext,
      servername: isIP(host) === 0 ? host : undefined,
      // The peer is identified by the node id its certificate carries, not by its address.
      checkServerIdentity: (_host, cert) => this.checkPeerCertificate(cert),
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, limits.handshakeTimeoutMs);
    this.timer = setTimeout(() => this.fail(socket, `handshake not done within ${limits.handshakeTimeoutMs} ms`), limits.handshakeTimeoutMs);
    socket.once("secureConnect", () => {
      if (this.socket !== socket) return;
      this.state = "handshaking";
      socket.write(encodeHello(this.options.localId, this.options.peerId));
    });
    readFrames(socket, {
      bound: frameBoundOf(limits),
      onViolation: (violation) => this.fail(socket, violation.reason),
      onFrame: (frame) => {
        if (frame.kind === KIND_REFUSE) {
          this.fail(socket, `peer refused the connection: ${frame.body.toString("utf8")}`);
          return false;
        }
        if (frame.kind === KIND_SNAPSHOT_ACK && this.state === "open") {
          this.snapshotAcked(socket, frame.body);
          return this.socket === socket;
        }
        if (frame.kind === KIND_CLOCK_ECHO && this.state === "open") {
          const echo = decodeClockEcho(frame.body);
          if (echo === null) {
            this.fail(socket, "malformed clock echo from the acceptor");
            return false;
          }
          this.options.clock?.echoed(this.options.peerId, echo.t1, echo.t2, echo.t3);
          return true;
        }
        if (frame.kind !== KIND_HELLO_ACK || this.state !== "handshaking") {
          this.fail(socket, `unexpected frame of kind ${frame.kind} from the acceptor`);
          return false;
        }
        this.peerAnswersProbes = ackAnswersClockProbes(frame.body);
        this.opened(socket);
        return true;
      },
    });
    socket.on("error", (err: Error & { code?: string }) => this.fail(socket, describeSocketError(err)));
    socket.on("close", () => this.fail(socket, "connection closed by the peer"));
  }

  private checkPeerCertificate(cert: PeerCertificate): Error | undefined {
    const identity = identityFromSubjectAltName(cert.subjectaltname);
    const { clusterId, peerId } = this.options;
    if (identity === null) return new Error(`peer certificate carries no Phalanx identity, expected node ${peerId}`);
    if (identity.kind !== "node" || identity.clusterId !== clusterId || identity.nodeId !== peerId) {
      return new Error(`peer certificate is for ${describeIdentity(identity)}, expected node ${peerId} of cluster ${clusterId}`);
    }
    return undefined;
  }

  private opened(socket: TLSSocket): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.state = "open";
    this.attempt = 0;
    this.connects++;
    this.waitingDrain = false;
    if (this.lastLoggedReason !== "") {
      this.options.logger.info({ peer: this.options.peerId, address: this.options.address }, "Reconnected to peer");
      this.lastLoggedReason = "";
    }
    socket.on("drain", () => {
      this.waitingDrain = false;
      this.flush();
    });
    this.snapshots.onConnectionOpen();
    if (this.snapshots.active) this.startSnapshotStallTimer();
    this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (this.state !== "open" || socket === null) return;
    while (!this.waitingDrain) {
      let buf: Buffer | null;
      if (this.queue.length > 0) {
        const batch = this.queue.take(this.options.limits.maxWriteBytes);
        this.sentMessages += batch.messages.length;
        buf = encodeMessages(batch.messages, batch.frameBytes);
        const probe = this.clockProbeAfter(batch.messages);
        if (probe !== null) buf = Buffer.concat([buf, probe]);
      } else {
        // One snapshot frame at a time, and only when the queue is empty: a heartbeat queued
        // meanwhile waits behind one chunk at most, never behind the whole snapshot.
        buf = this.snapshots.nextFrame();
        if (buf === null) break;
      }
      if (!socket.write(buf)) this.waitingDrain = true;
    }
  }

  /**
   * A clock probe to write right after `messages` when they hold a heartbeat (only a leader sends
   * those) and the last probe is older than the probe interval; else null.
   */
  private clockProbeAfter(messages: readonly Message[]): Buffer | null {
    const clock = this.options.clock;
    if (clock === undefined || !this.peerAnswersProbes) return null;
    const now = clock.options.monoMs();
    if (now - this.lastProbeMonoMs < clock.options.probeIntervalMs || !messages.some((m) => m.type === "heartbeat")) return null;
    this.lastProbeMonoMs = now;
    const measured = clock.offsetOf(this.options.peerId);
    return encodeClockProbe(clock.options.wallMs(), measured === null ? null : measured.offsetMs);
  }

  private dropLater(count: number): void {
    this.droppedMessages += count;
    this.options.onDroppedLater?.(count);
  }

  private scheduleFlush(): void {
    if (this.state === "open" && !this.flushScheduled && !this.waitingDrain) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private offerSnapshot(m: SnapshotMessage): boolean {
    const { outcome, displaced } = this.snapshots.offer(m);
    if (displaced > 0) this.dropLater(displaced);
    const fields = { peer: this.options.peerId, index: m.snapshot.meta.index, term: m.term, bytes: m.snapshot.data.length };
    switch (outcome) {
      case "started":
        this.options.logger.info(fields, "Sending snapshot to peer");
        if (this.state === "open") this.startSnapshotStallTimer();
        return true;
      case "waiting":
        this.options.logger.debug(fields, "Snapshot waits for the transfer under way to this peer");
        return true;
      case "duplicate":
        this.options.logger.debug(fields, "Dropped a snapshot: the same one is being sent to this peer");
        return false;
      case "too_large":
        this.options.logger.error({ ...fields, limit: this.options.limits.maxSnapshotBytes },
          "Cannot send snapshot: larger than the transport limit maxSnapshotBytes; raise it on every node");
        return false;
    }
  }

  private snapshotAcked(socket: TLSSocket, body: Buffer): void {
    let outcome: SnapshotAckOutcome;
    try {
      outcome = this.snapshots.onAck(decodeSnapshotAck(body));
    } catch (err) {
      this.fail(socket, (err as Error).message);
      return;
    }
    const peer = this.options.peerId;
    switch (outcome.kind) {
      case "ignored":
        return;
      case "progress":
        this.snapshotStallTimer?.refresh();
        this.scheduleFlush();
        return;
      case "delivered":
        this.sentMessages++;
        this.options.logger.info({ peer, index: outcome.message.snapshot.meta.index, bytes: outcome.message.snapshot.data.length }, "Sent snapshot to peer");
        break;
      case "refused":
        this.dropLater(1);
        this.options.logger.error({ peer, index: outcome.message.snapshot.meta.index, reason: outcome.reason }, "Peer refused a snapshot");
        break;
    }
    this.nextSnapshot();
  }

  /** After a transfer ended: watch the next one (if a snapshot was waiting) and send it. */
  private nextSnapshot(): void {
    if (this.snapshots.active && this.state === "open") {
      this.startSnapshotStallTimer();
      this.scheduleFlush();
    } else {
      this.stopSnapshotStallTimer();
    }
  }

  private startSnapshotStallTimer(): void {
    this.stopSnapshotStallTimer();
    const timeoutMs = this.options.limits.snapshotStallTimeoutMs;
    this.snapshotStallTimer = setTimeout(() => {
      this.snapshotStallTimer = null;
      const abandoned = this.snapshots.abandon();
      if (abandoned === null) return;
      this.dropLater(1);
      this.options.logger.warn({ peer: this.options.peerId, index: abandoned.snapshot.meta.index, timeoutMs },
        "Abandoned a snapshot transfer: the peer acknowledged nothing for the stall timeout");
      this.nextSnapshot();
    }, timeoutMs);
  }

  private stopSnapshotStallTimer(): void {
    if (this.snapshotStallTimer !== null) clearTimeout(this.snapshotStallTimer);
    this.snapshotStallTimer = null;
  }

  /** Ends `socket` (if it is still the current one) and schedules a reconnection. */
  private fail(socket: TLSSocket, reason: string): void {
    if (this.socket !== socket || this.state === "closed") return;
    socket.destroy();
    this.socket = null;
    if (this.timer !== null) clearTimeout(this.timer);
    const wasOpen = this.state === "open";
    this.stopSnapshotStallTimer();
    const snapshot = this.snapshots.onConnectionLost();
    if (snapshot === "abandoned") this.dropLater(1);
    if (snapshot === "abandoned") {
      this.options.logger.warn({ peer: this.options.peerId, reason }, "Abandoned a snapshot transfer: its connection failed too often");
    } else if (snapshot === "restarting") {
      // A dial that fails before the transfer began is noted quietly; the connection failure itself is logged below.
      this.options.logger[wasOpen ? "warn" : "debug"]({ peer: this.options.peerId, reason }, "Snapshot transfer interrupted; it restarts on the next connection");
    }
    const delayMs = backoffDelayMs(this.attempt++, this.options.limits.reconnect, this.options.random);
    this.state = "backoff";
    // Log a refusal once per distinct reason, not once per retry of a peer that stays down.
    const fields = { peer: this.options.peerId, address: this.options.address, reason, retryInMs: delayMs };
    if (reason !== this.lastLoggedReason || wasOpen) {
      this.options.logger.warn(fields, wasOpen ? "Lost connection to peer" : "Cannot connect to peer");
      this.lastLoggedReason = reason;
    } else {
      this.options.logger.debug(fields, "Cannot connect to peer");
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delayMs);
  }
}

/** A readable reason for a socket error, with the OpenSSL/errno code when there is one. */
export function describeSocketError(err: Error & { code?: string }): string {
  return err.code !== undefined && !err.message.includes(err.code) ? `${err.message} (${err.code})` : err.message;
}
