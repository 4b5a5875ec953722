import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../kv/testkit.js";
import { DEFAULT_MC_TEXT_LIMITS, MC_TEXT_ERRORS, McTextParser, type McTextFrame, type McTextLimits } from "./memcached-text.js";
import { bytesOf, concatBytes, feedAll, randomSplit, splitsAgree, textOf } from "./testdata/wire.js";

/** A frame as compact text: commands as JSON with keys/values as latin1, errors as "!message". */
function showFrame(f: McTextFrame): string {
  if (f.type === "error") return `!${f.message ?? "<close>"}${f.noreply ? " (noreply)" : ""}${f.close ? " (close)" : ""}`;
  return JSON.stringify(f.command, (_k, v: unknown) => (v instanceof Uint8Array ? textOf(v) : typeof v === "bigint" ? `${v}n` : v));
}

function show(frames: McTextFrame[]): string {
  return frames.map(showFrame).join(" | ");
}

function parse(stream: string, limits: Partial<McTextLimits> = {}): string {
  return show(new McTextParser(limits).feed(bytesOf(stream)));
}

describe("McTextParser: every command form", () => {
  const cases: [string, string][] = [
    ["get k\r\n", '{"op":"get","keys":["k"],"withCas":false,"touchExptimeS":null}'],
    ["get a b  c\r\n", '{"op":"get","keys":["a","b","c"],"withCas":false,"touchExptimeS":null}'],
    ["gets a b\r\n", '{"op":"get","keys":["a","b"],"withCas":true,"touchExptimeS":null}'],
    ["gat 60 a b\r\n", '{"op":"get","keys":["a","b"],"withCas":false,"touchExptimeS":60}'],
    ["gats -1 a\r\n", '{"op":"get","keys":["a"],"withCas":true,"touchExptimeS":-1}'],
    ["set k 5 100 3\r\nabc\r\n", '{"op":"store","mode":"set","key":"k","flags":5,"exptimeS":100,"casUnique":null,"noreply":false,"value":"abc"}'],
    ["add k 0 0 0\r\n\r\n", '{"op":"store","mode":"add","key":"k","flags":0,"exptimeS":0,"casUnique":null,"noreply":false,"value":""}'],
    ["replace k 4294967295 -1 2 noreply\r\nab\r\n", '{"op":"store","mode":"replace","key":"k","flags":4294967295,"exptimeS":-1,"casUnique":null,"noreply":true,"value":"ab"}'],
    ["append k 0 0 2\r\n\r\n\r\n", '{"op":"store","mode":"append","key":"k","flags":0,"exptimeS":0,"casUnique":null,"noreply":false,"value":"\\r\\n"}'],
    ["prepend k 0 0 1\r\nx\r\n", '{"op":"store","mode":"prepend","key":"k","flags":0,"exptimeS":0,"casUnique":null,"noreply":false,"value":"x"}'],
    ["cas k 0 0 1 18446744073709551615 noreply\r\nx\r\n", '{"op":"store","mode":"cas","key":"k","flags":0,"exptimeS":0,"casUnique":"18446744073709551615n","noreply":true,"value":"x"}'],
    ["delete k\r\n", '{"op":"delete","key":"k","noreply":false}'],
    ["delete k noreply\r\n", '{"op":"delete","key":"k","noreply":true}'],
    ["delete k 0\r\n", '{"op":"delete","key":"k","noreply":false}'],
    ["delete k 0 noreply\r\n", '{"op":"delete","key":"k","noreply":true}'],
    ["touch k 10\r\n", '{"op":"touch","key":"k","exptimeS":10,"noreply":false}'],
    ["touch k 10 noreply\r\n", '{"op":"touch","key":"k","exptimeS":10,"noreply":true}'],
    ["incr k 18446744073709551615\r\n", '{"op":"incr","key":"k","delta":"18446744073709551615n","noreply":false}'],
    ["decr k 1 noreply\r\n", '{"op":"decr","key":"k","delta":"1n","noreply":true}'],
    ["version\r\n", '{"op":"version"}'],
    ["stats\r\n", '{"op":"stats","args":[]}'],
    ["stats items\r\n", '{"op":"stats","args":["items"]}'],
    ["verbosity 1\r\n", '{"op":"verbosity","level":1,"noreply":false}'],
    ["verbosity 1 noreply\r\n", '{"op":"verbosity","level":1,"noreply":true}'],
    ["flush_all\r\n", '{"op":"flush_all","delayS":0,"noreply":false}'],
    ["flush_all 30\r\n", '{"op":"flush_all","delayS":30,"noreply":false}'],
    ["flush_all noreply\r\n", '{"op":"flush_all","delayS":0,"noreply":true}'],
    ["flush_all 30 noreply\r\n", '{"op":"flush_all","delayS":30,"noreply":true}'],
    ["quit\r\n", '{"op":"quit"}'],
    ["get k\n", '{"op":"get","keys":["k"],"withCas":false,"touchExptimeS":null}'],
  ];
  for (const [stream, want] of cases) {
    it(JSON.stringify(stream), () => assert.equal(parse(stream), want));
  }

  it("accepts a key of exactly 250 bytes and UTF-8 bytes in keys", () => {
    const key = "k".repeat(250);
    assert.equal(parse(`get ${key} \u00c3\u00a9\r\n`), JSON.stringify({ op: "get", keys: [key, "\u00c3\u00a9"], withCas: false, touchExptimeS: null }));
  });

  it("accepts a value of exactly the limit", () => {
    const frames = new McTextParser({ valueBytesMax: 10 }).feed(bytesOf(`set k 0 0 10\r\n${"v".repeat(10)}\r\n`));
    assert.equal(frames[0]?.type, "command");
  });

  it("copies keys and values so they do not alias the received chunk", () => {
    const chunk = bytesOf("set k 0 0 1\r\nv\r\n");
    const [frame] = new McTextParser().feed(chunk);
    chunk.fill(0);
    assert.equal(frame === undefined ? "" : showFrame(frame).includes('"key":"k"') && showFrame(frame).includes('"value":"v"'), true);
  });
});

