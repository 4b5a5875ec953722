import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RESP_ERRORS, invalidExpireTimeError, parseExpire, parseGetex, parseHello, parseScan, parseSet, parseSetex, type RespParsed } from "./resp-args.js";
import { bytesOf, textOf } from "./testdata/wire.js";

const NOW_MS = 1_800_000_000_000;
const args = (line: string) => line.split(" ").map(bytesOf);

/** A parse result as text: the error line, or the request as JSON with bytes as latin1. */
function show<T>(r: RespParsed<T>): string {
  if (!r.ok) return `!${r.error}`;
  return JSON.stringify(r.value, (_k, v: unknown) => (v instanceof Uint8Array ? textOf(v) : typeof v === "bigint" ? `${v}n` : v));
}

describe("parseSet", () => {
  const cases: [string, string][] = [
    ["SET k v", '{"key":"k","value":"v","condition":"always","get":false,"expiry":{"kind":"clear"}}'],
    ["SET k v EX 10", `{"key":"k","value":"v","condition":"always","get":false,"expiry":{"kind":"at","atMs":${NOW_MS + 10_000}}}`],
    ["set k v px 1500 nx", `{"key":"k","value":"v","condition":"nx","get":false,"expiry":{"kind":"at","atMs":${NOW_MS + 1500}}}`],
    ["SET k v EXAT 1900000000 XX GET", '{"key":"k","value":"v","condition":"xx","get":true,"expiry":{"kind":"at","atMs":1900000000000}}'],
    ["SET k v PXAT 1900000000123", '{"key":"k","value":"v","condition":"always","get":false,"expiry":{"kind":"at","atMs":1900000000123}}'],
    ["SET k v KEEPTTL", '{"key":"k","value":"v","condition":"always","get":false,"expiry":{"kind":"keep"}}'],
    ["SET k v NX GET", '{"key":"k","value":"v","condition":"nx","get":true,"expiry":{"kind":"clear"}}'],
    ["SET k v EX 1 EX 2", `{"key":"k","value":"v","condition":"always","get":false,"expiry":{"kind":"at","atMs":${NOW_MS + 2000}}}`],
    ["SET k v NX XX", `!${RESP_ERRORS.syntax}`],
    ["SET k v XX NX", `!${RESP_ERRORS.syntax}`],
    ["SET k v EX 10 PX 10", `!${RESP_ERRORS.syntax}`],
    ["SET k v EX 10 KEEPTTL", `!${RESP_ERRORS.syntax}`],
    ["SET k v KEEPTTL EX 10", `!${RESP_ERRORS.syntax}`],
    ["SET k v EX", `!${RESP_ERRORS.syntax}`],
    ["SET k v PERSIST", `!${RESP_ERRORS.syntax}`],
    ["SET k v BOGUS", `!${RESP_ERRORS.syntax}`],
    ["SET k v EX ten", `!${RESP_ERRORS.notInteger}`],
    ["SET k v EX 0", `!${invalidExpireTimeError("set")}`],
    ["SET k v PX -5", `!${invalidExpireTimeError("set")}`],
    ["SET k v EX 9223372036854775807", "!ERR invalid expire time in 'set' command"],
    ["SET k v EX 99999999999999999999", `!${RESP_ERRORS.notInteger}`],
  ];
  for (const [line, want] of cases) {
    it(`${line} → ${want}`, () => assert.equal(show(parseSet(args(line), NOW_MS)), want));
  }
});

describe("parseSetex and parseGetex", () => {
  it("SETEX and PSETEX set an expiry relative to now", () => {
    assert.equal(show(parseSetex(args("SETEX k 60 v"), NOW_MS)), `{"key":"k","value":"v","condition":"always","get":false,"expiry":{"kind":"at","atMs":${NOW_MS + 60_000}}}`);
    assert.equal(show(parseSetex(args("psetex k 60 v"), NOW_MS)), `{"key":"k","value":"v","condition":"always","get":false,"expiry":{"kind":"at","atMs":${NOW_MS + 60}}}`);
  });

  it("SETEX refuses a non-positive or non-integer time in Redis's words", () => {
    assert.equal(show(parseSetex(args("SETEX k 0 v"), NOW_MS)), `!${invalidExpireTimeError("setex")}`);
    assert.equal(show(parseSetex(args("PSETEX k -1 v"), NOW_MS)), "!ERR invalid expire time in 'psetex' command");
    assert.equal(show(parseSetex(args("SETEX k 1.5 v"), NOW_MS)), `!${RESP_ERRORS.notInteger}`);
  });

  const getex: [string, string][] = [
    ["GETEX k", '{"key":"k","expiry":null}'],
    ["GETEX k PERSIST", '{"key":"k","expiry":{"kind":"clear"}}'],
    ["GETEX k EX 5", `{"key":"k","expiry":{"kind":"at","atMs":${NOW_MS + 5000}}}`],
    ["GETEX k PERSIST EX 5", `!${RESP_ERRORS.syntax}`],
    ["GETEX k EX 5 PERSIST", `!${RESP_ERRORS.syntax}`],
    ["GETEX k NX", `!${RESP_ERRORS.syntax}`],
    ["GETEX k KEEPTTL", `!${RESP_ERRORS.syntax}`],
    ["GETEX k EX 0", `!${invalidExpireTimeError("getex")}`],
  ];
  for (const [line, want] of getex) {
    it(`${line} → ${want}`, () => assert.equal(show(parseGetex(args(line), NOW_MS)), want));
  }
});

