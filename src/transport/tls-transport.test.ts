import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { createClusterCa } from "../pki/ca.js";
import { issueClientCertificate, issueNodeCertificate } from "../pki/issue.js";
import type { Message, NodeId } from "../raft/types.js";
import { parseHostPort } from "./address.js";
import { encodeMessages, KIND_REFUSE, MESSAGE_KINDS } from "./codec.js";
import { FrameParser, writeFrameHeader } from "./frame.js";
import { encodeHello, encodeHelloAck, frameBoundOf } from "./handshake.js";
import { transportLimits } from "./limits.js";
import { transportConformance } from "./testing/conformance.js";
import { appendMessage } from "./testing/messages.js";
import { captureLogger, startNode, TestPki, tlsHarnessFactory, type LogLine } from "./testing/tls.js";
import { waitFor } from "./testing/wait.js";

const DAY_MS = 86_400_000;
const pki = await TestPki.create("test");

transportConformance("TlsTransport", tlsHarnessFactory(pki));

/** Opens a raw TLS client to `address` with the given certificate (or none) and resolves once TLS is up or failed. */
function rawClient(address: string, creds: { certPem?: string; keyPem?: string }): TLSSocket {
  const { host, port } = parseHostPort(address);
  const socket = connect({
    host, port, ca: pki.ca.certPem, cert: creds.certPem, key: creds.keyPem,
    checkServerIdentity: () => undefined, minVersion: "TLSv1.3",
  });
  socket.on("error", () => undefined);
  return socket;
}

function refusals(lines: LogLine[]): string[] {
  return lines.filter((l) => typeof l.msg === "string" && l.msg.startsWith("Refused peer connection")).map((l) => String(l.reason));
}

