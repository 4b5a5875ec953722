// The accepting side of one peer connection. TLS has already checked that the certificate chains
// to the cluster CA and is in date (rejectUnauthorized); here we check who it names: a node of our
// cluster, not ourselves, and the same node as the hello and every message claims to come from.
// Any violation closes the connection with a logged reason. The acceptor sends nothing but the
// hello-ack, the acks of snapshot transfers (snapshot-receiver.ts) and the echoes of clock probes (clock.ts).
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { describeIdentity, identityFromSubjectAltName } from "../pki/identity.js";
import type { Message, NodeId } from "../raft/types.js";
import { ByteArena } from "./arena.js";
import { CodecError, decodeMessage, KIND_HELLO, PROTOCOL_VERSION } from "./codec.js";
import { readFrames } from "./framed-socket.js";
import { decodeHello, encodeHelloAck, encodeRefusal, frameBoundOf } from "./handshake.js";
import type { TransportLimits } from "./limits.js";
import { KIND_SNAPSHOT_BEGIN, KIND_SNAPSHOT_CHUNK, KIND_SNAPSHOT_END } from "./snapshot-frames.js";
import { SnapshotReceiver, type SnapshotFrameResult } from "./snapshot-receiver.js";
import { decodeClockProbe, encodeClockEcho, KIND_CLOCK_PROBE, type ClockBook } from "./clock.js";

/** How long a refused connection may take to receive the refusal before it is cut. */
export const REFUSAL_LINGER_MS = 1000;

/** What an inbound connection needs from its transport. */
export interface InboundOptions {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly limits: TransportLimits;
  readonly logger: Logger;
  readonly deliver: (m: Message) => void;
  /** Called once the hello is accepted: the peer's connection is now live. */
  readonly onGreeted: () => void;
  readonly onClose: () => void;
  /** Answers clock probes with this clock and records the offset they report; without it probes are refused. */
  readonly clock?: ClockBook;
}

/**
 * Checks the verified peer certificate of `socket`; returns the peer's node id, or a refusal reason.
 */
export function peerNodeIdOf(socket: TLSSocket, localId: NodeId, clusterId: string): { ok: true; nodeId: NodeId } | { ok: false; reason: string } {
  const cert = socket.getPeerCertificate();
  const identity = identityFromSubjectAltName(cert.subjectaltname);
  if (identity === null) return { ok: false, reason: "client certificate carries no Phalanx identity" };
  if (identity.clusterId !== clusterId) return { ok: false, reason: `client certificate is for ${describeIdentity(identity)}, not this cluster ${clusterId}` };
  if (identity.kind !== "node") return { ok: false, reason: `client certificate is for ${describeIdentity(identity)}, only nodes may open peer connections` };
  if (identity.nodeId === localId) return { ok: false, reason: `client certificate is for this node (${localId}) itself` };
  return { ok: true, nodeId: identity.nodeId as NodeId };
}

