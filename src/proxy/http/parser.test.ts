import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BODY_FAILED, BODY_MORE, BodyFramer, FRAMING_CHUNKED, FRAMING_LENGTH } from "./body.js";
import { FAILED, HeadParser, KIND_HOST, METHOD_GET, METHOD_POST, NEED_MORE } from "./parser.js";

/** What a parse produced, comparable between feeding strategies. */
function summary(p: HeadParser, result: number): unknown {
  if (result === FAILED) return { failed: p.errorStatus };
  return {
    method: p.method, target: p.isRequest ? p.target() : "", minor: p.versionMinor, status: p.statusCode,
    cl: p.contentLength, chunked: p.chunked, host: p.host(), close: p.connClose, ws: p.upgradeWebsocket,
    fields: Array.from({ length: p.headerCount }, (_, i) => `${p.fieldName(i)}=${p.fieldValue(i)}`),
  };
}

/** Feeds all at once, and again byte by byte; asserts both agree; returns the summary. */
function parseBoth(text: string, isRequest = true, maxHead = 8192): { whole: unknown; end: number } {
  const bytes = Buffer.from(text, "latin1");
  const a = new HeadParser(isRequest, maxHead);
  const r1 = a.feed(bytes, 0);
  const whole = r1 === NEED_MORE ? "more" : summary(a, r1);
  const b = new HeadParser(isRequest, maxHead);
  let r2 = NEED_MORE;
  let consumedAt = -1;
  for (let i = 0; i < bytes.length && r2 === NEED_MORE; i++) {
    r2 = b.feed(bytes.subarray(i, i + 1), 0);
    if (r2 >= 0) consumedAt = i + r2;
  }
  const split = r2 === NEED_MORE ? "more" : summary(b, r2);
  assert.deepEqual(split, whole, `byte-by-byte parse differs for ${JSON.stringify(text)}`);
  if (r1 >= 0) assert.equal(consumedAt, r1, "byte-by-byte head end differs");
  return { whole, end: r1 };
}

