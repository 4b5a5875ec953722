import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { McTextWriter, memcachedProtocolOf } from "./memcached-text-writer.js";
import { bytesOf, textOf } from "./testdata/wire.js";

describe("McTextWriter", () => {
  it("writes a multiget reply: VALUE lines with flags and byte counts, binary-safe data, END", () => {
    const w = new McTextWriter();
    w.value(bytesOf("a"), 5, bytesOf("x\r\ny"));
    w.value(bytesOf("b"), 0xffffffff, bytesOf(""), 42n);
    w.end();
    assert.equal(textOf(w.take()), "VALUE a 5 4\r\nx\r\ny\r\nVALUE b 4294967295 0 42\r\n\r\nEND\r\n");
  });

  it("writes status lines, counters, stats and the version", () => {
    const w = new McTextWriter();
    w.line("STORED");
    w.line("CLIENT_ERROR bad data chunk");
    w.counter(18446744073709551615n);
    w.stat("curr_items", 3);
    w.version("1.6.0-phalanx");
    assert.equal(textOf(w.take()), "STORED\r\nCLIENT_ERROR bad data chunk\r\n18446744073709551615\r\nSTAT curr_items 3\r\nVERSION 1.6.0-phalanx\r\n");
  });

  it("keeps a reply on one line", () => {
    const w = new McTextWriter();
    w.line("SERVER_ERROR a\r\nb");
    assert.equal(textOf(w.take()), "SERVER_ERROR a  b\r\n");
  });
});

describe("memcachedProtocolOf", () => {
  it("0x80 is binary, anything else text", () => {
    assert.equal(memcachedProtocolOf(0x80), "binary");
    assert.equal(memcachedProtocolOf("g".charCodeAt(0)), "text");
    assert.equal(memcachedProtocolOf(0x81), "text");
  });
});