/** Serves one accepted, certificate-checked connection from node `peerId`. */
export function serveInbound(socket: TLSSocket, peerId: NodeId, options: InboundOptions): void {
  const { localId, limits, logger } = options;
  const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
  let greeted = false;
  const arena = new ByteArena();
  let closed = false;
  const refuse = (reason: string): false => {
    if (closed) return false;
    closed = true;
    logger.warn({ peer: peerId, remote, reason }, "Refused peer connection");
    // Tell the dialer why, so both ends log the same reason; do not wait long for a bad peer.
    socket.end(encodeRefusal(reason));
    setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
    return false;
  };
  const snapshots = new SnapshotReceiver(peerId, localId, limits);
  // Discards a transfer that stopped arriving, so its buffer does not stay held.
  let snapshotStallTimer: NodeJS.Timeout | null = null;
  const onSnapshotStall = (): void => {
    snapshotStallTimer = null;
    const ack = snapshots.discard(`snapshot transfer stalled: no chunk for ${limits.snapshotStallTimeoutMs} ms`);
    if (ack === null || closed) return;
    logger.warn({ peer: peerId, remote, timeoutMs: limits.snapshotStallTimeoutMs }, "Discarded a stalled snapshot transfer");
    socket.write(ack);
  };
  const watchSnapshotStall = (): void => {
    if (!snapshots.active) {
      if (snapshotStallTimer !== null) clearTimeout(snapshotStallTimer);
      snapshotStallTimer = null;
    } else if (snapshotStallTimer === null) {
      snapshotStallTimer = setTimeout(onSnapshotStall, limits.snapshotStallTimeoutMs);
    } else {
      snapshotStallTimer.refresh();
    }
  };
  const onSnapshotFrame = (kind: number, body: Buffer): boolean => {
    let result: SnapshotFrameResult;
    try {
      result = kind === KIND_SNAPSHOT_BEGIN ? snapshots.begin(body) : kind === KIND_SNAPSHOT_CHUNK ? snapshots.chunk(body) : snapshots.end(body);
    } catch (err) {
      return refuse((err as Error).message);
    }
    watchSnapshotStall();
    if (result.refusal !== null) logger.error({ peer: peerId, remote, reason: result.refusal }, "Refused a snapshot transfer");
    if (result.ack !== null) socket.write(result.ack);
    if (result.message !== null) options.deliver(result.message);
    return true;
  };
  const helloTimer = setTimeout(() => refuse(`no hello within ${limits.handshakeTimeoutMs} ms`), limits.handshakeTimeoutMs);
  socket.setNoDelay(true);
  readFrames(socket, {
    bound: frameBoundOf(limits),
    onViolation: (violation) => refuse(violation.reason),
    onFrame: (frame) => {
      if (closed) return false;
      if (!greeted) {
        if (frame.kind !== KIND_HELLO) return refuse(`first frame is of kind ${frame.kind}, expected a hello`);
        const hello = decodeHello(frame.body);
        if (hello === null) return refuse("malformed hello");
        if (hello.version !== PROTOCOL_VERSION) return refuse(`protocol version ${hello.version} is not supported (this node speaks ${PROTOCOL_VERSION})`);
        if (hello.from !== peerId) return refuse(`hello claims to come from node ${hello.from} but the certificate is for node ${peerId}`);
        if (hello.to !== localId) return refuse(`hello is addressed to node ${hello.to} but this is node ${localId}`);
        greeted = true;
        logger.info({ peer: peerId, remote }, "Accepted peer connection");
        options.onGreeted();
        clearTimeout(helloTimer);
        socket.write(encodeHelloAck());
        return true;
      }
      if (frame.kind === KIND_CLOCK_PROBE && options.clock !== undefined) {
        const received = options.clock.options.wallMs();
        const probe = decodeClockProbe(frame.body);
        if (probe === null) return refuse("malformed clock probe");
        socket.write(encodeClockEcho(probe.t1, received, options.clock.options.wallMs()));
        options.clock.reportedBy(peerId, probe.reportedOffsetMs);
        return true;
      }
      if (frame.kind === KIND_SNAPSHOT_BEGIN || frame.kind === KIND_SNAPSHOT_CHUNK || frame.kind === KIND_SNAPSHOT_END) {
        return onSnapshotFrame(frame.kind, frame.body);
      }
      let m: Message;
      try {
        m = decodeMessage(frame.kind, frame.body, arena);
      } catch (err) {
        if (err instanceof CodecError) return refuse(err.message);
        throw err;
      }
      if (m.from !== peerId) return refuse(`message claims to come from node ${m.from} but the certificate is for node ${peerId}`);
      if (m.to !== localId) return refuse(`message is addressed to node ${m.to} but this is node ${localId}`);
      options.deliver(m);
      return true;
    },
  });
  socket.on("error", (err: Error) => {
    if (!closed) logger.debug({ peer: peerId, remote, reason: err.message }, "Peer connection error");
  });
  socket.on("close", () => {
    closed = true;
    clearTimeout(helloTimer);
    if (snapshotStallTimer !== null) clearTimeout(snapshotStallTimer);
    // A transfer cut short is discarded; the sender starts it again on its next connection.
    if (snapshots.discard("connection closed") !== null) logger.info({ peer: peerId, remote }, "Discarded an unfinished snapshot transfer: connection closed");
    options.onClose();
  });
}
