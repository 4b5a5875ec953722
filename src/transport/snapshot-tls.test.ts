// Snapshots larger than any frame over the real mutual-TLS transport: streamed in chunks, intact,
// interleaved with other traffic, restarted after a broken connection, refused over the limit.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Message, NodeId, SnapshotMessage } from "../raft/types.js";
import { parseHostPort } from "./address.js";
import { FrameParser } from "./frame.js";
import { encodeHello, encodeHelloAck, frameBoundOf } from "./handshake.js";
import { transportLimits } from "./limits.js";
import { decodeSnapshotAck, encodeSnapshotBegin, encodeSnapshotChunk, KIND_SNAPSHOT_ACK, type SnapshotAck } from "./snapshot-frames.js";
import { appendMessage } from "./testing/messages.js";
import { startRelay } from "./testing/relay.js";
import { captureLogger, startNode, TestPki } from "./testing/tls.js";
import { waitFor } from "./testing/wait.js";

const MiB = 1024 * 1024;
const pki = await TestPki.create("test");

/** A snapshot message from 1 to 2 of `bytes` bytes of a pattern no shifted copy matches. */
function bigSnapshot(bytes: number): SnapshotMessage {
  const data = new Uint8Array(bytes);
  // A 32-bit step pattern: a chunk placed at the wrong offset would not compare equal.
  const view = new DataView(data.buffer);
  for (let i = 0; i + 4 <= bytes; i += 4) view.setUint32(i, i * 2654435761 >>> 0);
  return {
    type: "snapshot", from: 1 as NodeId, to: 2 as NodeId, term: 7,
    snapshot: { meta: { index: 123_456, term: 6, confState: { voters: [1 as NodeId, 2 as NodeId, 3 as NodeId], learners: [] } }, data },
  };
}

function assertSameSnapshot(got: Message | undefined, sent: SnapshotMessage): void {
  assert.equal(got?.type, "snapshot");
  const snap = got as SnapshotMessage;
  assert.deepEqual({ ...snap, snapshot: { ...snap.snapshot, data: null } }, { ...sent, snapshot: { ...sent.snapshot, data: null } });
  assert.equal(snap.snapshot.data.length, sent.snapshot.data.length);
  assert.ok(Buffer.from(snap.snapshot.data.buffer, snap.snapshot.data.byteOffset, snap.snapshot.data.length).equals(sent.snapshot.data), "snapshot data intact");
}

