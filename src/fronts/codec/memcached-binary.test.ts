import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../kv/testkit.js";
import {
  DEFAULT_MC_BINARY_LIMITS, MC_BINARY_HEADER_BYTES, MC_BINARY_OPCODES, MC_BINARY_STATUS, McBinaryParser, binaryResponseWanted, writeBinaryCounter, writeBinaryError,
  writeBinaryGetHit, writeBinaryGetMiss, writeBinaryResponse, type McBinaryFrame, type McBinaryLimits, type McBinaryRequest,
} from "./memcached-binary.js";
import { OutputBuffer } from "./output-buffer.js";
import { bytesOf, concatBytes, feedAll, randomSplit, splitsAgree, textOf } from "./testdata/wire.js";

/** A request packet; `bodyBytes` overrides the computed total body length (for malformed packets). */
function packet(p: { opcode: number; key?: string; extras?: Uint8Array; value?: string; opaque?: number; cas?: bigint; magic?: number; bodyBytes?: number }): Uint8Array {
  const key = bytesOf(p.key ?? "");
  const extras = p.extras ?? new Uint8Array(0);
  const value = bytesOf(p.value ?? "");
  const header = new Uint8Array(MC_BINARY_HEADER_BYTES);
  const dv = new DataView(header.buffer);
  dv.setUint8(0, p.magic ?? 0x80);
  dv.setUint8(1, p.opcode);
  dv.setUint16(2, key.length);
  dv.setUint8(4, extras.length);
  dv.setUint32(8, p.bodyBytes ?? extras.length + key.length + value.length);
  dv.setUint32(12, p.opaque ?? 0);
  dv.setBigUint64(16, p.cas ?? 0n);
  return concatBytes([header, extras, key, value]);
}

function u32s(...ns: number[]): Uint8Array {
  const out = new Uint8Array(ns.length * 4);
  ns.forEach((n, i) => new DataView(out.buffer).setUint32(i * 4, n));
  return out;
}

function incrExtras(delta: bigint, initial: bigint, exptime: number): Uint8Array {
  const out = new Uint8Array(20);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, delta);
  dv.setBigUint64(8, initial);
  dv.setUint32(16, exptime);
  return out;
}

function showFrame(f: McBinaryFrame): string {
  if (f.type === "error") return `!op=${f.opcode} opaque=${f.opaque} status=${f.status ?? "none"}${f.close ? " close" : ""}`;
  const r = f.request;
  const parts = [`${r.op}${r.quiet ? " quiet" : ""}${r.returnsKey ? " +key" : ""}`, `key=${textOf(r.key)}`, `value=${textOf(r.value)}`, `opaque=${r.opaque}`];
  if (r.cas !== 0n) parts.push(`cas=${r.cas}`);
  if (r.flags !== 0) parts.push(`flags=${r.flags}`);
  if (r.exptimeS !== 0) parts.push(`exptime=${r.exptimeS}`);
  if (r.delta !== 0n || r.initial !== 0n) parts.push(`delta=${r.delta} initial=${r.initial}`);
  if (r.level !== 0) parts.push(`level=${r.level}`);
  return parts.join(" ");
}

function show(frames: McBinaryFrame[]): string {
  return frames.map(showFrame).join(" | ");
}

function parse(bytes: Uint8Array, limits: Partial<McBinaryLimits> = {}): string {
  return show(new McBinaryParser(limits).feed(bytes));
}