describe("TlsTransport", () => {
  it("delivers queued messages after the peer restarts on the same port, in order and without duplicates", async (t) => {
    const a = await startNode(pki, 1);
    let b = await startNode(pki, 2);
    t.after(async () => { await a.close(); await b.close(); });
    const port = parseHostPort(b.address()).port;
    const got: number[] = [];
    const track = (m: Message): void => void got.push(m.type === "append" ? m.prevIndex : -1);
    b.onMessage(track);
    a.addPeer(2 as NodeId, b.address());
    for (let i = 0; i < 100; i++) a.send([appendMessage(1, 2, i, 1, 8)]);
    await waitFor(() => got.length === 100, "the first 100 messages");
    await b.close();
    await waitFor(() => a.stats().peers[0]?.connected === false, "the sender to notice the peer is gone");
    for (let i = 100; i < 200; i++) a.send([appendMessage(1, 2, i, 1, 8)]);
    b = await startNode(pki, 2, { port });
    b.onMessage(track);
    await waitFor(() => got.length + a.stats().droppedMessages >= 200, "the second 100 messages to be delivered or dropped");
    assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i), "in order, no duplicates");
    assert.equal(got.length, 200);
    assert.equal(a.stats().peers[0]?.connects, 2);
  });

  describe("refuses connections without a valid certificate, with a logged reason", () => {
    let server: Awaited<ReturnType<typeof startNode>>;
    let lines: LogLine[];
    before(async () => {
      const log = captureLogger();
      lines = log.lines;
      server = await startNode(pki, 2, { logger: log.logger });
    });
    after(() => server.close());
    beforeEach(() => {
      lines.length = 0;
    });

    it("a client with no certificate", async () => {
      const socket = rawClient(server.address(), {});
      await waitFor(() => refusals(lines).length > 0, "the refusal to be logged");
      socket.destroy();
      assert.match(refusals(lines).join("\n"), /did not return a certificate|certificate required/i);
    });

    it("a certificate from another CA", async () => {
      const otherCa = await createClusterCa({ clusterId: "test" });
      const foreign = await issueNodeCertificate(otherCa, { nodeId: 1 });
      const socket = rawClient(server.address(), foreign);
      await waitFor(() => refusals(lines).length > 0, "the refusal to be logged");
      socket.destroy();
      assert.match(refusals(lines).join("\n"), /certificate is not signed by the cluster CA/);
    });

    it("an expired certificate", async () => {
      const expired = await issueNodeCertificate(pki.ca, { nodeId: 1, now: new Date(Date.now() - 3 * DAY_MS), validityDays: 1 });
      const socket = rawClient(server.address(), expired);
      await waitFor(() => refusals(lines).length > 0, "the refusal to be logged");
      socket.destroy();
      assert.match(refusals(lines).join("\n"), /certificate has expired/);
    });

    it("a client (not node) certificate", async () => {
      const client = await issueClientCertificate(pki.ca, { name: "admin" });
      const socket = rawClient(server.address(), client);
      await waitFor(() => refusals(lines).length > 0, "the refusal to be logged");
      socket.destroy();
      assert.match(refusals(lines).join("\n"), /client admin of cluster test, only nodes may open peer connections/);
    });

    it("a valid node certificate whose hello claims another node id (and the dialer is told why)", async () => {
      const socket = rawClient(server.address(), await pki.node(3));
      socket.once("secureConnect", () => socket.write(encodeHello(1 as NodeId, 2 as NodeId)));
      const told: string[] = [];
      const parser = new FrameParser(frameBoundOf(transportLimits()));
      socket.on("data", (chunk: Buffer) => {
        for (const f of parser.push(chunk).frames) if (f.kind === KIND_REFUSE) told.push(f.body.toString("utf8"));
      });
      await waitFor(() => refusals(lines).length > 0 && told.length > 0, "the refusal to be logged and sent");
      socket.destroy();
      assert.match(refusals(lines).join("\n"), /hello claims to come from node 1 but the certificate is for node 3/);
      assert.deepEqual(told, refusals(lines));
    });

    it("a message whose sender is not the certificate's node", async () => {
      const socket = rawClient(server.address(), await pki.node(3));
      socket.once("secureConnect", () => socket.write(encodeHello(3 as NodeId, 2 as NodeId)));
      socket.once("data", () => {
        socket.write(encodeMessages([appendMessage(1, 2, 0, 1, 1)]));
      });
      await waitFor(() => refusals(lines).length > 0, "the refusal to be logged");
      socket.destroy();
      assert.match(refusals(lines).join("\n"), /message claims to come from node 1 but the certificate is for node 3/);
    });

    it("an oversized frame", async () => {
      const socket = rawClient(server.address(), await pki.node(3));
      socket.once("secureConnect", () => socket.write(encodeHello(3 as NodeId, 2 as NodeId)));
      socket.once("data", () => {
        const header = Buffer.alloc(5);
        writeFrameHeader(header, 0, MESSAGE_KINDS.append, 100 << 20);
        socket.write(header);
      });
      await waitFor(() => refusals(lines).length > 0, "the refusal to be logged");
      await waitFor(() => socket.destroyed || socket.readableEnded, "the connection to be closed");
      socket.destroy();
      assert.match(refusals(lines).join("\n"), /over the limit of 8388608 bytes/);
    });
  });

  it("a new connection from a peer replaces its previous one (no half-open connections linger)", async (t) => {
    const b = await startNode(pki, 2);
    t.after(() => b.close());
    const creds = await pki.node(3);
    const greet = async (): Promise<TLSSocket> => {
      const socket = rawClient(b.address(), creds);
      socket.once("secureConnect", () => socket.write(encodeHello(3 as NodeId, 2 as NodeId)));
      await new Promise((resolve) => socket.once("data", resolve));
      return socket;
    };
    const first = await greet();
    let firstClosed = false;
    first.on("close", () => (firstClosed = true));
    const second = await greet();
    t.after(() => second.destroy());
    await waitFor(() => firstClosed, "the first connection to be closed");
    assert.equal(second.destroyed, false);
  });

  it("the dialer refuses a peer whose certificate names another node than the one it meant to reach", async (t) => {
    const log = captureLogger();
    const a = await startNode(pki, 1, { logger: log.logger });
    const c = await startNode(pki, 3);
    t.after(async () => { await a.close(); await c.close(); });
    let delivered = 0;
    c.onMessage(() => delivered++);
    a.addPeer(2 as NodeId, c.address());
    a.send([appendMessage(1, 2, 0, 1, 1)]);
    await waitFor(() => log.lines.some((l) => l.msg === "Cannot connect to peer"), "the dialer to log the refusal");
    const line = log.lines.find((l) => l.msg === "Cannot connect to peer");
    assert.match(String(line?.reason), /peer certificate is for node 3 of cluster test, expected node 2 of cluster test/);
    assert.equal(delivered, 0);
    assert.equal(a.stats().peers[0]?.connected, false);
  });

  it("a stalled peer does not grow the sender's queue past its bound; drops are counted", async (t) => {
    const creds = await pki.node(2);
    const limits = transportLimits();
    let stalled: TLSSocket | null = null;
    const server = createServer({ ca: creds.caCertPem, cert: creds.certPem, key: creds.keyPem, requestCert: true, rejectUnauthorized: true });
    server.on("secureConnection", (socket: TLSSocket) => {
      const parser = new FrameParser(frameBoundOf(limits));
      socket.once("data", (chunk: Buffer) => {
        parser.push(chunk);
        socket.write(encodeHelloAck());
        // Never read again: the kernel buffers fill up and the sender must hold back.
        socket.pause();
        stalled = socket;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const maxQueueBytes = 256 * 1024;
    const a = await startNode(pki, 1, { limits: { maxQueueBytes, maxQueueMessages: 1000 } });
    t.after(async () => {
      await a.close();
      (stalled as TLSSocket | null)?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    a.addPeer(2 as NodeId, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    await waitFor(() => a.stats().peers[0]?.connected === true && stalled !== null, "the connection to the stalled peer");
    let maxQueued = 0;
    let maxBytes = 0;
    let prevIndex = 0;
    // Offer 200 KB per round, letting the socket drain into the kernel between rounds, until the
    // kernel buffers are full and the queue has been dropping for a while (bounded: 64 MB at most).
    let roundsAfterFirstDrop = 0;
    for (let round = 0; round < 320 && roundsAfterFirstDrop < 20; round++) {
      for (let i = 0; i < 20; i++) a.send([appendMessage(1, 2, prevIndex++, 10, 1000)]);
      const peer = a.stats().peers[0];
      maxQueued = Math.max(maxQueued, peer?.queuedMessages ?? 0);
      maxBytes = Math.max(maxBytes, peer?.queuedBytes ?? 0);
      if ((peer?.droppedMessages ?? 0) > 0) roundsAfterFirstDrop++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const peer = a.stats().peers[0];
    assert.ok(maxBytes <= maxQueueBytes, `queued ${maxBytes} bytes, bound ${maxQueueBytes}`);
    assert.ok(maxQueued <= 1000);
    assert.ok((peer?.droppedMessages ?? 0) > 0, "drops are counted");
    assert.equal((peer?.sentMessages ?? 0) + (peer?.droppedMessages ?? 0) + (peer?.queuedMessages ?? 0), prevIndex);
  });
});
