import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RespReplyError, RespReplyParser, type RespValue } from "./resp-reply-parser.js";
import { RespWriter, type RespVersion } from "./resp-writer.js";
import { bytesOf, splitsAgree, textOf } from "./testdata/wire.js";

function show(values: RespValue[]): string {
  return JSON.stringify(values, (_k, v: unknown) => (v instanceof Uint8Array ? `b:${textOf(v)}` : typeof v === "bigint" ? `${v}n` : typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}

/** Everything RespWriter can write, as one reply stream. */
function writeAll(w: RespWriter): void {
  w.simple("OK");
  w.error("ERR nope");
  w.integer(-5);
  w.integer(2n ** 62n);
  w.bulk(bytesOf("a\r\nb"));
  w.null();
  w.nullArray();
  w.array(2);
  w.bulk("x");
  w.map(1);
  w.bulk("k");
  w.integer(1);
  w.set(1);
  w.bulk("m");
  w.push(2);
  w.bulk("message");
  w.bulk("hi");
  w.double(1.25);
  w.double(-Infinity);
  w.boolean(true);
  w.verbatim("# Server\r\nredis_version:7\r\n");
}

describe("RespReplyParser reads back what RespWriter writes", () => {
  const expected: Record<RespVersion, string> = {
    2: show([
      { type: "simple", text: "OK" }, { type: "error", text: "ERR nope" }, { type: "integer", value: -5n }, { type: "integer", value: 2n ** 62n },
      { type: "bulk", value: bytesOf("a\r\nb") }, { type: "null" }, { type: "null" },
      { type: "array", items: [{ type: "bulk", value: bytesOf("x") }, { type: "array", items: [{ type: "bulk", value: bytesOf("k") }, { type: "integer", value: 1n }] }] },
      { type: "array", items: [{ type: "bulk", value: bytesOf("m") }] },
      { type: "array", items: [{ type: "bulk", value: bytesOf("message") }, { type: "bulk", value: bytesOf("hi") }] },
      { type: "bulk", value: bytesOf("1.25") }, { type: "bulk", value: bytesOf("-inf") }, { type: "integer", value: 1n },
      { type: "bulk", value: bytesOf("# Server\r\nredis_version:7\r\n") },
    ]),
    3: show([
      { type: "simple", text: "OK" }, { type: "error", text: "ERR nope" }, { type: "integer", value: -5n }, { type: "integer", value: 2n ** 62n },
      { type: "bulk", value: bytesOf("a\r\nb") }, { type: "null" }, { type: "null" },
      { type: "array", items: [{ type: "bulk", value: bytesOf("x") }, { type: "map", entries: [[{ type: "bulk", value: bytesOf("k") }, { type: "integer", value: 1n }]] }] },
      { type: "set", items: [{ type: "bulk", value: bytesOf("m") }] },
      { type: "push", items: [{ type: "bulk", value: bytesOf("message") }, { type: "bulk", value: bytesOf("hi") }] },
      { type: "double", value: 1.25 }, { type: "double", value: -Infinity }, { type: "boolean", value: true },
      { type: "verbatim", format: "txt", text: "# Server\r\nredis_version:7\r\n" },
    ]),
  };
  for (const version of [2, 3] as const) {
    it(`RESP${version}: every type, at every 2-chunk split`, () => {
      const w = new RespWriter(version);
      writeAll(w);
      const stream = w.take();
      const { whole, mismatch } = splitsAgree(stream, () => new RespReplyParser(), show);
      assert.equal(mismatch, null);
      assert.equal(whole, expected[version]);
    });
  }
});

describe("RespReplyParser: malformed replies", () => {
  const cases: [string, string, RegExp][] = [
    ["an unknown type byte", "?x\r\n", /unknown type byte/],
    ["a bad integer", ":12a\r\n", /integer/],
    ["a bad bulk length", "$x\r\n", /not an integer/],
    ["bulk data without CRLF", "$1\r\nab\r\n", /not followed by CRLF/],
    ["CR without LF", "+OK\rX", /CR without LF/],
    ["a bad boolean", "#x\r\n", /boolean/],
  ];
  for (const [name, stream, pattern] of cases) {
    it(`${name} throws RespReplyError`, () => {
      assert.throws(() => new RespReplyParser().feed(bytesOf(stream)), (e: unknown) => e instanceof RespReplyError && pattern.test(e.message));
    });
  }

  it("refuses nesting deeper than the limit and lengths over the limit", () => {
    assert.throws(() => new RespReplyParser({ depthMax: 3 }).feed(bytesOf("*1\r\n".repeat(5) + ":1\r\n")), /nested deeper/);
    assert.throws(() => new RespReplyParser({ bulkBytesMax: 10 }).feed(bytesOf("$11\r\n")), /over the limit/);
  });

  it("waits for an incomplete reply", () => {
    const p = new RespReplyParser();
    assert.deepEqual(p.feed(bytesOf("*2\r\n$1\r\na\r\n")), []);
    assert.equal(show(p.feed(bytesOf(":7\r\n"))), show([{ type: "array", items: [{ type: "bulk", value: bytesOf("a") }, { type: "integer", value: 7n }] }]));
  });
});