describe("McBinaryParser: every opcode", () => {
  const cases: [string, Uint8Array, string][] = [
    ["Get", packet({ opcode: 0x00, key: "k", opaque: 7 }), "get key=k value= opaque=7"],
    ["GetQ", packet({ opcode: 0x09, key: "k" }), "get quiet key=k value= opaque=0"],
    ["GetK", packet({ opcode: 0x0c, key: "k" }), "get +key key=k value= opaque=0"],
    ["GetKQ", packet({ opcode: 0x0d, key: "k" }), "get quiet +key key=k value= opaque=0"],
    ["Set", packet({ opcode: 0x01, key: "k", extras: u32s(0xdeadbeef, 3600), value: "v\r\n", cas: 9n }), "set key=k value=v\r\n opaque=0 cas=9 flags=3735928559 exptime=3600"],
    ["SetQ", packet({ opcode: 0x11, key: "k", extras: u32s(0, 0), value: "" }), "set quiet key=k value= opaque=0"],
    ["Add", packet({ opcode: 0x02, key: "k", extras: u32s(1, 0), value: "v" }), "add key=k value=v opaque=0 flags=1"],
    ["AddQ", packet({ opcode: 0x12, key: "k", extras: u32s(0, 0), value: "v" }), "add quiet key=k value=v opaque=0"],
    ["Replace", packet({ opcode: 0x03, key: "k", extras: u32s(0, 0), value: "v" }), "replace key=k value=v opaque=0"],
    ["ReplaceQ", packet({ opcode: 0x13, key: "k", extras: u32s(0, 0), value: "v" }), "replace quiet key=k value=v opaque=0"],
    ["Delete", packet({ opcode: 0x04, key: "k", cas: 3n }), "delete key=k value= opaque=0 cas=3"],
    ["DeleteQ", packet({ opcode: 0x14, key: "k" }), "delete quiet key=k value= opaque=0"],
    ["Increment", packet({ opcode: 0x05, key: "n", extras: incrExtras(5n, 10n, 0xffffffff) }), "increment key=n value= opaque=0 exptime=4294967295 delta=5 initial=10"],
    ["IncrementQ", packet({ opcode: 0x15, key: "n", extras: incrExtras(1n, 0n, 0) }), "increment quiet key=n value= opaque=0 delta=1 initial=0"],
    ["Decrement", packet({ opcode: 0x06, key: "n", extras: incrExtras(2n ** 64n - 1n, 0n, 60) }), `decrement key=n value= opaque=0 exptime=60 delta=${2n ** 64n - 1n} initial=0`],
    ["DecrementQ", packet({ opcode: 0x16, key: "n", extras: incrExtras(1n, 0n, 0) }), "decrement quiet key=n value= opaque=0 delta=1 initial=0"],
    ["Quit", packet({ opcode: 0x07 }), "quit key= value= opaque=0"],
    ["QuitQ", packet({ opcode: 0x17 }), "quit quiet key= value= opaque=0"],
    ["Flush", packet({ opcode: 0x08 }), "flush key= value= opaque=0"],
    ["Flush with a delay", packet({ opcode: 0x08, extras: u32s(30) }), "flush key= value= opaque=0 exptime=30"],
    ["FlushQ", packet({ opcode: 0x18 }), "flush quiet key= value= opaque=0"],
    ["Noop", packet({ opcode: 0x0a, opaque: 0xffffffff }), "noop key= value= opaque=4294967295"],
    ["Version", packet({ opcode: 0x0b }), "version key= value= opaque=0"],
    ["Append", packet({ opcode: 0x0e, key: "k", value: "tail" }), "append key=k value=tail opaque=0"],
    ["AppendQ", packet({ opcode: 0x19, key: "k", value: "tail" }), "append quiet key=k value=tail opaque=0"],
    ["Prepend", packet({ opcode: 0x0f, key: "k", value: "head" }), "prepend key=k value=head opaque=0"],
    ["PrependQ", packet({ opcode: 0x1a, key: "k", value: "head" }), "prepend quiet key=k value=head opaque=0"],
    ["Stat", packet({ opcode: 0x10 }), "stat key= value= opaque=0"],
    ["Stat with a group", packet({ opcode: 0x10, key: "items" }), "stat key=items value= opaque=0"],
    ["Verbosity", packet({ opcode: 0x1b, extras: u32s(2) }), "verbosity key= value= opaque=0 level=2"],
    ["Touch", packet({ opcode: 0x1c, key: "k", extras: u32s(100) }), "touch key=k value= opaque=0 exptime=100"],
    ["GAT", packet({ opcode: 0x1d, key: "k", extras: u32s(100) }), "gat key=k value= opaque=0 exptime=100"],
    ["GATQ", packet({ opcode: 0x1e, key: "k", extras: u32s(100) }), "gat quiet key=k value= opaque=0 exptime=100"],
    ["GATK", packet({ opcode: 0x23, key: "k", extras: u32s(100) }), "gat +key key=k value= opaque=0 exptime=100"],
    ["GATKQ", packet({ opcode: 0x24, key: "k", extras: u32s(100) }), "gat quiet +key key=k value= opaque=0 exptime=100"],
  ];
  for (const [name, bytes, want] of cases) {
    it(name, () => assert.equal(parse(bytes), want));
  }

  it("covers every opcode in the table", () => {
    const tested = new Set(cases.map(([, bytes]) => bytes[1]));
    for (const opcode of MC_BINARY_OPCODES.keys()) assert.ok(tested.has(opcode), `opcode 0x${opcode.toString(16)} untested`);
  });

  it("accepts a key of any bytes up to 250 and a value of exactly the limit", () => {
    const key = "\u0000\u00ff ".repeat(83) + "k";
    assert.equal(key.length, 250);
    const frames = new McBinaryParser({ valueBytesMax: 10 }).feed(packet({ opcode: 0x01, key, extras: u32s(0, 0), value: "v".repeat(10) }));
    assert.equal(frames[0]?.type === "request" && textOf(frames[0].request.key), key);
  });
});

