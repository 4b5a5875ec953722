import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { describe, it } from "node:test";
import {
  rawExchange, request, startFrontend, startHttpBackend, startRawBackend, StaticPool, waitFor,
} from "./testkit.js";

describe("HTTP frontend", () => {
  it("forwards a request with X-Forwarded-For appended and -Proto/-Host set", async (t) => {
    const be = await startHttpBackend(t, (req, res) => res.end(JSON.stringify(req.headers)));
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const res = await request(port, {
      path: "/x", headers: { host: "app.example:8080", "x-forwarded-for": "10.1.1.1", "x-forwarded-proto": "gopher" },
    });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as Record<string, string>;
    assert.equal(seen["x-forwarded-for"], "10.1.1.1, 127.0.0.1");
    assert.equal(seen["x-forwarded-proto"], "http");
    assert.equal(seen["x-forwarded-host"], "app.example:8080");
    assert.equal(seen.host, "app.example:8080");
  });

  it("removes hop-by-hop fields in both directions", async (t) => {
    let seen = "";
    const { port: bport } = await startRawBackend(t, (s, c) => {
      seen += c.toString("latin1");
      if (seen.includes("\r\n\r\n")) {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Up\r\nX-Up: 1\r\nKeep-Alive: timeout=9\r\nX-Keep: 1\r\n\r\nok");
      }
    });
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: bport }]) });
    const res = await rawExchange(port,
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Private, close\r\nX-Private: secret\r\nKeep-Alive: 5\r\nTE: trailers\r\n" +
      "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Public: yes\r\n\r\n");
    for (const gone of ["X-Private", "Keep-Alive", "TE:", "Proxy-Connection", "Upgrade", "Connection"]) {
      assert.ok(!seen.includes(gone), `${gone} reached the backend: ${seen}`);
    }
    assert.ok(seen.includes("X-Public: yes"));
    assert.ok(res.text.startsWith("HTTP/1.1 200 OK"));
    assert.ok(!res.text.includes("X-Up") && !res.text.includes("Keep-Alive"), res.text);
    assert.ok(res.text.includes("X-Keep: 1") && res.text.includes("Connection: close"), res.text);
    assert.ok(res.closed);
  });

  it("reuses one upstream connection for sequential keep-alive requests", async (t) => {
    const be = await startHttpBackend(t, (_req, res) => res.end("hi"));
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    for (let i = 0; i < 20; i++) {
      const res = await request(port, { path: `/${i}`, agent });
      assert.equal(res.body, "hi");
    }
    assert.equal(be.connections(), 1);
  });

  it("routes by exact host and longest path prefix, and answers 404 for no route", async (t) => {
    const mk = (name: string) => startHttpBackend(t, (_req, res) => res.end(name));
    const [api, apiV2, www, other] = await Promise.all([mk("api"), mk("apiV2"), mk("www"), mk("other")]);
    const pools = {
      api: new StaticPool("api", [{ port: api.port }]),
      apiV2: new StaticPool("apiV2", [{ port: apiV2.port }]),
      www: new StaticPool("www", [{ port: www.port }]),
      other: new StaticPool("other", [{ port: other.port }]),
    };
    const { port } = await startFrontend(t, pools, {
      routes: [
        { host: "www.example", pool: "www" },
        { pathPrefix: "/api", pool: "api" },
        { pathPrefix: "/api/v2", pool: "apiV2" },
        { host: "other.example", pathPrefix: "/", pool: "other" },
      ],
    });
    const get = async (host: string, path: string) => (await request(port, { path, headers: { host } })).body;
    assert.equal(await get("WWW.example:80", "/api/v2/x"), "www");
    assert.equal(await get("x.example", "/api/v2/x?q=1"), "apiV2");
    assert.equal(await get("x.example", "/api/v1"), "api");
    assert.equal(await get("other.example", "/z"), "other");
    const miss = await request(port, { path: "/nothing", headers: { host: "x.example" } });
    assert.equal(miss.status, 404);
  });

  it("forwards a chunked request body and a chunked response", async (t) => {
    const be = await startHttpBackend(t, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.write(`te=${req.headers["transfer-encoding"]};`);
        res.write(`len=${Buffer.concat(chunks).length}`);
        res.end();
      });
    });
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const res = await rawExchange(port,
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n" +
      "GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert.match(res.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(res.text, /Transfer-Encoding: chunked/);
    assert.match(res.text, /te=chunked;/);
    assert.match(res.text, /len=11/);
    assert.equal(res.text.split("HTTP/1.1 200 OK").length, 3, "the pipelined GET was answered too");
  });

  it("answers pipelined requests in order on one connection", async (t) => {
    const be = await startHttpBackend(t, (req, res) => {
      // Later requests answer faster: order must still follow the requests.
      setTimeout(() => res.end(`<${req.url}>`), req.url === "/1" ? 30 : 0);
    });
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const res = await rawExchange(port, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n" +
      "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const bodies = res.text.match(/<\/\d>/g);
    assert.deepEqual(bodies, ["</1>", "</3>"]);
    assert.equal(res.text.split("HTTP/1.1 200").length, 4);
  });

  it("streams a large response to a slow reader without buffering it all", async (t) => {
    const totalBytes = 32 * 1024 * 1024;
    let written = 0;
    const be = await startHttpBackend(t, (_req, res) => {
      const block = Buffer.alloc(64 * 1024, 0x61);
      res.writeHead(200, { "content-length": String(totalBytes) });
      const pump = (): void => {
        while (written < totalBytes) {
          written += block.length;
          if (!res.write(block)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const socket = net.connect({ host: "127.0.0.1", port });
    t.after(() => socket.destroy());
    let received = 0;
    socket.on("data", (c: Buffer) => {
      received += c.length;
    });
    socket.write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    await waitFor(() => received > 1024 * 1024, 5000, "first megabyte");
    socket.pause();
    // Let the pipeline fill up, then measure what the backend got rid of beyond what we read.
    let last = -1;
    await waitFor(() => {
      const stable = written === last;
      last = written;
      return stable;
    }, 5000, "backend to be held back");
    const inFlight = written - received;
    assert.ok(inFlight < 12 * 1024 * 1024, `proxy let ${inFlight} bytes pile up for a paused reader`);
    socket.resume();
    await waitFor(() => received >= totalBytes, 20000, "whole body");
  });

  it("holds back a large upload when the backend reads slowly", async (t) => {
    let backendRead = 0;
    let backendReq: http.IncomingMessage | null = null;
    const be = await startHttpBackend(t, (req, res) => {
      backendReq = req;
      req.pause();
      req.on("data", (c: Buffer) => {
        backendRead += c.length;
      });
      req.on("end", () => res.end(`got ${backendRead}`));
    });
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const totalBytes = 32 * 1024 * 1024;
    const socket = net.connect({ host: "127.0.0.1", port });
    t.after(() => socket.destroy());
    let reply = "";
    socket.on("data", (c: Buffer) => {
      reply += c.toString();
    });
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${totalBytes}\r\n\r\n`);
    let sent = 0;
    const block = Buffer.alloc(64 * 1024, 0x62);
    const pump = (): void => {
      while (sent < totalBytes) {
        sent += block.length;
        if (!socket.write(block)) {
          socket.once("drain", pump);
          return;
        }
      }
    };
    pump();
    await waitFor(() => backendReq !== null, 5000, "request at backend");
    let last = -1;
    await waitFor(() => {
      const stable = sent === last;
      last = sent;
      return stable;
    }, 5000, "client to be held back");
    assert.ok(sent < 12 * 1024 * 1024, `client could push ${sent} bytes into a stalled upload`);
    backendReq!.resume();
    await waitFor(() => reply.includes(`got ${totalBytes}`), 20000, "upload to complete");
  });

  it("answers HEAD without a body and keeps the connection usable", async (t) => {
    const be = await startHttpBackend(t, (_req, res) => {
      res.setHeader("content-length", "5");
      res.end("hello");
    });
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const res = await rawExchange(port, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const parts = res.text.split("HTTP/1.1 200 OK");
    assert.equal(parts.length, 3);
    assert.ok(!parts[1]!.includes("hello"), "HEAD response carried a body");
    assert.ok(parts[2]!.endsWith("hello"));
  });

  it("forwards a response head that arrives in pieces, and an interim 100 Continue", async (t) => {
    const { port: bport } = await startRawBackend(t, (s) => {
      s.write("HTTP/1.1 100 Cont");
      setTimeout(() => s.write("inue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Le"), 20);
      setTimeout(() => s.write("ngth: 5\r\n\r\nhel"), 40);
      setTimeout(() => s.write("lo"), 60);
    });
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: bport }]) });
    const res = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert.equal(res.text, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    const kept = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    assert.equal(kept.text, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello");
  });

  it("forwards a body delimited by the backend closing, then closes the client", async (t) => {
    const { port: bport } = await startRawBackend(t, (s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ");
      setTimeout(() => s.end("part two"), 20);
    });
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: bport }]) });
    const res = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.ok(res.closed);
    assert.equal(res.text, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\npart one, part two");
  });
});
