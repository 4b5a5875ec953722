import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startFrontend, startHttpBackend, StaticPool, waitFor } from "./testkit.js";

const certFile = fileURLToPath(new URL("./testdata/cert.pem", import.meta.url));
const keyFile = fileURLToPath(new URL("./testdata/key.pem", import.meta.url));

describe("HTTP frontend upgrades and TLS", () => {
  it("tunnels a WebSocket upgrade both ways after 101", async (t) => {
    const be = await startHttpBackend(t, (_req, res) => res.end("plain"));
    let backendHead = "";
    be.server.on("upgrade", (req, socket: net.Socket, head: Buffer) => {
      backendHead = JSON.stringify(req.headers);
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: x\r\n\r\n");
      if (head.length > 0) socket.write(head);
      socket.on("data", (c: Buffer) => socket.write(Buffer.concat([Buffer.from("echo:"), c])));
      socket.on("end", () => socket.end());
      socket.on("error", () => {});
    });
    const { port, metrics } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const client = net.connect({ host: "127.0.0.1", port });
    t.after(() => client.destroy());
    let received = "";
    client.on("data", (c: Buffer) => {
      received += c.toString("latin1");
    });
    client.write("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    await waitFor(() => received.includes("\r\n\r\n"), 2000, "101 response");
    assert.match(received, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(received, /Upgrade: websocket/i);
    assert.match(received, /Connection: Upgrade/i);
    const seen = JSON.parse(backendHead) as Record<string, string>;
    assert.equal(seen.upgrade, "websocket");
    assert.equal(seen.connection, "Upgrade");
    assert.equal(seen["sec-websocket-key"], "dGhlIHNhbXBsZSBub25jZQ==");
    received = "";
    client.write("frame-1");
    await waitFor(() => received === "echo:frame-1", 2000, "first echo");
    received = "";
    const big = "x".repeat(200_000);
    client.write(big);
    await waitFor(() => received.replaceAll("echo:", "").length >= big.length, 5000, "big echo");
    assert.equal(received.replaceAll("echo:", ""), big);
    const closed = new Promise<void>((r) => client.on("close", () => r()));
    client.end();
    await closed;
    assert.deepEqual(metrics.requests, [{ backendId: "b0", status: 101 }]);
  });

  it("terminates TLS from certificate files and sets X-Forwarded-Proto to https", async (t) => {
    const be = await startHttpBackend(t, (req, res) => res.end(`${req.headers["x-forwarded-proto"]} ${req.url}`));
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) }, {
      protocol: "https", tls: { certFile, keyFile },
    });
    const ca = readFileSync(certFile);
    const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 1 });
    t.after(() => agent.destroy());
    const get = (path: string): Promise<string> => new Promise((resolve, reject) => {
      https.get({ host: "127.0.0.1", port, path, agent, servername: "localhost" }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c.toString();
        });
        res.on("end", () => resolve(body));
      }).on("error", reject);
    });
    assert.equal(await get("/secure"), "https /secure");
    assert.equal(await get("/again"), "https /again");
    assert.equal(be.connections(), 1);
  });
});