describe("HeadParser", () => {
  it("parses a request head the same whole or byte by byte", () => {
    const text = "GET /a?b=1 HTTP/1.1\r\nHost: Example.com:8080\r\nX-Thing:  v  \r\nConnection: keep-alive, Close\r\n\r\nBODY";
    const { whole, end } = parseBoth(text);
    assert.equal(end, text.length - 4);
    assert.deepEqual(whole, {
      method: METHOD_GET, target: "/a?b=1", minor: 1, status: 0, cl: -1, chunked: false, host: "Example.com:8080",
      close: true, ws: false, fields: ["host=Example.com:8080", "x-thing=v", "connection=keep-alive, Close"],
    });
  });

  it("reads Content-Length, chunked and websocket upgrade", () => {
    const post = parseBoth("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n").whole as { method: number; cl: number };
    assert.equal(post.method, METHOD_POST);
    assert.equal(post.cl, 42);
    const te = parseBoth("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tChunked\r\n\r\n").whole as { chunked: boolean };
    assert.equal(te.chunked, true);
    const ws = parseBoth("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n").whole as { ws: boolean };
    assert.equal(ws.ws, true);
  });

  it("skips empty lines before a request line and keeps pipelined bytes out of the head", () => {
    const { end } = parseBoth("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n");
    assert.equal(end, "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".length);
  });

  it("parses a status line with and without a reason phrase", () => {
    const ok = parseBoth("HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", false).whole as { status: number };
    assert.equal(ok.status, 204);
    const bare = parseBoth("HTTP/1.0 200\r\nContent-Length: 0\r\n\r\n", false).whole as { status: number; minor: number };
    assert.equal(bare.status, 200);
    assert.equal(bare.minor, 0);
  });

  const refused: [string, string][] = [
    ["CL with TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["duplicate CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n"],
    ["CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\n"],
    ["signed CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\n"],
    ["xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"],
    ["chunked, identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"],
    ["two TE fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"],
    ["bare LF", "GET / HTTP/1.1\nHost: a\r\n\r\n"],
    ["bare LF in a field", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"],
    ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u0000b\r\n\r\n"],
    ["CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"],
    ["bad name char", "GET / HTTP/1.1\r\nHost: a\r\nX(y): a\r\n\r\n"],
    ["empty name", "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n"],
    ["bad version", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"],
    ["HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
    ["lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n"],
    ["two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"],
    ["space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"],
    ["missing Host", "GET / HTTP/1.1\r\n\r\n"],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
    ["TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"],
  ];
  for (const [name, text] of refused) {
    it(`refuses ${name} with 400`, () => {
      const { whole } = parseBoth(text);
      assert.equal((whole as { failed?: number }).failed, 400, JSON.stringify(whole));
    });
  }

  it("accepts a tab as the whitespace after the colon (OWS is SP or HTAB)", () => {
    const { whole } = parseBoth("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n");
    assert.equal((whole as { chunked: boolean }).chunked, true);
  });

  it("refuses an oversized head with 431 whether it arrives whole or in pieces", () => {
    const text = `GET / HTTP/1.1\r\nHost: a\r\nX: ${"a".repeat(300)}\r\n\r\n`;
    const { whole } = parseBoth(text, true, 256);
    assert.equal((whole as { failed: number }).failed, 431);
    const p = new HeadParser(true, 256);
    assert.equal(p.feed(Buffer.from(`GET / HTTP/1.1\r\nX: ${"a".repeat(300)}`), 0), FAILED);
    assert.equal(p.errorStatus, 431);
  });

  it("refuses a bare LF early, before the head is complete", () => {
    const p = new HeadParser(true, 8192);
    assert.equal(p.feed(Buffer.from("GET / HTTP/1.1\nHost"), 0), FAILED);
  });

  it("marks framing fields that are not in canonical bytes for re-emission, and only those", () => {
    const head = (field: string): string => `POST / HTTP/1.1\r\nHost: a\r\n${field}\r\n\r\n`;
    const canonical = ["Transfer-Encoding: chunked", "transfer-encoding: chunked", "Content-Length: 12", "content-length: 0"];
    const rewritten = [
      "Transfer-Encoding: chunked\t", "Transfer-Encoding: chunked ", "Transfer-Encoding:\tchunked", "Transfer-Encoding:chunked",
      "Transfer-Encoding:  chunked", "Transfer-Encoding: Chunked", "TRANSFER-ENCODING: chunked", "Transfer-encoding: chunked",
      "Content-Length: 12\t", "Content-Length:12", "Content-Length: 012", "Content-Length: 00", "CONTENT-LENGTH: 12",
    ];
    for (const [fields, expected] of [[canonical, false], [rewritten, true]] as const) {
      for (const field of fields) {
        const p = new HeadParser(true, 8192);
        assert.ok(p.feed(Buffer.from(head(field), "latin1"), 0) > 0, field);
        assert.equal(p.framingRewrite, expected, JSON.stringify(field));
        assert.equal(p.specialCount, expected ? 1 : 0, JSON.stringify(field));
      }
    }
  });

  it("records field kinds so the rewriter can find Host", () => {
    const p = new HeadParser(true, 8192);
    assert.ok(p.feed(Buffer.from("GET / HTTP/1.1\r\nhOsT: a\r\n\r\n"), 0) > 0);
    assert.equal(p.kind[0], KIND_HOST);
  });

  it("never throws on seeded random input", () => {
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    const alphabet = Buffer.from("GET / HTTP/1.1\r\nHost: a:\tb\u0000,;chunked\r\n0123456789abcdef \n");
    for (let round = 0; round < 2000; round++) {
      const len = next() % 200;
      const buf = Buffer.alloc(len);
      for (let i = 0; i < len; i++) buf[i] = next() % 3 === 0 ? next() & 0xff : alphabet[next() % alphabet.length]!;
      const p = new HeadParser(round % 2 === 0, 128);
      let off = 0;
      while (off < len) {
        const step = 1 + (next() % 16);
        const r = p.feed(buf.subarray(off, off + step), 0);
        if (r !== NEED_MORE) break;
        off += step;
      }
      const f = new BodyFramer(64);
      f.start(FRAMING_CHUNKED, 0);
      f.advance(buf, 0);
    }
  });
});

describe("BodyFramer", () => {
  function scanBoth(text: string): { end: number; error: string } {
    const bytes = Buffer.from(text, "latin1");
    const a = new BodyFramer(1024);
    a.start(FRAMING_CHUNKED, 0);
    const r1 = a.advance(bytes, 0);
    const b = new BodyFramer(1024);
    b.start(FRAMING_CHUNKED, 0);
    let r2 = BODY_MORE;
    let endAt = -1;
    for (let i = 0; i < bytes.length && r2 === BODY_MORE; i++) {
      r2 = b.advance(bytes.subarray(i, i + 1), 0);
      if (r2 >= 0) endAt = i + r2;
    }
    assert.equal(r2 === BODY_FAILED, r1 === BODY_FAILED, `byte-by-byte scan differs for ${JSON.stringify(text)}`);
    if (r1 >= 0) assert.equal(endAt, r1);
    return { end: r1, error: a.error };
  }

  it("finds the end of a chunked body with extensions and trailers", () => {
    const body = "5;name=\"v\"\r\nhello\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n";
    assert.equal(scanBoth(`${body}NEXT`).end, body.length);
    assert.equal(scanBoth("A \t;ext\r\n0123456789\r\n0\r\n\r\n").end, 26);
  });

  const invalid: [string, string][] = [
    ["empty size", "\r\nabc\r\n0\r\n\r\n"],
    ["0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"],
    ["negative size", "-5\r\nhello\r\n0\r\n\r\n"],
    ["huge size", "fffffffffffffff\r\n"],
    ["space without extension", "5 \r\nhello\r\n0\r\n\r\n"],
    ["bare LF after size", "5\nhello\r\n0\r\n\r\n"],
    ["bare LF in extension", "5;a\nhello\r\n0\r\n\r\n"],
    ["data longer than size", "3\r\nhello\r\n0\r\n\r\n"],
    ["bare LF after data", "5\r\nhello\n0\r\n\r\n"],
    ["bare LF in trailer", "0\r\nX: 1\n\r\n"],
    ["obs-fold in trailers", "0\r\nX: 1\r\n 2\r\n\r\n"],
    ["a trailer line without a colon", "0\r\nX-Trailer\r\n\r\n"],
    ["whitespace before a trailer's colon", "0\r\nX-Trailer : 1\r\n\r\n"],
    ["an empty trailer name", "0\r\n: 1\r\n\r\n"],
    ["a trailer name that is not a token", "0\r\nX[1]: 1\r\n\r\n"],
    ["Content-Length in trailers", "0\r\nContent-Length: 5\r\n\r\n"],
    ["Transfer-Encoding in trailers (any case)", "0\r\ntRANSFER-eNCODING: chunked\r\n\r\n"],
    ["Host in trailers", "0\r\nX-Ok: 1\r\nHost: evil\r\n\r\n"],
    ["Set-Cookie in trailers", "0\r\nSet-Cookie: a=b\r\n\r\n"],
    ["X-Forwarded-For in trailers", "0\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n"],
  ];
  for (const [name, text] of invalid) {
    it(`refuses ${name}`, () => {
      assert.equal(scanBoth(text).end, BODY_FAILED);
    });
  }

  it("accepts trailers with token names, empty values and names longer than any refused one", () => {
    const body = `0\r\nX-Checksum:\tabc \r\nServer-Timing: db;dur=53\r\nX-Empty:\r\n${"X".repeat(40)}: 1\r\n\r\n`;
    assert.equal(scanBoth(`${body}NEXT`).end, body.length);
  });

  it("names the refused trailer field", () => {
    assert.match(scanBoth("0\r\nContent-Length: 5\r\n\r\n").error, /content-length is not allowed in trailers/);
  });

  it("counts Content-Length bodies across chunks", () => {
    const f = new BodyFramer(64);
    f.start(FRAMING_LENGTH, 10);
    assert.equal(f.advance(Buffer.from("12345"), 0), BODY_MORE);
    assert.equal(f.advance(Buffer.from("67890GET"), 0), 5);
    assert.equal(f.done, true);
  });
});