describe("McTextParser: errors in memcached's words", () => {
  const cases: [string, string, string][] = [
    ["an unknown command", "bogus\r\n", "!ERROR"],
    ["an unknown command with noreply", "bogus noreply\r\n", "!ERROR (noreply)"],
    ["an upper-case command (memcached is case-sensitive)", "GET k\r\n", "!ERROR"],
    ["a leading space", " get k\r\n", "!ERROR"],
    ["an empty line", "\r\n", `!${MC_TEXT_ERRORS.badFormat}`],
    ["get without a key", "get\r\n", `!${MC_TEXT_ERRORS.badFormat}`],
    ["a 251-byte key", `get ${"k".repeat(251)}\r\n`, `!${MC_TEXT_ERRORS.badFormat}`],
    ["a key with a control byte", "get a\u0001b\r\n", `!${MC_TEXT_ERRORS.badFormat}`],
    ["a key with a tab", "get a\tb\r\n", `!${MC_TEXT_ERRORS.badFormat}`],
    ["gat with a bad exptime", "gat soon k\r\n", `!${MC_TEXT_ERRORS.invalidExptime}`],
    ["set with too few tokens", "set k 0 0\r\n", `!${MC_TEXT_ERRORS.badFormat}`],
    ["set with a bad byte count (no swallow: the next line is a command)", "set k 0 0 x\r\nget k\r\n", `!${MC_TEXT_ERRORS.badFormat} | {"op":"get","keys":["k"],"withCas":false,"touchExptimeS":null}`],
    ["set with a negative byte count", "set k 0 0 -1\r\n", `!${MC_TEXT_ERRORS.badFormat}`],
    ["set with bad flags (data swallowed)", "set k x 0 3\r\nabc\r\nversion\r\n", `!${MC_TEXT_ERRORS.badFormat} | {"op":"version"}`],
    ["set with negative flags", "set k -1 0 3\r\nabc\r\nversion\r\n", `!${MC_TEXT_ERRORS.badFormat} | {"op":"version"}`],
    ["set with a bad exptime", "set k 0 x 3\r\nabc\r\nversion\r\n", `!${MC_TEXT_ERRORS.badFormat} | {"op":"version"}`],
    ["set with a 251-byte key (data swallowed)", `set ${"k".repeat(251)} 0 0 3\r\nabc\r\nversion\r\n`, `!${MC_TEXT_ERRORS.badFormat} | {"op":"version"}`],
    ["cas without a cas unique", "cas k 0 0 1\r\nx\r\nversion\r\n", `!${MC_TEXT_ERRORS.badFormat} | {"op":"version"}`],
    ["noreply on a refused set", "set k x 0 1 noreply\r\nx\r\n", `!${MC_TEXT_ERRORS.badFormat} (noreply)`],
    // memcached reads exactly <bytes>+2 and checks the last two; the leftover "\r\n" is an empty line.
    ["data not followed by CRLF", "set k 0 0 3\r\nabcde\r\n", `!${MC_TEXT_ERRORS.badDataChunk} | !${MC_TEXT_ERRORS.badFormat}`],
    ["delete with a hold time other than 0", "delete k 10\r\n", `!${MC_TEXT_ERRORS.deleteUsage}`],
    ["touch without an exptime", "touch k\r\n", `!${MC_TEXT_ERRORS.badFormat}`],
    ["touch with a bad exptime", "touch k x\r\n", `!${MC_TEXT_ERRORS.invalidExptime}`],
    ["incr with a negative delta", "incr k -1\r\n", `!${MC_TEXT_ERRORS.invalidDelta}`],
    ["incr past uint64", "incr k 18446744073709551616\r\n", `!${MC_TEXT_ERRORS.invalidDelta}`],
    ["verbosity without a level", "verbosity\r\n", `!${MC_TEXT_ERRORS.badFormat}`],
    ["flush_all with a bad delay", "flush_all soon\r\n", `!${MC_TEXT_ERRORS.invalidExptime}`],
    ["an HTTP request", "GET / HTTP/1.1\r\n", "!<close> (close)"],
  ];
  for (const [name, stream, want] of cases) {
    it(`${name}: ${want}`, () => assert.equal(parse(stream), want));
  }

  it("a too-large value is refused and its data block swallowed, keeping the stream in sync", () => {
    const p = new McTextParser({ valueBytesMax: 100 });
    assert.equal(show(p.feed(bytesOf("set k 0 0 101\r\n"))), `!${MC_TEXT_ERRORS.tooLarge}`);
    assert.equal(show(p.feed(bytesOf("x".repeat(60)))), "");
    assert.equal(p.bufferedBytes, 0, "swallowed bytes are not held");
    assert.equal(show(p.feed(bytesOf(`${"y".repeat(41)}\r\nversion\r\n`))), `{"op":"version"}`, "the other 43 bytes are swallowed too");
  });

  it("a 1 GiB byte count is refused and the connection closed, holding nothing", () => {
    const p = new McTextParser();
    assert.equal(show(p.feed(bytesOf(`set k 0 0 ${1024 * 1024 * 1024}\r\n${"x".repeat(100)}`))), `!${MC_TEXT_ERRORS.tooLarge} (close)`);
    assert.equal(p.bufferedBytes, 0);
    assert.ok(p.isFailed);
    assert.equal(show(p.feed(bytesOf("version\r\n"))), "");
  });

  it("a command line over 2048 bytes closes the connection", () => {
    assert.equal(parse(`bogus ${"x".repeat(2100)}\r\n`), `!${MC_TEXT_ERRORS.lineTooLong} (close)`);
    const p = new McTextParser();
    assert.equal(show(p.feed(bytesOf("x".repeat(2048)))), "");
    assert.equal(show(p.feed(bytesOf("x"))), `!${MC_TEXT_ERRORS.lineTooLong} (close)`);
  });

  it("a multiget may run past 2048 bytes up to its own limit", () => {
    const keys = Array.from({ length: 300 }, (_, i) => `key${i}`);
    const frames = new McTextParser().feed(bytesOf(`get ${keys.join(" ")}\r\n`));
    assert.equal(frames[0]?.type === "command" && frames[0].command.op === "get" && frames[0].command.keys.length, 300);
    assert.equal(parse(`get ${"k ".repeat(600)}\r\n`, { getLineBytesMax: 1000 }), `!${MC_TEXT_ERRORS.lineTooLong} (close)`);
  });
});