describe("McBinaryParser: malformed packets", () => {
  const { invalidArguments, unknownCommand, valueTooLarge } = MC_BINARY_STATUS;
  const cases: [string, Uint8Array, string][] = [
    ["a bad magic byte closes without a reply", packet({ opcode: 0x00, key: "k", magic: 0x81 }), "!op=0 opaque=0 status=none close"],
    // The "opaque" of text is whatever bytes 12..15 were (CR LF "ge" here); nothing is answered anyway.
    ["text sent to the binary port closes without a reply", bytesOf("get k\r\n".repeat(4)), `!op=101 opaque=${0x0d0a6765} status=none close`],
    ["key and extras longer than the body", packet({ opcode: 0x00, key: "key", bodyBytes: 2 }), `!op=0 opaque=0 status=${unknownCommand} close`],
    ["Get with extras", packet({ opcode: 0x00, key: "k", extras: u32s(1) }), `!op=0 opaque=0 status=${invalidArguments} close`],
    ["Get with a value", packet({ opcode: 0x00, key: "k", value: "v" }), `!op=0 opaque=0 status=${invalidArguments} close`],
    ["Get without a key", packet({ opcode: 0x00 }), `!op=0 opaque=0 status=${invalidArguments} close`],
    ["Set without extras", packet({ opcode: 0x01, key: "k", value: "v" }), `!op=1 opaque=0 status=${invalidArguments} close`],
    ["Set without a key", packet({ opcode: 0x01, extras: u32s(0, 0), value: "v" }), `!op=1 opaque=0 status=${invalidArguments} close`],
    ["Increment with short extras", packet({ opcode: 0x05, key: "k", extras: u32s(1) }), `!op=5 opaque=0 status=${invalidArguments} close`],
    ["Noop with a body", packet({ opcode: 0x0a, value: "x" }), `!op=10 opaque=0 status=${invalidArguments} close`],
    ["Flush with 3 bytes of extras", packet({ opcode: 0x08, extras: new Uint8Array(3) }), `!op=8 opaque=0 status=${invalidArguments} close`],
    ["Touch without extras", packet({ opcode: 0x1c, key: "k" }), `!op=28 opaque=0 status=${invalidArguments} close`],
    ["a 251-byte key", packet({ opcode: 0x00, key: "k".repeat(251) }), `!op=0 opaque=0 status=${invalidArguments} close`],
  ];
  for (const [name, bytes, want] of cases) {
    it(`${name}: ${want}`, () => {
      const p = new McBinaryParser();
      assert.equal(show(p.feed(bytes)), want);
      assert.ok(p.isFailed);
      assert.equal(p.bufferedBytes, 0);
    });
  }

  it("an unknown opcode is answered and its body skipped; the next packet is parsed", () => {
    const stream = concatBytes([packet({ opcode: 0x42, key: "k", value: "body", opaque: 5 }), packet({ opcode: 0x0a, opaque: 6 })]);
    assert.equal(parse(stream), `!op=66 opaque=5 status=${unknownCommand} | noop key= value= opaque=6`);
  });

  it("a too-large value is answered Too large. and skipped unbuffered; the stream stays in sync", () => {
    const p = new McBinaryParser({ valueBytesMax: 100 });
    const big = packet({ opcode: 0x01, key: "k", extras: u32s(0, 0), value: "x".repeat(500), opaque: 1 });
    assert.equal(show(p.feed(big.subarray(0, 200))), `!op=1 opaque=1 status=${valueTooLarge}`);
    assert.equal(p.bufferedBytes, 0);
    assert.equal(show(p.feed(concatBytes([big.subarray(200), packet({ opcode: 0x0b, opaque: 2 })]))), "version key= value= opaque=2");
  });

  it("a 1 GiB body length is refused from the header alone and the connection closed", () => {
    const p = new McBinaryParser();
    const header = packet({ opcode: 0x01, key: "k", extras: u32s(0, 0), bodyBytes: 1024 * 1024 * 1024 });
    assert.equal(show(p.feed(concatBytes([header, new Uint8Array(1000)]))), `!op=1 opaque=0 status=${valueTooLarge} close`);
    assert.equal(p.bufferedBytes, 0);
  });

  it("waits for a whole header and a whole body", () => {
    const p = new McBinaryParser();
    const bytes = packet({ opcode: 0x00, key: "session:1" });
    assert.equal(show(p.feed(bytes.subarray(0, 23))), "");
    assert.equal(show(p.feed(bytes.subarray(23, 30))), "");
    assert.equal(show(p.feed(bytes.subarray(30))), "get key=session:1 value= opaque=0");
  });
});

