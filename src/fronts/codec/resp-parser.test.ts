import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../kv/testkit.js";
import { ARG_OVERHEAD_BYTES, DEFAULT_RESP_LIMITS, RESP_PROTOCOL_ERRORS, RespRequestParser, type RespFrame, type RespLimits } from "./resp-parser.js";
import { bytesOf, concatBytes, feedAll, randomSplit, splitsAgree, textOf } from "./testdata/wire.js";

function show(frames: RespFrame[]): string {
  return JSON.stringify(frames.map((f) => (f.type === "command" ? f.args.map(textOf) : `!${f.message}`)));
}

function parse(stream: string, limits: Partial<RespLimits> = {}): string {
  return show(new RespRequestParser(limits).feed(bytesOf(stream)));
}

function multibulk(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
}

describe("RespRequestParser: well-formed requests", () => {
  it("parses a multibulk command into its arguments", () => {
    assert.equal(parse(multibulk("SET", "key", "value")), JSON.stringify([["SET", "key", "value"]]));
  });

  it("keeps binary bytes, CRLF and NUL inside bulk strings", () => {
    assert.equal(parse(multibulk("SET", "k", "a\r\nb\u0000\u00ff")), JSON.stringify([["SET", "k", "a\r\nb\u0000\u00ff"]]));
  });

  it("accepts empty bulk strings", () => {
    assert.equal(parse("*2\r\n$3\r\nGET\r\n$0\r\n\r\n"), JSON.stringify([["GET", ""]]));
  });

  it("returns pipelined commands in order", () => {
    const stream = multibulk("SET", "a", "1") + "PING\r\n" + multibulk("GET", "a") + "ECHO hi\n";
    assert.equal(parse(stream), JSON.stringify([["SET", "a", "1"], ["PING"], ["GET", "a"], ["ECHO", "hi"]]));
  });

  it("skips empty and negative multibulk counts and empty inline lines, as Redis does", () => {
    assert.equal(parse("*0\r\n*-10\r\n\r\n   \r\nPING\r\n"), JSON.stringify([["PING"]]));
  });

  it("marks inline commands", () => {
    const frames = new RespRequestParser().feed(bytesOf("PING\r\n" + multibulk("PING")));
    assert.deepEqual(frames.map((f) => f.type === "command" && f.inline), [true, false]);
  });

  it("returns nothing until a command is complete", () => {
    const p = new RespRequestParser();
    assert.deepEqual(p.feed(bytesOf("*2\r\n$3\r\nGET\r\n$5\r\nab")), []);
    assert.ok(p.bufferedBytes > 0);
    assert.equal(show(p.feed(bytesOf("cde\r\n"))), JSON.stringify([["GET", "abcde"]]));
    assert.equal(p.bufferedBytes, 0);
  });

  it("gives the same commands for every 2-chunk split and byte by byte", () => {
    const stream = bytesOf(
      multibulk("SET", "session:1", "x".repeat(40)) + "GET \"a b\" 'c'\r\n" + "*0\r\n" + multibulk("MGET", "a", "", "b") + "PING\n",
    );
    const { whole, mismatch } = splitsAgree(stream, () => new RespRequestParser(), show);
    assert.equal(mismatch, null);
    assert.equal(JSON.parse(whole).length, 4);
  });

  it("gives the same error for every split of a stream that ends in a protocol error", () => {
    const stream = bytesOf(multibulk("PING") + "*1\r\n$x\r\n" + multibulk("PING"));
    const { whole, mismatch } = splitsAgree(stream, () => new RespRequestParser(), show);
    assert.equal(mismatch, null);
    assert.equal(whole, JSON.stringify([["PING"], `!${RESP_PROTOCOL_ERRORS.invalidBulkLength}`]));
  });

  it("copies arguments so they do not alias the received chunk", () => {
    const chunk = bytesOf(multibulk("SET", "k", "v"));
    const [frame] = new RespRequestParser().feed(chunk);
    chunk.fill(0);
    assert.ok(frame?.type === "command");
    assert.deepEqual(frame.args.map(textOf), ["SET", "k", "v"]);
  });
});