describe("McTextParser: pipelining and chunk boundaries", () => {
  it("gives the same frames for every 2-chunk split and byte by byte", () => {
    const stream = bytesOf(
      "set a 1 0 5\r\nhello\r\nget a b\r\nset b 0 0 2 noreply\r\n\r\n\r\nincr n 5\r\nbogus\r\n" +
        `set ${"k".repeat(251)} 0 0 4\r\nswal\r\nset c 0 0 3\r\nabcXY\r\ndelete a\r\nquit\r\n`,
    );
    const { whole, mismatch } = splitsAgree(stream, () => new McTextParser(), show);
    assert.equal(mismatch, null);
    // set, get, set noreply, incr, ERROR, refused long key (data swallowed), bad data chunk,
    // the chunk's leftover "\r\n" as an empty line, delete, quit.
    assert.equal(whole.split(" | ").length, 10);
  });

  it("a too-large value is swallowed the same way at every split", () => {
    const stream = bytesOf(`set k 0 0 20\r\n${"z".repeat(20)}\r\nversion\r\n`);
    const { whole, mismatch } = splitsAgree(stream, () => new McTextParser({ valueBytesMax: 10 }), show);
    assert.equal(mismatch, null);
    assert.equal(whole, `!${MC_TEXT_ERRORS.tooLarge} | {"op":"version"}`);
  });
});

