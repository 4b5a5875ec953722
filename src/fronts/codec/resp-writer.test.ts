import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RespWriter, type RespVersion } from "./resp-writer.js";
import { bytesOf, textOf } from "./testdata/wire.js";

function encode(protocol: RespVersion, write: (w: RespWriter) => void): string {
  const w = new RespWriter(protocol);
  write(w);
  return textOf(w.take());
}

describe("RespWriter: types both protocols share", () => {
  for (const v of [2, 3] as const) {
    it(`RESP${v}: simple, error, integer, bulk, array`, () => {
      assert.equal(encode(v, (w) => w.simple("OK")), "+OK\r\n");
      assert.equal(encode(v, (w) => w.error("ERR unknown command 'x'")), "-ERR unknown command 'x'\r\n");
      assert.equal(encode(v, (w) => w.integer(-42)), ":-42\r\n");
      assert.equal(encode(v, (w) => w.integer(9007199254740993n)), ":9007199254740993\r\n");
      assert.equal(encode(v, (w) => w.bulk(bytesOf("a\r\n\u0000"))), "$4\r\na\r\n\u0000\r\n");
      assert.equal(encode(v, (w) => w.bulk("")), "$0\r\n\r\n");
      assert.equal(encode(v, (w) => w.bulk("é")), "$2\r\n\u00c3\u00a9\r\n");
      assert.equal(encode(v, (w) => (w.array(2), w.bulk("a"), w.integer(1))), "*2\r\n$1\r\na\r\n:1\r\n");
    });
  }

  it("an error or status containing CR/LF is kept on one line, as Redis does", () => {
    assert.equal(encode(2, (w) => w.error("ERR bad\r\narg")), "-ERR bad  arg\r\n");
    assert.equal(encode(2, (w) => w.simple("a\nb")), "+a b\r\n");
  });

  it("refuses an unsafe number as an integer reply (pass a bigint)", () => {
    assert.throws(() => encode(2, (w) => w.integer(2 ** 60)), /not a safe integer/);
    assert.throws(() => encode(2, (w) => w.integer(1.5)), /not a safe integer/);
  });
});

describe("RespWriter: RESP3 types and their RESP2 forms", () => {
  const cases: [string, (w: RespWriter) => void, string, string][] = [
    ["null", (w) => w.null(), "$-1\r\n", "_\r\n"],
    ["null array", (w) => w.nullArray(), "*-1\r\n", "_\r\n"],
    ["map", (w) => (w.map(1), w.bulk("k"), w.integer(1)), "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n"],
    ["set", (w) => (w.set(1), w.bulk("m")), "*1\r\n$1\r\nm\r\n", "~1\r\n$1\r\nm\r\n"],
    ["push", (w) => (w.push(1), w.bulk("m")), "*1\r\n$1\r\nm\r\n", ">1\r\n$1\r\nm\r\n"],
    ["double", (w) => w.double(1.5), "$3\r\n1.5\r\n", ",1.5\r\n"],
    ["double inf", (w) => w.double(Infinity), "$3\r\ninf\r\n", ",inf\r\n"],
    ["double -inf", (w) => w.double(-Infinity), "$4\r\n-inf\r\n", ",-inf\r\n"],
    ["double nan", (w) => w.double(NaN), "$3\r\nnan\r\n", ",nan\r\n"],
    ["boolean true", (w) => w.boolean(true), ":1\r\n", "#t\r\n"],
    ["boolean false", (w) => w.boolean(false), ":0\r\n", "#f\r\n"],
    ["verbatim", (w) => w.verbatim("# Server\r\n"), "$10\r\n# Server\r\n\r\n", "=14\r\ntxt:# Server\r\n\r\n"],
  ];
  for (const [name, write, resp2, resp3] of cases) {
    it(`${name}: RESP2 ${JSON.stringify(resp2)}, RESP3 ${JSON.stringify(resp3)}`, () => {
      assert.equal(encode(2, write), resp2);
      assert.equal(encode(3, write), resp3);
    });
  }

  it("switching protocol mid-connection (HELLO 3) changes the next replies only", () => {
    const w = new RespWriter(2);
    w.null();
    w.protocol = 3;
    w.null();
    assert.equal(textOf(w.take()), "$-1\r\n_\r\n");
  });
});

describe("RespWriter: output buffer", () => {
  it("accumulates a pipelined batch in one buffer and empties on take()", () => {
    const w = new RespWriter(2);
    const big = new Uint8Array(100_000).fill(0x61);
    w.simple("OK");
    w.bulk(big);
    w.integer(7);
    const out = w.take();
    assert.equal(out.length, "+OK\r\n".length + "$100000\r\n".length + 100_000 + 2 + ":7\r\n".length);
    assert.equal(textOf(out.subarray(out.length - 4)), ":7\r\n");
    assert.equal(w.take().length, 0);
    w.simple("PONG");
    assert.equal(textOf(w.take()), "+PONG\r\n");
  });
});
