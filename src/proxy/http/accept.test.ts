// Shared-buffer reads for accepted sockets: the fast path must be in use on the Node we run on
// (a silent fallback would only show as a slower benchmark), and with one read buffer shared by
// every connection no connection may ever see another's bytes, pipelined or in bodies.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { test } from "node:test";
import { seededRandom } from "../../kv/testkit.js";
import { adoptWithSharedReads } from "./accept.js";
import { startFrontend, startHttpBackend, StaticPool } from "./testkit.js";

test("an accepted socket moves to shared-buffer reads, echoes, and no longer counts on the server", async (t) => {
  let adopted: net.Socket | null = null;
  const received: string[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (raw) => {
    adopted = adoptWithSharedReads(raw, 16 * 1024, (chunk) => {
      received.push(chunk.toString());
      adopted!.write(Buffer.from(chunk));
    });
    assert.notEqual(adopted, null, "this Node no longer allows moving an accepted handle: the proxy would run its slow path");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  t.after(() => client.destroy());
  const echoed = await new Promise<string>((resolve) => {
    client.on("connect", () => client.write("ping"));
    client.once("data", (c: Buffer) => resolve(c.toString()));
  });
  assert.equal(echoed, "ping");
  assert.deepEqual(received, ["ping"]);
  const count = await new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  assert.equal(count, 0, "the placeholder socket was released");
  const closed = new Promise<void>((resolve) => adopted!.once("close", () => resolve()));
  client.end();
  adopted!.end();
  await closed;
});

test("concurrent pipelined uploads through the frontend each reach the backend intact", async (t) => {
  // The backend answers every request with the digest of the body it received.
  const be = await startHttpBackend(t, (req, res) => {
    const hash = createHash("sha256");
    req.on("data", (c: Buffer) => hash.update(c));
    req.on("end", () => res.end(hash.digest("hex")));
  });
  const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
  const random = seededRandom(42);
  const clients = 12;
  const perClient = 4;
  const runs = Array.from({ length: clients }, async (_, c) => {
    // Bodies from a few bytes to several reads long, sent pipelined in one write per client.
    const bodies = Array.from({ length: perClient }, (_, i) => {
      const size = Math.floor(random() * (i === 0 ? 200_000 : 3000)) + 1;
      return Buffer.alloc(size, `${c}:${i}:`);
    });
    const wire = Buffer.concat(bodies.flatMap((body, i) => [
      Buffer.from(`POST /u/${c}/${i} HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n${i === perClient - 1 ? "Connection: close\r\n" : ""}\r\n`),
      body,
    ]));
    const text = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      socket.on("connect", () => socket.write(wire));
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("error", reject);
      socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    });
    const digests = [...text.matchAll(/\r\n\r\n([0-9a-f]{64})/g)].map((m) => m[1]);
    assert.deepEqual(digests, bodies.map((b) => createHash("sha256").update(b).digest("hex")), `client ${c}`);
  });
  await Promise.all(runs);
});