describe("parseExpire", () => {
  const cases: [string, string][] = [
    ["EXPIRE k 10", `{"key":"k","atMs":${NOW_MS + 10_000},"nx":false,"xx":false,"gt":false,"lt":false}`],
    ["PEXPIRE k 10", `{"key":"k","atMs":${NOW_MS + 10},"nx":false,"xx":false,"gt":false,"lt":false}`],
    ["EXPIREAT k 1900000000", '{"key":"k","atMs":1900000000000,"nx":false,"xx":false,"gt":false,"lt":false}'],
    ["PEXPIREAT k 1900000000001", '{"key":"k","atMs":1900000000001,"nx":false,"xx":false,"gt":false,"lt":false}'],
    ["EXPIRE k -1", `{"key":"k","atMs":${NOW_MS - 1000},"nx":false,"xx":false,"gt":false,"lt":false}`],
    ["expire k 10 nx", `{"key":"k","atMs":${NOW_MS + 10_000},"nx":true,"xx":false,"gt":false,"lt":false}`],
    ["EXPIRE k 10 XX GT", `{"key":"k","atMs":${NOW_MS + 10_000},"nx":false,"xx":true,"gt":true,"lt":false}`],
    ["EXPIRE k 10 NX XX", `!${RESP_ERRORS.nxWithOthers}`],
    ["EXPIRE k 10 NX LT", `!${RESP_ERRORS.nxWithOthers}`],
    ["EXPIRE k 10 GT LT", `!${RESP_ERRORS.gtAndLt}`],
    ["EXPIRE k 10 rr", "!ERR Unsupported option rr"],
    ["EXPIRE k ten NX XX", `!${RESP_ERRORS.nxWithOthers}`],
    ["EXPIRE k ten", `!${RESP_ERRORS.notInteger}`],
    ["EXPIRE k 9223372036854775807", "!ERR invalid expire time in 'expire' command"],
  ];
  for (const [line, want] of cases) {
    it(`${line} → ${want}`, () => assert.equal(show(parseExpire(args(line), NOW_MS)), want));
  }
});

describe("parseScan", () => {
  const cases: [string, string][] = [
    ["SCAN 0", '{"cursor":"0n","match":null,"count":10,"type":null}'],
    ["SCAN 17 MATCH sess:* COUNT 100", '{"cursor":"17n","match":"sess:*","count":100,"type":null}'],
    ["scan 0 type STRING", '{"cursor":"0n","match":null,"count":10,"type":"string"}'],
    ["SCAN 18446744073709551615", '{"cursor":"18446744073709551615n","match":null,"count":10,"type":null}'],
    ["SCAN 18446744073709551616", `!${RESP_ERRORS.invalidCursor}`],
    ["SCAN abc", `!${RESP_ERRORS.invalidCursor}`],
    ["SCAN -1", `!${RESP_ERRORS.invalidCursor}`],
    ["SCAN 0 COUNT 0", `!${RESP_ERRORS.syntax}`],
    ["SCAN 0 COUNT x", `!${RESP_ERRORS.notInteger}`],
    ["SCAN 0 MATCH", `!${RESP_ERRORS.syntax}`],
    ["SCAN 0 LIMIT 5", `!${RESP_ERRORS.syntax}`],
  ];
  for (const [line, want] of cases) {
    it(`${line} → ${want}`, () => assert.equal(show(parseScan(args(line))), want));
  }
});

describe("parseHello", () => {
  const cases: [string, string][] = [
    ["HELLO", '{"protocol":null,"auth":null,"clientName":null}'],
    ["HELLO 3", '{"protocol":3,"auth":null,"clientName":null}'],
    ["hello 2 auth default s3cret setname app", '{"protocol":2,"auth":{"username":"default","password":"s3cret"},"clientName":"app"}'],
    ["HELLO 4", `!${RESP_ERRORS.noProto}`],
    ["HELLO 1", `!${RESP_ERRORS.noProto}`],
    ["HELLO three", `!${RESP_ERRORS.protocolVersionNotInteger}`],
    ["HELLO 3 AUTH onlyuser", "!ERR Syntax error in HELLO option 'AUTH'"],
    ["HELLO 3 SETNAME", "!ERR Syntax error in HELLO option 'SETNAME'"],
    ["HELLO 3 bogus", "!ERR Syntax error in HELLO option 'bogus'"],
  ];
  for (const [line, want] of cases) {
    it(`${line} → ${want}`, () => assert.equal(show(parseHello(args(line))), want));
  }
});
