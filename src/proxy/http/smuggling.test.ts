import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import type { TestCleanup } from "./testkit.js";
import { rawExchange, startFrontend, startRawBackend, StaticPool, waitFor } from "./testkit.js";

/** A backend that records every byte it receives and answers each head with a tiny response. */
async function recordingBackend(t: TestCleanup): Promise<{ port: number; bytes: () => string; connections: () => number }> {
  let seen = "";
  const { port, connections } = await startRawBackend(t, (s, c) => {
    seen += c.toString("latin1");
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  return { port, bytes: () => seen, connections };
}

const H = "Host: a\r\n";
/** Known request smuggling and malformed-framing vectors: each must be refused before any byte goes upstream. */
const VECTORS: [string, string][] = [
  ["CL.TE", `POST / HTTP/1.1\r\n${H}Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE.CL", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`],
  ["TE.TE xchunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE.TE space before colon", `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE.TE duplicate", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE.TE vertical tab", `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\u000bchunked\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE.TE list", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE.TE quoted", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE obs-fold", `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE with leading space line", `POST / HTTP/1.1\r\n${H} Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE after bare LF", `POST / HTTP/1.1\r\n${H}X: y\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["TE in HTTP/1.0", `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED`],
  ["CL.CL different", `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: 8\r\n\r\nSMUGGLED`],
  ["CL.CL same", `POST / HTTP/1.1\r\n${H}Content-Length: 8\r\nContent-Length: 8\r\n\r\nSMUGGLED`],
  ["CL list", `POST / HTTP/1.1\r\n${H}Content-Length: 8, 8\r\n\r\nSMUGGLED`],
  ["CL hex", `POST / HTTP/1.1\r\n${H}Content-Length: 0x8\r\n\r\nSMUGGLED`],
  ["CL space inside", `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\nSMUGGLED`],
  ["CL space before colon", `POST / HTTP/1.1\r\n${H}Content-Length : 8\r\n\r\nSMUGGLED`],
  ["NUL in header value", `GET / HTTP/1.1\r\n${H}X: a\u0000b\r\n\r\nSMUGGLED`],
  ["CR in header value", `GET / HTTP/1.1\r\n${H}X: a\rSMUGGLED: b\r\n\r\n`],
  ["invalid header name", `GET / HTTP/1.1\r\n${H}X[SMUGGLED]: 1\r\n\r\n`],
  ["bare LF line endings", `GET / HTTP/1.1\n${H.replace("\r", "")}\nSMUGGLED`],
  ["malformed request line", `GET /SMUGGLED\r\n${H}\r\n`],
  ["invalid version", `GET /SMUGGLED HTTP/1.7\r\n${H}\r\n`],
  ["chunk size with 0x", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x8\r\nSMUGGLED\r\n0\r\n\r\n`],
  ["chunk size overflow", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff8\r\nSMUGGLED\r\n0\r\n\r\n`],
  ["chunk size with space", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n8 \r\nSMUGGLED\r\n0\r\n\r\n`],
  ["chunk extension with bare LF", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n8;a\nb\r\nSMUGGLED\r\n0\r\n\r\n`],
  ["chunk data longer than size", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nSMUGGLED\r\n0\r\n\r\n`],
  ["chunk size line with bare LF", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n8\nSMUGGLED\r\n0\r\n\r\n`],
  ["Content-Length in trailers", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 8\r\n\r\nSMUGGLED`],
  ["Host in trailers", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nHost: SMUGGLED\r\n\r\n`],
  ["obs-fold in trailers", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n SMUGGLED\r\n\r\n`],
  ["trailer line without a colon", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nSMUGGLED\r\n\r\n`],
];

describe("HTTP frontend against request smuggling", () => {
  it("refuses every known vector with 400, closes, and forwards nothing", async (t) => {
    const be = await recordingBackend(t);
    const { port, metrics } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    for (const [name, text] of VECTORS) {
      const res = await rawExchange(port, text);
      assert.match(res.text, /^HTTP\/1\.1 400 Bad Request\r\n/, `${name}: ${JSON.stringify(res.text)}`);
      assert.ok(res.closed, `${name}: connection left open`);
    }
    assert.equal(be.connections(), 0, `backend saw: ${be.bytes()}`);
    assert.ok(!be.bytes().includes("SMUGGLED"));
    assert.equal(metrics.requests.filter((r) => r.status === 400).length, VECTORS.length);
  });

  it("accepts valid framing that looks unusual: a tab before chunked, chunk extensions", async (t) => {
    const be = await recordingBackend(t);
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const res = await rawExchange(port,
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\tchunked\r\nConnection: close\r\n\r\n3;ext="q"\r\nabc\r\n0\r\n\r\n`);
    assert.match(res.text, /^HTTP\/1\.1 200 OK/);
    assert.ok(be.bytes().endsWith(`3;ext="q"\r\nabc\r\n0\r\n\r\n`), be.bytes());
    // The tab was valid OWS, but the backend gets the framing line in canonical bytes.
    assert.ok(be.bytes().includes("\r\nTransfer-Encoding: chunked\r\n"), be.bytes());
    assert.ok(!be.bytes().includes("\tchunked"), be.bytes());
  });

  it("cuts the upstream request when a later chunk is invalid, so the rest is never forwarded", async (t) => {
    const be = await recordingBackend(t);
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    const socket = net.connect({ host: "127.0.0.1", port });
    t.after(() => socket.destroy());
    let reply = "";
    socket.on("data", (c: Buffer) => {
      reply += c.toString("latin1");
    });
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    socket.write(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n`);
    await waitFor(() => be.bytes().includes("abc"), 2000, "first chunk at backend");
    socket.write("zz\r\nSMUGGLED\r\n0\r\n\r\n");
    await closed;
    assert.ok(!be.bytes().includes("SMUGGLED"));
    assert.ok(!be.bytes().includes("zz"));
    assert.ok(reply.includes(" 200 OK") || reply.includes(" 400 "), reply);
  });

  it("answers 431 to an oversized head", async (t) => {
    const be = await recordingBackend(t);
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) }, { maxHeaderBytes: 1024 });
    const res = await rawExchange(port, `GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(2000)}\r\n\r\n`);
    assert.match(res.text, /^HTTP\/1\.1 431 /);
    assert.equal(be.connections(), 0);
  });

  it("cuts a slowloris client at the header timeout", async (t) => {
    const be = await recordingBackend(t);
    const headerMs = 300;
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) }, {
      timeouts: { headerMs, idleMs: 5000, connectMs: 1000, responseMs: 5000 },
    });
    const socket = net.connect({ host: "127.0.0.1", port });
    t.after(() => socket.destroy());
    let reply = "";
    socket.on("data", (c: Buffer) => {
      reply += c.toString();
    });
    socket.on("error", () => {});
    const start = Date.now();
    const closed = new Promise<number>((r) => socket.on("close", () => r(Date.now() - start)));
    const text = `GET / HTTP/1.1\r\n${H}X-Slow: ${"a".repeat(100)}\r\n\r\n`;
    let i = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed && i < text.length) socket.write(text[i++]!);
    }, 20);
    t.after(() => clearInterval(drip));
    const elapsed = await closed;
    clearInterval(drip);
    assert.ok(elapsed >= headerMs - 20 && elapsed < headerMs + 1000, `closed after ${elapsed} ms`);
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.equal(be.connections(), 0);
  });

  it("refuses connections beyond maxConnections", async (t) => {
    const be = await recordingBackend(t);
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) }, { maxConnections: 2 });
    const open: net.Socket[] = [];
    t.after(() => {
      for (const s of open) s.destroy();
    });
    for (let i = 0; i < 2; i++) {
      const s = net.connect({ host: "127.0.0.1", port });
      s.on("error", () => {});
      open.push(s);
      await new Promise<void>((r) => s.once("connect", () => r()));
    }
    const res = await rawExchange(port, `GET / HTTP/1.1\r\n${H}\r\n`, 1000).catch(() => ({ text: "", closed: true }));
    assert.equal(res.text, "");
    assert.ok(res.closed);
  });

  it("survives seeded random garbage without throwing and keeps serving", async (t) => {
    const be = await recordingBackend(t);
    const { port } = await startFrontend(t, { web: new StaticPool("web", [{ port: be.port }]) });
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    const pieces = ["GET ", "POST ", "/ ", "HTTP/1.1", "\r\n", "\n", "Host: a", "Transfer-Encoding: chunked",
      "Content-Length: 5", ": ", "0\r\n\r\n", "5\r\nhello\r\n", "\u0000", " ", "Connection: close", "Upgrade: websocket"];
    const sends: Promise<unknown>[] = [];
    for (let round = 0; round < 60; round++) {
      let text = "";
      const n = 1 + (next() % 12);
      for (let i = 0; i < n; i++) {
        text += next() % 4 === 0 ? String.fromCharCode(next() & 0xff) : pieces[next() % pieces.length]!;
      }
      sends.push(rawExchange(port, Buffer.from(text, "latin1"), 300).catch(() => null));
    }
    await Promise.all(sends);
    const ok = await rawExchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    assert.match(ok.text, /^HTTP\/1\.1 200 OK/);
  });
});