describe("McBinaryParser: pipelining and chunk boundaries", () => {
  it("gives the same frames for every 2-chunk split and byte by byte", () => {
    const stream = concatBytes([
      packet({ opcode: 0x11, key: "a", extras: u32s(1, 0), value: "hello", opaque: 1 }),
      packet({ opcode: 0x0d, key: "a", opaque: 2 }),
      packet({ opcode: 0x42, value: "skip me", opaque: 3 }),
      packet({ opcode: 0x01, key: "b", extras: u32s(0, 0), value: "y".repeat(40), opaque: 4 }),
      packet({ opcode: 0x05, key: "n", extras: incrExtras(1n, 0n, 0), opaque: 5 }),
      packet({ opcode: 0x0a, opaque: 6 }),
    ]);
    const { whole, mismatch } = splitsAgree(stream, () => new McBinaryParser({ valueBytesMax: 20 }), show);
    assert.equal(mismatch, null);
    assert.equal(whole.split(" | ").length, 6);
    assert.match(whole, /opaque=4 status=3\b/);
  });
});

describe("memcached binary responses", () => {
  function responseHeader(bytes: Uint8Array): { magic: number; opcode: number; keyBytes: number; extrasBytes: number; status: number; bodyBytes: number; opaque: number; cas: bigint } {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { magic: dv.getUint8(0), opcode: dv.getUint8(1), keyBytes: dv.getUint16(2), extrasBytes: dv.getUint8(4), status: dv.getUint16(6), bodyBytes: dv.getUint32(8), opaque: dv.getUint32(12), cas: dv.getBigUint64(16) };
  }
  const request = (bytes: Uint8Array): McBinaryRequest => {
    const [f] = new McBinaryParser().feed(bytes);
    assert.ok(f?.type === "request");
    return f.request;
  };

  it("a GetK hit carries flags as extras, the key, the value, and echoes opaque and CAS", () => {
    const out = new OutputBuffer();
    writeBinaryGetHit(out, request(packet({ opcode: 0x0c, key: "k", opaque: 77 })), { flags: 0xcafe, cas: 123n, value: bytesOf("val") });
    const bytes = out.take();
    assert.deepEqual(responseHeader(bytes), { magic: 0x81, opcode: 0x0c, keyBytes: 1, extrasBytes: 4, status: 0, bodyBytes: 8, opaque: 77, cas: 123n });
    assert.equal(new DataView(bytes.buffer).getUint32(24), 0xcafe);
    assert.equal(textOf(bytes.subarray(28)), "kval");
  });

  it("a Get hit has no key", () => {
    const out = new OutputBuffer();
    writeBinaryGetHit(out, request(packet({ opcode: 0x00, key: "k" })), { flags: 0, cas: 1n, value: bytesOf("v") });
    assert.equal(responseHeader(out.take()).keyBytes, 0);
  });

  it("a Get miss says Not found; a GetK miss echoes the key", () => {
    const out = new OutputBuffer();
    writeBinaryGetMiss(out, request(packet({ opcode: 0x00, key: "k", opaque: 1 })));
    const miss = out.take();
    assert.equal(responseHeader(miss).status, MC_BINARY_STATUS.keyNotFound);
    assert.equal(textOf(miss.subarray(24)), "Not found");
    writeBinaryGetMiss(out, request(packet({ opcode: 0x0c, key: "kk", opaque: 1 })));
    const missK = out.take();
    assert.equal(responseHeader(missK).keyBytes, 2);
    assert.equal(textOf(missK.subarray(24)), "kk");
  });

  it("errors carry memcached's message", () => {
    const out = new OutputBuffer();
    writeBinaryError(out, 0x01, 9, MC_BINARY_STATUS.valueTooLarge);
    const bytes = out.take();
    assert.equal(responseHeader(bytes).status, 3);
    assert.equal(responseHeader(bytes).opaque, 9);
    assert.equal(textOf(bytes.subarray(24)), "Too large.");
  });

  it("a counter is 8 big-endian bytes", () => {
    const out = new OutputBuffer();
    writeBinaryCounter(out, request(packet({ opcode: 0x05, key: "n", extras: incrExtras(1n, 0n, 0) })), 2n ** 64n - 2n, 5n);
    const bytes = out.take();
    assert.equal(responseHeader(bytes).bodyBytes, 8);
    assert.equal(new DataView(bytes.buffer).getBigUint64(24), 2n ** 64n - 2n);
  });

  it("a bare response (Noop, SetQ failure) is just the header", () => {
    const out = new OutputBuffer();
    writeBinaryResponse(out, { opcode: 0x0a, opaque: 4 });
    assert.equal(out.take().length, MC_BINARY_HEADER_BYTES);
  });
});