describe("RespRequestParser: inline commands split like sdssplitargs", () => {
  const cases: [string, string[] | null][] = [
    ["SET  k   v", ["SET", "k", "v"]],
    ["\tSET k v \t", ["SET", "k", "v"]],
    ['SET k "hello world"', ["SET", "k", "hello world"]],
    ['SET k "a\\nb\\r\\t\\"\\\\"', ["SET", "k", 'a\nb\r\t"\\']],
    ['SET k "\\x41\\x7a\\xZZ"', ["SET", "k", "AzxZZ"]],
    ["SET k 'it\\'s'", ["SET", "k", "it's"]],
    ["SET k 'a\\nb'", ["SET", "k", "a\\nb"]],
    ['SET k ""', ["SET", "k", ""]],
    ['SET k "unterminated', null],
    ["SET k 'unterminated", null],
    ['SET k "closed"x', null],
    ["SET k 'closed'x", null],
    ['ab"cd ef"', ["abcd ef"]],
    ["GET a\u0000 ignored", ["GET", "a"]],
  ];
  for (const [line, want] of cases) {
    it(`${JSON.stringify(line)} → ${JSON.stringify(want)}`, () => {
      const expected = want === null ? [`!${RESP_PROTOCOL_ERRORS.unbalancedQuotes}`] : [want];
      assert.equal(parse(`${line}\r\n`), JSON.stringify(expected));
    });
  }
});