describe("TlsTransport snapshots", () => {
  it("delivers an 80 MiB snapshot (over the old 64 MiB frame cap) intact, while appends sent meanwhile keep flowing", async (t) => {
    const a = await startNode(pki, 1);
    const b = await startNode(pki, 2);
    t.after(async () => { await a.close(); await b.close(); });
    const received: Message[] = [];
    b.onMessage((m) => received.push(m));
    a.addPeer(2 as NodeId, b.address());
    const snapshot = bigSnapshot(80 * MiB);
    a.send([snapshot]);
    let prevIndex = 0;
    // Appends go out every few milliseconds while the snapshot streams; they must not wait for it.
    const ticker = setInterval(() => a.send([appendMessage(1, 2, prevIndex++, 1, 100)]), 5);
    t.after(() => clearInterval(ticker));
    await waitFor(() => received.some((m) => m.type === "snapshot"), "the snapshot", 50_000);
    clearInterval(ticker);
    const at = received.findIndex((m) => m.type === "snapshot");
    assertSameSnapshot(received[at], snapshot);
    assert.ok(at >= 2, `${at} appends arrived before the snapshot completed: appends are not held behind it`);
    assert.equal(received.filter((m) => m.type === "snapshot").length, 1);
    const peer = a.stats().peers[0];
    assert.equal(peer?.droppedMessages, 0);
    assert.equal(b.stats().receivedMessages, received.length);
  });

  it("a connection cut mid-transfer is discarded by the receiver and the sender's next attempt delivers the snapshot", async (t) => {
    const senderLog = captureLogger();
    const receiverLog = captureLogger();
    const a = await startNode(pki, 1, { logger: senderLog.logger });
    const b = await startNode(pki, 2, { logger: receiverLog.logger });
    const relay = await startRelay(b.address(), { cutFirstConnectionAfterBytes: 10 * MiB });
    t.after(async () => { await a.close(); await b.close(); await relay.close(); });
    const received: Message[] = [];
    b.onMessage((m) => received.push(m));
    a.addPeer(2 as NodeId, relay.address);
    const snapshot = bigSnapshot(24 * MiB);
    a.send([snapshot]);
    await waitFor(() => received.length > 0, "the snapshot", 50_000);
    assertSameSnapshot(received[0], snapshot);
    assert.equal(received.length, 1);
    assert.ok(relay.firstConnectionBytes() < snapshot.snapshot.data.length, "the first connection broke before the whole snapshot crossed it");
    assert.equal(relay.connections(), 2);
    assert.ok(senderLog.lines.some((l) => l.msg === "Snapshot transfer interrupted; it restarts on the next connection"));
    await waitFor(() => receiverLog.lines.some((l) => l.msg === "Discarded an unfinished snapshot transfer: connection closed"), "the receiver to discard the partial transfer");
    await waitFor(() => senderLog.lines.some((l) => l.msg === "Sent snapshot to peer"), "the sender to log the delivery");
    assert.equal(a.stats().peers[0]?.sentMessages, 1);
  });

  it("a snapshot over the receiver's maxSnapshotBytes is refused, with the reason logged at both ends, and other messages still flow", async (t) => {
    const senderLog = captureLogger();
    const receiverLog = captureLogger();
    const a = await startNode(pki, 1, { logger: senderLog.logger });
    const b = await startNode(pki, 2, { logger: receiverLog.logger, limits: { maxSnapshotBytes: 1 * MiB } });
    t.after(async () => { await a.close(); await b.close(); });
    const received: Message[] = [];
    b.onMessage((m) => received.push(m));
    a.addPeer(2 as NodeId, b.address());
    a.send([bigSnapshot(2 * MiB)]);
    await waitFor(() => senderLog.lines.some((l) => l.msg === "Peer refused a snapshot"), "the sender to log the refusal");
    const reason = "Cannot accept a snapshot of 2097152 bytes from node 1: over this node's limit maxSnapshotBytes of 1048576 bytes; raise the transport limit maxSnapshotBytes on node 2";
    assert.equal(senderLog.lines.find((l) => l.msg === "Peer refused a snapshot")?.reason, reason);
    assert.equal(receiverLog.lines.find((l) => l.msg === "Refused a snapshot transfer")?.reason, reason);
    a.send([appendMessage(1, 2, 0, 1, 10)]);
    await waitFor(() => received.length === 1, "the append after the refusal");
    assert.equal(received[0]?.type, "append");
    assert.equal(a.stats().peers[0]?.droppedMessages, 1);
    assert.equal(a.stats().droppedMessages, 1, "the transport's total counts the refused snapshot");
  });

  it("the receiver discards a transfer that stops arriving and tells the sender why", async (t) => {
    const log = captureLogger();
    const b = await startNode(pki, 2, { logger: log.logger, limits: { snapshotStallTimeoutMs: 200 } });
    const creds = await pki.node(1);
    const { host, port } = parseHostPort(b.address());
    const socket: TLSSocket = connect({ host, port, ca: creds.caCertPem, cert: creds.certPem, key: creds.keyPem, checkServerIdentity: () => undefined, minVersion: "TLSv1.3" });
    t.after(async () => { socket.destroy(); await b.close(); });
    socket.on("error", () => undefined);
    const acks: SnapshotAck[] = [];
    const parser = new FrameParser(frameBoundOf(transportLimits()));
    let greeted = false;
    socket.on("data", (chunk: Buffer) => {
      for (const f of parser.push(chunk).frames) {
        if (f.kind === KIND_SNAPSHOT_ACK) acks.push(decodeSnapshotAck(f.body));
        else greeted = true;
      }
    });
    socket.once("secureConnect", () => socket.write(encodeHello(1 as NodeId, 2 as NodeId)));
    await waitFor(() => greeted, "the hello-ack");
    const snapshot = bigSnapshot(1 * MiB);
    socket.write(encodeSnapshotBegin(1, snapshot));
    socket.write(encodeSnapshotChunk(1, 0, snapshot.snapshot.data.subarray(0, 64 * 1024)));
    // Nothing more is sent: the receiver must give up on its own.
    await waitFor(() => acks.some((a) => a.status === "refused"), "the receiver to refuse the stalled transfer");
    assert.deepEqual(acks.at(-1), { transferId: 1, receivedBytes: 65536, status: "refused", reason: "snapshot transfer stalled: no chunk for 200 ms" });
    assert.ok(log.lines.some((l) => l.msg === "Discarded a stalled snapshot transfer"));
  });

  it("the sender abandons a transfer the receiver stops acknowledging, and counts the drop", async (t) => {
    const creds = await pki.node(2);
    const sockets: TLSSocket[] = [];
    let received = 0;
    const server = createServer({ ca: creds.caCertPem, cert: creds.certPem, key: creds.keyPem, requestCert: true, rejectUnauthorized: true });
    server.on("secureConnection", (socket: TLSSocket) => {
      sockets.push(socket);
      socket.once("data", () => {
        socket.write(encodeHelloAck());
        // Reads on (so the connection stays healthy) but never acknowledges a chunk.
        socket.on("data", (chunk: Buffer) => void (received += chunk.length));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const log = captureLogger();
    const a = await startNode(pki, 1, { logger: log.logger, limits: { snapshotStallTimeoutMs: 300 } });
    t.after(async () => {
      await a.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    a.addPeer(2 as NodeId, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    a.send([bigSnapshot(16 * MiB)]);
    await waitFor(() => log.lines.some((l) => l.msg === "Abandoned a snapshot transfer: the peer acknowledged nothing for the stall timeout"), "the sender to abandon the transfer");
    const peer = a.stats().peers[0];
    assert.equal(peer?.droppedMessages, 1);
    assert.equal(a.stats().droppedMessages, 1, "the transport's total counts the abandoned snapshot");
    assert.equal(peer?.queuedMessages, 0);
    assert.ok(received < 6 * MiB, `the sender stopped at its window: ${received} bytes reached the silent receiver`);
    assert.equal(peer?.connected, true, "the connection itself stays up");
  });
});