describe("McBinaryParser: seeded fuzz", () => {
  const limits: McBinaryLimits = { ...DEFAULT_MC_BINARY_LIMITS, valueBytesMax: 2000, swallowBytesMax: 100_000 };
  const heldBytesMax = MC_BINARY_HEADER_BYTES + 20 + limits.keyBytesMax + limits.valueBytesMax;

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: random and mutated packets never throw and stay bounded`, () => {
      const random = seededRandom(seed);
      const int = (n: number) => Math.floor(random() * n);
      const opcodes = [...MC_BINARY_OPCODES.keys(), 0x42];
      for (let stream = 0; stream < 200; stream++) {
        const p = new McBinaryParser(limits);
        const fed: Uint8Array[] = [];
        for (let chunk = 0; chunk < 20 && !p.isFailed; chunk++) {
          let bytes: Uint8Array;
          if (random() < 0.3) {
            bytes = Uint8Array.from({ length: int(300) }, () => int(256));
          } else {
            const extras = [new Uint8Array(0), u32s(0), u32s(0, 0), incrExtras(1n, 0n, 0)][int(4)] as Uint8Array;
            bytes = packet({ opcode: opcodes[int(opcodes.length)] as number, key: "k".repeat(int(3) === 0 ? 0 : int(300)), extras, value: "v".repeat(int(2500)), opaque: int(1000) });
            for (let m = int(3); m > 0; m--) bytes[int(Math.min(bytes.length, 40))] = int(256);
          }
          fed.push(bytes);
          const frames = p.feed(bytes);
          assert.ok(p.bufferedBytes <= heldBytesMax, `held ${p.bufferedBytes} bytes`);
          for (const f of frames.slice(0, -1)) assert.ok(f.type === "request" || !f.close, "only the last frame may close");
        }
        const all = concatBytes(fed);
        const whole = show(new McBinaryParser(limits).feed(all));
        assert.equal(show(feedAll(new McBinaryParser(limits), randomSplit(all, random))), whole, "chunking changed the output");
      }
    });
  }
});

describe("McBinaryParser: seeded round trip", () => {
  it("random Set packets come back with every field intact, however the stream is chunked", () => {
    const random = seededRandom(55);
    const int = (n: number) => Math.floor(random() * n);
    for (let round = 0; round < 100; round++) {
      const sets = Array.from({ length: 1 + int(5) }, () => ({
        key: textOf(Uint8Array.from({ length: 1 + int(250) }, () => int(256))),
        value: textOf(Uint8Array.from({ length: int(random() < 0.1 ? 5000 : 30) }, () => int(256))),
        flags: int(2 ** 32),
        exptime: int(2 ** 32),
        opaque: int(2 ** 32),
        cas: BigInt(int(2 ** 32)) * BigInt(int(2 ** 32)),
      }));
      const stream = concatBytes(sets.map((s) => packet({ opcode: 0x01, key: s.key, value: s.value, extras: u32s(s.flags, s.exptime), opaque: s.opaque, cas: s.cas })));
      const frames = feedAll(new McBinaryParser(), randomSplit(stream, random));
      assert.equal(frames.length, sets.length);
      frames.forEach((f, i) => {
        const s = sets[i];
        assert.ok(f.type === "request" && s !== undefined);
        const r = f.request;
        assert.deepEqual([textOf(r.key), textOf(r.value), r.flags, r.exptimeS, r.opaque, r.cas], [s.key, s.value, s.flags, s.exptime, s.opaque, s.cas]);
      });
    }
  });
});

describe("binaryResponseWanted: memcached's quiet rules", () => {
  const { ok, keyNotFound, keyExists, notStored } = MC_BINARY_STATUS;
  const cases: [string, Pick<McBinaryRequest, "op" | "quiet">, number, boolean][] = [
    ["Get hit", { op: "get", quiet: false }, ok, true],
    ["Get miss", { op: "get", quiet: false }, keyNotFound, true],
    ["GetQ hit", { op: "get", quiet: true }, ok, true],
    ["GetQ miss", { op: "get", quiet: true }, keyNotFound, false],
    ["GATQ miss", { op: "gat", quiet: true }, keyNotFound, false],
    ["SetQ success", { op: "set", quiet: true }, ok, false],
    ["SetQ CAS mismatch", { op: "set", quiet: true }, keyExists, true],
    ["AddQ not stored", { op: "add", quiet: true }, notStored, true],
    ["DeleteQ miss", { op: "delete", quiet: true }, keyNotFound, true],
    ["IncrementQ success", { op: "increment", quiet: true }, ok, false],
    ["FlushQ success", { op: "flush", quiet: true }, ok, false],
    ["QuitQ", { op: "quit", quiet: true }, ok, false],
    ["Quit", { op: "quit", quiet: false }, ok, true],
    ["Set success", { op: "set", quiet: false }, ok, true],
  ];
  for (const [name, req, status, want] of cases) {
    it(`${name}: ${want ? "answered" : "silent"}`, () => assert.equal(binaryResponseWanted(req, status), want));
  }
});
