import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HeadParser } from "./parser.js";
import { buildRequestHead, buildResponseHead, forwardedPrefix } from "./rewrite.js";
import type { ForwardedFacts } from "./rewrite.js";

const FACTS: ForwardedFacts = { clientIp: "10.0.0.9", proto: "http", prefix: forwardedPrefix("10.0.0.9", "http"), websocket: false };

function parsed(text: string, isRequest: boolean): HeadParser {
  const p = new HeadParser(isRequest, 8192);
  assert.ok(p.feed(Buffer.from(text, "latin1"), 0) > 0, `${text} did not parse: ${p.errorReason}`);
  return p;
}

function requestHead(text: string): string {
  return buildRequestHead(parsed(text, true), FACTS, new Uint8Array(128)).toString("latin1");
}

describe("buildRequestHead framing", () => {
  const cases: [string, string, string][] = [
    ["a trailing tab after chunked", "Transfer-Encoding: chunked\t", "Transfer-Encoding: chunked"],
    ["a tab before chunked", "Transfer-Encoding:\tchunked", "Transfer-Encoding: chunked"],
    ["capitals", "TRANSFER-ENCODING: CHUNKED", "Transfer-Encoding: chunked"],
    ["a Content-Length with a trailing space", "Content-Length: 5 ", "Content-Length: 5"],
    ["a Content-Length with leading zeros", "Content-Length: 0005", "Content-Length: 5"],
    ["a Content-Length of zeros", "content-length:000", "Content-Length: 0"],
    ["a long Content-Length", "Content-Length:\t123456789012345", "Content-Length: 123456789012345"],
  ];
  for (const [name, field, canonical] of cases) {
    it(`re-emits ${name} in canonical bytes and drops the original line`, () => {
      const out = requestHead(`POST /x HTTP/1.1\r\nHost: a\r\n${field}\r\nX-Other: 1\r\n\r\n`);
      assert.equal(out,
        `POST /x HTTP/1.1\r\nHost: a\r\nX-Other: 1\r\n${canonical}\r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n`);
    });
  }

  it("forwards canonical framing lines byte for byte", () => {
    for (const field of ["Transfer-Encoding: chunked", "content-length: 42"]) {
      const out = requestHead(`POST /x HTTP/1.1\r\nHost: a\r\n${field}\r\n\r\n`);
      assert.equal(out, `POST /x HTTP/1.1\r\nHost: a\r\n${field}\r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n`);
    }
  });

  it("re-emits framing together with hop-by-hop removal", () => {
    const out = requestHead("POST /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: Chunked\r\n\r\n");
    assert.equal(out, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n");
  });
});

describe("buildResponseHead framing", () => {
  it("re-emits a backend's non-canonical Content-Length", () => {
    const p = parsed("HTTP/1.1 200 OK\r\nContent-Length:\t2\t\r\nX-A: b\r\n\r\n", false);
    const out = buildResponseHead(p, true, 1, new Uint8Array(128));
    assert.equal(out?.toString("latin1"), "HTTP/1.1 200 OK\r\nX-A: b\r\nContent-Length: 2\r\n\r\n");
  });

  it("re-emits a backend's non-canonical Transfer-Encoding for a closing client", () => {
    const p = parsed("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked \r\n\r\n", false);
    const out = buildResponseHead(p, false, 1, new Uint8Array(128));
    assert.equal(out?.toString("latin1"), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
  });

  it("forwards a canonical response head unchanged", () => {
    const p = parsed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", false);
    assert.equal(buildResponseHead(p, true, 1, new Uint8Array(128)), null);
  });
});
