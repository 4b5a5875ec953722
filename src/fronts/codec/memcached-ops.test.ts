import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { McBinaryParser, type McBinaryRequest } from "./memcached-binary.js";
import { operationOfBinary, operationOfText, type McOperation } from "./memcached-ops.js";
import { McTextParser } from "./memcached-text.js";
import { bytesOf, concatBytes, textOf } from "./testdata/wire.js";

function show(op: McOperation): string {
  return JSON.stringify(op, (_k, v: unknown) => (v instanceof Uint8Array ? textOf(v) : typeof v === "bigint" ? `${v}n` : v));
}

function text(line: string): string {
  const [frame] = new McTextParser().feed(bytesOf(line));
  assert.ok(frame?.type === "command", `${line} did not parse`);
  return show(operationOfText(frame.command));
}

function binary(p: { opcode: number; key?: string; extras?: number[]; value?: string; cas?: bigint }): string {
  const key = bytesOf(p.key ?? "");
  const extras = Uint8Array.from(p.extras ?? []);
  const value = bytesOf(p.value ?? "");
  const header = new Uint8Array(24);
  const dv = new DataView(header.buffer);
  dv.setUint8(0, 0x80);
  dv.setUint8(1, p.opcode);
  dv.setUint16(2, key.length);
  dv.setUint8(4, extras.length);
  dv.setUint32(8, extras.length + key.length + value.length);
  dv.setBigUint64(16, p.cas ?? 0n);
  const [frame] = new McBinaryParser().feed(concatBytes([header, extras, key, value]));
  assert.ok(frame?.type === "request", `opcode ${p.opcode} did not parse`);
  return show(operationOfBinary(frame.request as McBinaryRequest));
}

const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n: bigint) => [...u32(Number(n >> 32n)), ...u32(Number(n & 0xffffffffn))];

describe("memcached operations from both protocols", () => {
  it("text and binary get/gat agree", () => {
    assert.equal(text("get k\r\n"), binary({ opcode: 0x00, key: "k" }));
    assert.equal(text("gat 30 k\r\n"), binary({ opcode: 0x1d, key: "k", extras: u32(30) }));
  });

  it("text cas is a set that compares; binary set compares a non-zero header CAS", () => {
    const viaText = text("cas k 1 0 1 77\r\nv\r\n");
    assert.equal(viaText, '{"op":"store","mode":"set","key":"k","flags":1,"exptimeS":0,"value":"v","casUnique":"77n"}');
    assert.equal(binary({ opcode: 0x01, key: "k", extras: [...u32(1), ...u32(0)], value: "v", cas: 77n }), viaText);
    assert.equal(binary({ opcode: 0x01, key: "k", extras: [...u32(1), ...u32(0)], value: "v" }), text("set k 1 0 1\r\nv\r\n"));
  });

  it("binary add or replace with a CAS is a CAS store (as memcached's NREAD_CAS); append and delete compare it", () => {
    assert.match(binary({ opcode: 0x02, key: "k", extras: [...u32(0), ...u32(0)], value: "v", cas: 5n }), /"mode":"set".*"casUnique":"5n"/);
    assert.match(binary({ opcode: 0x13, key: "k", extras: [...u32(0), ...u32(0)], value: "v", cas: 5n }), /"mode":"set".*"casUnique":"5n"/);
    assert.match(binary({ opcode: 0x02, key: "k", extras: [...u32(0), ...u32(0)], value: "v" }), /"mode":"add".*"casUnique":null/);
    assert.match(binary({ opcode: 0x0e, key: "k", value: "v", cas: 5n }), /"mode":"append".*"casUnique":"5n"/);
    assert.equal(binary({ opcode: 0x04, key: "k", cas: 9n }), '{"op":"delete","key":"k","casUnique":"9n"}');
    assert.equal(text("delete k\r\n"), '{"op":"delete","key":"k","casUnique":null}');
  });

  it("text incr never creates; binary incr creates with initial unless exptime is 0xffffffff", () => {
    assert.equal(text("incr n 2\r\n"), '{"op":"incr","key":"n","delta":"2n","create":null}');
    assert.equal(binary({ opcode: 0x05, key: "n", extras: [...u64(2n), ...u64(10n), ...u32(60)] }), '{"op":"incr","key":"n","delta":"2n","create":{"initial":"10n","exptimeS":60}}');
    assert.equal(binary({ opcode: 0x06, key: "n", extras: [...u64(2n), ...u64(10n), ...u32(0xffffffff)] }), '{"op":"decr","key":"n","delta":"2n","create":null}');
  });

  it("the rest map one to one", () => {
    assert.equal(text("touch k 5\r\n"), binary({ opcode: 0x1c, key: "k", extras: u32(5) }));
    assert.equal(text("flush_all 7\r\n"), binary({ opcode: 0x08, extras: u32(7) }));
    assert.equal(text("version\r\n"), binary({ opcode: 0x0b }));
    assert.equal(text("quit\r\n"), binary({ opcode: 0x07 }));
    assert.equal(text("stats\r\n"), binary({ opcode: 0x10 }));
    assert.equal(text("stats items\r\n"), binary({ opcode: 0x10, key: "items" }));
    assert.equal(text("verbosity 1\r\n"), binary({ opcode: 0x1b, extras: u32(1) }));
    assert.equal(binary({ opcode: 0x0a }), '{"op":"noop"}');
  });
});
