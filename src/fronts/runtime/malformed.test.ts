// Hostile input on the fronts' sockets: a 1 GiB length prefix, truncated bulk strings, binary
// garbage, bad memcached packets. Each gets an error (or a silent close where the protocol says
// so), never a crash; the node keeps serving other connections.
import { strict as assert } from "node:assert";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { McTestClient, RespTestClient, show, startFrontCluster } from "./testdata/harness.js";
import type { FrontCluster } from "./testdata/harness.js";

/** Sends raw bytes; resolves with everything received until the server closes (or 3 s pass). */
function rawExchange(port: number, data: Buffer): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: false });
    }, 3000);
    s.on("data", (c) => chunks.push(c));
    s.on("error", reject);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: true });
    });
    s.write(data);
  });
}

describe("fronts under malformed input", () => {
  let fc: FrontCluster;
  let resp: number;
  let mc: number;
  before(async () => {
    fc = await startFrontCluster(1);
    resp = fc.respPort(fc.leaderId());
    mc = fc.mcPort(fc.leaderId());
  });
  after(async () => {
    await fc?.close();
  });

  it("RESP: a 1 GiB bulk prefix is refused before any data and the connection closed", async () => {
    const r = await rawExchange(resp, Buffer.from("*1\r\n$1073741824\r\nabc"));
    assert.equal(r.closed, true);
    assert.match(r.text, /^-ERR Protocol error: (invalid bulk length|unauthenticated bulk length)\r\n$/);
  });

  it("RESP: an absurd multibulk count and a bulk not followed by CRLF are protocol errors", async () => {
    const big = await rawExchange(resp, Buffer.from("*99999999999\r\n"));
    assert.equal(big.closed, true);
    assert.match(big.text, /^-ERR Protocol error/);
    const c = await RespTestClient.authed(resp);
    c.close();
    const bad = await rawExchange(resp, Buffer.from("*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$13\r\nclient-secretXX\r\n"));
    assert.match(bad.text, /-ERR Protocol error: invalid bulk length\r\n$/);
  });

  it("RESP: binary garbage answers errors without crashing, and the node still serves", async () => {
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) % 256;
    const r = await rawExchange(resp, garbage);
    assert.ok(r.text.startsWith("-"), `an error first, got ${JSON.stringify(r.text.slice(0, 80))}`);
    const c = await RespTestClient.authed(resp);
    try {
      assert.equal(show(await c.call("SET", "still", "up")), "OK");
      assert.equal(show(await c.call("GET", "still")), "up");
    } finally {
      c.close();
    }
  });

  it("RESP: a truncated bulk string gets no reply until its data arrives, then exactly one", async () => {
    const s = connect(resp, "127.0.0.1");
    const received: Buffer[] = [];
    s.on("data", (c) => received.push(c));
    try {
      await new Promise((r) => s.once("connect", r));
      s.write("*2\r\n$4\r\nAUTH\r\n$13\r\nclient-se");
      // Give the server time to (wrongly) answer a partial frame; none may come.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(Buffer.concat(received).length, 0);
      s.write("cret\r\n");
      const deadline = Date.now() + 3000;
      while (Buffer.concat(received).toString() !== "+OK\r\n" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(Buffer.concat(received).toString(), "+OK\r\n");
    } finally {
      s.destroy();
    }
  });

  it("memcached: a binary packet with inconsistent lengths is refused and closed; a 1 GiB value is Too large", async () => {
    const h = Buffer.alloc(24);
    h[0] = 0x80;
    h[1] = 0x00; // GET with extras: invalid
    h[4] = 8;
    h.writeUInt32BE(8, 8);
    const r = await rawExchange(mc, Buffer.concat([h, Buffer.alloc(8)]));
    assert.equal(r.closed, true);
    assert.equal(r.text.charCodeAt(0), 0x81);
    assert.equal(Buffer.from(r.text, "latin1").readUInt16BE(6), 0x04);
    const set = Buffer.alloc(24 + 8 + 1);
    set[0] = 0x80;
    set[1] = 0x01;
    set.writeUInt16BE(1, 2);
    set[4] = 8;
    set.writeUInt32BE(1024 * 1024 * 1024, 8);
    set[32] = 0x6b;
    const c = await McTestClient.connect(mc);
    try {
      const reply = await c.send(set, (b) => b.length >= 24);
      assert.equal(reply.readUInt16BE(6), 0x03, "Too large");
    } finally {
      c.close();
    }
  });

  it("memcached: a text line of garbage answers ERROR and the stream continues", async () => {
    const c = await McTestClient.connect(mc);
    try {
      assert.equal(await c.text("\u0001\u0002garbage here\r\n"), "ERROR\r\n");
      assert.equal(await c.text("set ok 0 0 1\r\n1\r\n"), "STORED\r\n");
      assert.equal(await c.text("set bad 0 0 notanumber\r\n"), "CLIENT_ERROR bad command line format\r\n");
    } finally {
      c.close();
    }
  });
});