describe("McTextParser: seeded fuzz", () => {
  const limits: McTextLimits = { ...DEFAULT_MC_TEXT_LIMITS, valueBytesMax: 2000, getLineBytesMax: 4096, swallowBytesMax: 100_000 };
  const heldBytesMax = Math.max(limits.getLineBytesMax, limits.valueBytesMax + 2);
  const words = ["get", "gets", "set", "cas", "delete", "incr", "touch", "gat", "noreply", "0", "10", "-1", "k", "\r\n", " ", "\n"];

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: random bytes and word soup never throw and stay bounded`, () => {
      const random = seededRandom(seed);
      const int = (n: number) => Math.floor(random() * n);
      for (let stream = 0; stream < 200; stream++) {
        const p = new McTextParser(limits);
        const fed: Uint8Array[] = [];
        for (let chunk = 0; chunk < 20 && !p.isFailed; chunk++) {
          const bytes = random() < 0.4
            ? Uint8Array.from({ length: int(400) }, () => int(256))
            : bytesOf(Array.from({ length: int(40) }, () => (random() < 0.1 ? String(int(3000)) : words[int(words.length)])).join(" "));
          fed.push(bytes);
          const frames = p.feed(bytes);
          assert.ok(p.bufferedBytes <= heldBytesMax, `held ${p.bufferedBytes} bytes`);
          for (const f of frames.slice(0, -1)) assert.ok(f.type === "command" || !f.close, "only the last frame may close");
        }
        const all = concatBytes(fed);
        const whole = show(new McTextParser(limits).feed(all));
        assert.equal(show(feedAll(new McTextParser(limits), randomSplit(all, random))), whole, "chunking changed the output");
      }
    });
  }
});

describe("McTextParser: seeded round trip", () => {
  it("random set commands with binary values come back exactly, however the stream is chunked", () => {
    const random = seededRandom(77);
    const int = (n: number) => Math.floor(random() * n);
    const keyByte = () => 0x21 + int(0x7f - 0x21);
    for (let round = 0; round < 100; round++) {
      const sets = Array.from({ length: 1 + int(5) }, () => ({
        key: textOf(Uint8Array.from({ length: 1 + int(250) }, keyByte)),
        flags: int(2 ** 32),
        exptimeS: int(2 ** 31) - 2 ** 30,
        value: textOf(Uint8Array.from({ length: int(random() < 0.1 ? 5000 : 30) }, () => int(256))),
      }));
      const stream = bytesOf(sets.map((s) => `set ${s.key} ${s.flags} ${s.exptimeS} ${s.value.length}\r\n${s.value}\r\n`).join(""));
      const frames = feedAll(new McTextParser(), randomSplit(stream, random));
      assert.equal(show(frames), sets.map((s) => JSON.stringify({ op: "store", mode: "set", key: s.key, flags: s.flags, exptimeS: s.exptimeS, casUnique: null, noreply: false, value: s.value })).join(" | "));
    }
  });
});
