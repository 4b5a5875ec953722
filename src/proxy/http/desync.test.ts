// End-to-end desync tests: a backend whose parser is lenient (llhttp with insecureHTTPParser) sits
// behind the proxy on a pooled keep-alive connection. Whatever framing a client sends, the next
// client's request must reach that backend as a request of its own and get its own response.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { describe, it } from "node:test";
import type { TestCleanup } from "./testkit.js";
import { rawExchange, startFrontend, startRawBackend, StaticPool } from "./testkit.js";

interface SeenRequest {
  readonly connection: number;
  readonly method: string;
  readonly url: string;
  readonly cookie: string | undefined;
  readonly transferEncoding: string | undefined;
  body: string;
}

/**
 * A keep-alive node:http backend with the lenient parser. It answers every request at once (before
 * its body ends, like a handler that ignores the body) and records each request and its body.
 */
async function lenientBackend(t: TestCleanup): Promise<{ port: number; seen: SeenRequest[]; connections: () => number }> {
  const seen: SeenRequest[] = [];
  let connections = 0;
  const server = http.createServer({ insecureHTTPParser: true, keepAlive: true }, (req, res) => {
    const socket = req.socket as net.Socket & { phalanxId?: number };
    const entry: SeenRequest = {
      connection: socket.phalanxId ?? -1,
      method: req.method ?? "",
      url: req.url ?? "",
      cookie: req.headers.cookie,
      transferEncoding: req.headers["transfer-encoding"],
      body: "",
    };
    seen.push(entry);
    req.on("data", (c: Buffer) => {
      entry.body += c.toString("latin1");
    });
    res.setHeader("Content-Type", "text/plain");
    res.end(`response to ${entry.method} ${entry.url}`);
  });
  server.on("connection", (s: net.Socket & { phalanxId?: number }) => {
    s.phalanxId = connections++;
  });
  server.on("clientError", (_err, s: net.Socket) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { port: (server.address() as net.AddressInfo).port, seen, connections: () => connections };
}

const VICTIM = "GET /victim HTTP/1.1\r\nHost: a\r\nCookie: session=victim-secret\r\nConnection: close\r\n\r\n";

/** Whether `text` holds one whole response with a Content-Length body (all the proxy sends here). */
function completeResponse(text: string): boolean {
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd + 2));
  return length !== null && text.length >= headEnd + 4 + Number(length[1]);
}

/**
 * Sends raw bytes on a new connection and resolves with what came back once a whole response is
 * in or the proxy closes; `timeoutMs` only bounds a test that went wrong.
 */
function exchangeOnce(port: number, data: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let text = "";
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on("connect", () => socket.write(data));
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1");
      if (completeResponse(text)) done();
    });
    socket.on("error", done);
    socket.on("close", done);
  });
}

/** Sends the attacker's bytes, then the victim's request on a new client connection; returns both replies. */
async function attackThenVictim(port: number, attack: string): Promise<{ attacker: string; victim: string }> {
  // The attacker's response is complete (so its upstream connection is back in the idle stack)
  // before the victim's request starts.
  const attacker = await exchangeOnce(port, attack, 3000);
  const victim = await exchangeOnce(port, VICTIM, 3000);
  return { attacker, victim };
}

describe("HTTP frontend with a lenient-parsing backend on a pooled connection", () => {
  const attacks: [string, string][] = [
    ["Transfer-Encoding: chunked with a trailing tab", "POST /attacker HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n"],
    ["Transfer-Encoding: chunked with a trailing space", "POST /attacker HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n"],
    ["Transfer-Encoding: with a tab before chunked", "POST /attacker HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n"],
    ["Transfer-Encoding: CHUNKED in capitals", "POST /attacker HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n"],
    ["Content-Length with a trailing tab", "POST /attacker HTTP/1.1\r\nHost: a\r\nContent-Length: 5\t\r\n\r\nhello"],
    ["Content-Length with leading zeros", "POST /attacker HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello"],
    ["Content-Length in trailers", "POST /attacker HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 40\r\n\r\n"],
    ["obs-fold in trailers", "POST /attacker HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n Content-Length: 40\r\n\r\n"],
  ];
  for (const [name, attack] of attacks) {
    it(`never lets the next client's request be swallowed: ${name}`, async (t) => {
      const be = await lenientBackend(t);
      const pool = new StaticPool("web", [{ port: be.port }]);
      const { port } = await startFrontend(t, { web: pool }, {
        timeouts: { headerMs: 2000, idleMs: 5000, connectMs: 1000, responseMs: 1000 },
      });
      const { attacker, victim } = await attackThenVictim(port, attack);

      // The victim gets its own response, and the backend saw its request as a request of its own.
      assert.match(victim, /^HTTP\/1\.1 200 OK\r\n/, `victim got: ${JSON.stringify(victim)}`);
      assert.ok(victim.endsWith("response to GET /victim"), `victim got: ${JSON.stringify(victim)}`);
      const victims = be.seen.filter((r) => r.url === "/victim");
      assert.equal(victims.length, 1, `backend saw: ${JSON.stringify(be.seen)}`);
      assert.equal(victims[0]!.cookie, "session=victim-secret");
      for (const r of be.seen) {
        if (r.url !== "/victim") assert.ok(!r.body.includes("victim-secret"), `victim's request swallowed by ${r.url}: ${JSON.stringify(r.body)}`);
      }
      // The attacker got the response to its own request (or a 400 for its framing), nothing more.
      assert.ok(!attacker.includes("victim"), `attacker got: ${JSON.stringify(attacker)}`);
      if (be.seen.some((r) => r.url === "/attacker")) {
        // Forwarded: then in canonical framing the backend reads as chunked / by length, on the same
        // pooled connection the victim's request then used.
        assert.match(attacker, /^HTTP\/1\.1 200 OK\r\n/, attacker);
        const a = be.seen.find((r) => r.url === "/attacker")!;
        assert.ok(a.transferEncoding === undefined || a.transferEncoding === "chunked", `backend saw Transfer-Encoding ${JSON.stringify(a.transferEncoding)}`);
        assert.equal(victims[0]!.connection, a.connection, "the victim's request did not reuse the pooled connection");
      } else assert.match(attacker, /^HTTP\/1\.1 400 /, attacker);
    });
  }
});

describe("HTTP frontend forwarding a backend's framing to the client", () => {
  it("re-emits a non-canonical Content-Length in canonical bytes", async (t) => {
    const be = await startRawBackend(t, (s) => s.write("HTTP/1.1 200 OK\r\ncontent-length:\t002\t\r\n\r\nok"));
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const res = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert.equal(res.text, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  });

  it("answers 502 to a response whose trailers carry a framing field", async (t) => {
    const be = await startRawBackend(t, (s) => s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nContent-Length: 5\r\n\r\n"));
    const pool = new StaticPool("web", [{ port: be.port }]);
    pool.retryTokens = 0;
    const { port } = await startFrontend(t, { web: pool });
    const res = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert.match(res.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/, res.text);
    assert.match(res.text, /content-length is not allowed in trailers/);
    assert.deepEqual(pool.outcomes.map((o) => o.outcome), ["http_5xx"]);
  });

  it("answers 502 to an interim response that carries a framing field", async (t) => {
    const be = await startRawBackend(t, (s) => s.write("HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    const pool = new StaticPool("web", [{ port: be.port }]);
    pool.retryTokens = 0;
    const { port } = await startFrontend(t, { web: pool });
    const res = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert.match(res.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/, res.text);
    assert.match(res.text, /framing field in a 100 response/);
  });
});