describe("RespRequestParser: malformed requests get Redis's error and never a throw", () => {
  const error = (m: string) => JSON.stringify([`!${m}`]);
  const cases: [string, string, string][] = [
    ["a non-numeric multibulk count", "*x\r\n", RESP_PROTOCOL_ERRORS.invalidMultibulkLength],
    ["an empty multibulk count", "*\r\n", RESP_PROTOCOL_ERRORS.invalidMultibulkLength],
    ["a '+' sign in a count", "*+1\r\n", RESP_PROTOCOL_ERRORS.invalidMultibulkLength],
    ["a leading zero in a count", "*01\r\n", RESP_PROTOCOL_ERRORS.invalidMultibulkLength],
    ["an out-of-range multibulk count", "*20000000\r\n", RESP_PROTOCOL_ERRORS.invalidMultibulkLength],
    ["a count past int64", "*99999999999999999999\r\n", RESP_PROTOCOL_ERRORS.invalidMultibulkLength],
    ["a count line without LF", "*1\rX", RESP_PROTOCOL_ERRORS.invalidMultibulkLength],
    ["a missing '$'", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "ERR Protocol error: expected '$', got 'f'"],
    ["a negative bulk length", "*1\r\n$-1\r\n", RESP_PROTOCOL_ERRORS.invalidBulkLength],
    ["a non-numeric bulk length", "*1\r\n$abc\r\n", RESP_PROTOCOL_ERRORS.invalidBulkLength],
    ["a 1 GiB bulk length prefix", `*1\r\n$${1024 * 1024 * 1024}\r\n`, RESP_PROTOCOL_ERRORS.invalidBulkLength],
    ["a bulk length over the limit by one", `*1\r\n$${DEFAULT_RESP_LIMITS.bulkBytesMax + 1}\r\n`, RESP_PROTOCOL_ERRORS.invalidBulkLength],
    ["bulk data not followed by CRLF", "*1\r\n$3\r\nabcde\r\n", RESP_PROTOCOL_ERRORS.invalidBulkLength],
    ["a bulk length line without LF", "*1\r\n$3\rxabc\r\n", RESP_PROTOCOL_ERRORS.invalidBulkLength],
  ];
  for (const [name, stream, message] of cases) {
    it(`${name}: ${JSON.stringify(message)}`, () => {
      assert.equal(parse(stream), error(message));
    });
  }

  it("an expected-'$' error shows an unprintable byte as a space", () => {
    assert.equal(parse("*1\r\n\u0001\r\n"), error("ERR Protocol error: expected '$', got ' '"));
  });

  it("accepts a bulk of exactly the limit", () => {
    const limit = 1000;
    const frames = new RespRequestParser({ bulkBytesMax: limit }).feed(bytesOf(multibulk("SET", "k", "v".repeat(limit))));
    assert.equal(frames[0]?.type, "command");
  });

  it("refuses an inline request over the limit without a newline", () => {
    const p = new RespRequestParser({ inlineBytesMax: 100 });
    assert.deepEqual(p.feed(bytesOf("x".repeat(100))), []);
    assert.equal(show(p.feed(bytesOf("x"))), error(RESP_PROTOCOL_ERRORS.tooBigInline));
  });

  it("refuses an inline line longer than the limit even with its newline", () => {
    assert.equal(parse(`${"x".repeat(101)}\r\n`, { inlineBytesMax: 100 }), error(RESP_PROTOCOL_ERRORS.tooBigInline));
  });

  it("refuses a count or length line with no CR within the limit", () => {
    assert.equal(parse(`*${"1".repeat(200)}`, { inlineBytesMax: 100 }), error(RESP_PROTOCOL_ERRORS.tooBigMultibulkCount));
    assert.equal(parse(`*1\r\n$${"1".repeat(200)}`, { inlineBytesMax: 100 }), error(RESP_PROTOCOL_ERRORS.tooBigBulkCount));
  });

  it("refuses a command whose arguments exceed the request limit", () => {
    const limits = { requestBytesMax: 3 * (10 + ARG_OVERHEAD_BYTES) };
    assert.equal(parse(multibulk("a".repeat(10), "b".repeat(10), "c".repeat(10)), limits).includes("!"), false);
    assert.equal(parse(multibulk("a".repeat(10), "b".repeat(10), "c".repeat(11)), limits), error(RESP_PROTOCOL_ERRORS.tooBigRequest));
  });

  it("applies Redis's pre-AUTH limits while auth is required, and lifts them after", () => {
    const p = new RespRequestParser();
    p.setAuthRequired(true);
    assert.equal(show(p.feed(bytesOf(multibulk(..."a".repeat(11).split(""))))), error(RESP_PROTOCOL_ERRORS.unauthenticatedMultibulkLength));
    const q = new RespRequestParser();
    q.setAuthRequired(true);
    assert.equal(show(q.feed(bytesOf(multibulk("SET", "k", "v".repeat(16385))))), error(RESP_PROTOCOL_ERRORS.unauthenticatedBulkLength));
    const r = new RespRequestParser();
    r.setAuthRequired(true);
    assert.equal(show(r.feed(bytesOf(multibulk("AUTH", "token")))), JSON.stringify([["AUTH", "token"]]));
    r.setAuthRequired(false);
    assert.equal(r.feed(bytesOf(multibulk("SET", "k", "v".repeat(16385))))[0]?.type, "command");
  });

  it("answers commands before a protocol error, then nothing more", () => {
    const p = new RespRequestParser();
    assert.equal(show(p.feed(bytesOf(`${multibulk("PING")}*x\r\n${multibulk("PING")}`))), JSON.stringify([["PING"], `!${RESP_PROTOCOL_ERRORS.invalidMultibulkLength}`]));
    assert.ok(p.isFailed);
    assert.deepEqual(p.feed(bytesOf(multibulk("PING"))), []);
    assert.equal(p.bufferedBytes, 0);
  });

  it("a 1 GiB length prefix followed by data buffers nothing of it", () => {
    const p = new RespRequestParser();
    const frames = p.feed(bytesOf(`*1\r\n$1073741824\r\n${"x".repeat(1000)}`));
    assert.equal(show(frames), error(RESP_PROTOCOL_ERRORS.invalidBulkLength));
    assert.equal(p.bufferedBytes, 0);
  });

  it("holds only the bytes that arrived of an allowed large bulk", () => {
    const p = new RespRequestParser();
    p.feed(bytesOf(`*1\r\n$${DEFAULT_RESP_LIMITS.bulkBytesMax}\r\nabc`));
    assert.equal(p.bufferedBytes, 3);
  });
});

describe("RespRequestParser: seeded fuzz", () => {
  const limits: RespLimits = { bulkBytesMax: 4096, multibulkCountMax: 64, inlineBytesMax: 512, requestBytesMax: 16 * 1024 };
  // After next() returns null the parser holds at most one partial line or one partial bulk plus
  // the arguments of the command in progress.
  const heldBytesMax = limits.requestBytesMax + limits.bulkBytesMax + limits.inlineBytesMax + 2;
  const alphabet = bytesOf("*$\r\n0123456789-+ \"'\\x abcSETGET");

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: random bytes and mutated requests never throw and stay bounded`, () => {
      const random = seededRandom(seed);
      const int = (n: number) => Math.floor(random() * n);
      for (let stream = 0; stream < 200; stream++) {
        const p = new RespRequestParser(limits);
        const fed: Uint8Array[] = [];
        for (let chunk = 0; chunk < 20 && !p.isFailed; chunk++) {
          let bytes: Uint8Array;
          const kind = random();
          if (kind < 0.3) {
            bytes = Uint8Array.from({ length: int(300) }, () => int(256));
          } else if (kind < 0.6) {
            bytes = Uint8Array.from({ length: int(300) }, () => alphabet[int(alphabet.length)] as number);
          } else {
            bytes = bytesOf(multibulk("SET", `k${int(100)}`, "v".repeat(int(3000))));
            for (let m = int(3); m > 0; m--) bytes[int(bytes.length)] = int(256);
          }
          fed.push(bytes);
          const frames = p.feed(bytes);
          assert.ok(p.bufferedBytes <= heldBytesMax, `held ${p.bufferedBytes} bytes`);
          for (const f of frames.slice(0, -1)) assert.equal(f.type, "command", "only the last frame may be an error");
        }
        const all = concatBytes(fed);
        const whole = show(new RespRequestParser(limits).feed(all));
        assert.equal(show(feedAll(new RespRequestParser(limits), randomSplit(all, random))), whole, "chunking changed the output");
      }
    });
  }
});

describe("RespRequestParser: large pipelines", () => {
  it("returns 10 000 pipelined commands from one chunk in order, holding nothing after", () => {
    const p = new RespRequestParser();
    const stream = Array.from({ length: 10_000 }, (_, i) => multibulk("SET", `k${i}`, `v${i}`)).join("");
    const frames = p.feed(bytesOf(stream));
    assert.equal(frames.length, 10_000);
    assert.deepEqual(frames.map((f) => (f.type === "command" ? textOf(f.args[1] as Uint8Array) : "!")).filter((k, i) => k !== `k${i}`), []);
    assert.equal(p.bufferedBytes, 0);
  });

  it("a value arriving in many small chunks is assembled intact", () => {
    const p = new RespRequestParser();
    const value = Array.from({ length: 100_000 }, (_, i) => String.fromCharCode(i % 251)).join("");
    const stream = bytesOf(multibulk("SET", "k", value));
    const frames = [];
    for (let at = 0; at < stream.length; at += 1000) frames.push(...p.feed(stream.subarray(at, at + 1000)));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]?.type === "command" && textOf(frames[0].args[2] as Uint8Array), value);
  });
});

describe("RespRequestParser: seeded round trip", () => {
  it("random binary arguments encoded as multibulk come back exactly, however the stream is chunked", () => {
    const random = seededRandom(99);
    const int = (n: number) => Math.floor(random() * n);
    for (let round = 0; round < 100; round++) {
      const commands = Array.from({ length: 1 + int(5) }, () =>
        Array.from({ length: 1 + int(4) }, () => Uint8Array.from({ length: int(random() < 0.1 ? 3000 : 20) }, () => int(256))));
      const stream = concatBytes(commands.map((args) => concatBytes([bytesOf(`*${args.length}\r\n`), ...args.flatMap((a) => [bytesOf(`$${a.length}\r\n`), a, bytesOf("\r\n")])])));
      const frames = feedAll(new RespRequestParser(), randomSplit(stream, random));
      assert.equal(show(frames), JSON.stringify(commands.map((args) => args.map(textOf))));
    }
  });
});

describe("RespRequestParser: binary garbage", () => {
  it("every byte value in order: the NUL-led first line is empty, the rest waits for a newline", () => {
    const p = new RespRequestParser();
    const frames = p.feed(Uint8Array.from({ length: 256 }, (_, i) => i));
    assert.deepEqual(frames, []);
    assert.equal(p.bufferedBytes, 256 - 11);
  });

  it("garbage after '*' is an invalid multibulk length", () => {
    assert.equal(show(new RespRequestParser().feed(Uint8Array.from([0x2a, 0xff, 0xfe, 0x0d, 0x0a]))), JSON.stringify([`!${RESP_PROTOCOL_ERRORS.invalidMultibulkLength}`]));
  });

  it("garbage where a '$' belongs names the byte", () => {
    assert.equal(show(new RespRequestParser().feed(bytesOf("*1\r\n#junk\r\n"))), JSON.stringify(["!ERR Protocol error: expected '$', got '#'"]));
  });
});
