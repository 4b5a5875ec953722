import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayInputError, parsePut, parseRange } from "./gateway-json.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");
// A numeric extra field is not a flat string/boolean record, so it sends the body down the zod path.
const viaZod = (body: Record<string, unknown>): Record<string, unknown> => ({ ...body, extra_field: 1 });

test("the put fast path parses exactly as the schema does", () => {
  for (const body of [{ key: b64("a/b"), value: b64("hello") }, { key: b64("k") }, { key: "", value: "" }]) {
    assert.deepEqual(parsePut(body), parsePut(viaZod(body)));
  }
  assert.deepEqual(parsePut({ key: b64("k"), value: b64("v") }), { type: "put", key: "k", value: new Uint8Array(Buffer.from("v")), lease: undefined, prevKv: undefined });
});

test("the range fast path parses exactly as the schema does", () => {
  for (const body of [{ key: b64("a") }, { key: b64("a"), range_end: b64("b") }, { key: b64("a"), serializable: true }, { key: b64("a"), serializable: false }]) {
    assert.deepEqual(parseRange(body), parseRange(viaZod(body)));
  }
});

test("the fast paths refuse what the schema refuses", () => {
  assert.throws(() => parsePut({ key: "not base64!" }), GatewayInputError);
  assert.throws(() => parsePut({ value: b64("v") }), GatewayInputError);
  assert.throws(() => parsePut({ key: Buffer.from([0xff, 0xfe]).toString("base64") }), GatewayInputError);
  assert.throws(() => parseRange({ key: b64("a"), range_end: "%%" }), GatewayInputError);
  assert.throws(() => parseRange({ key: b64("a"), serializable: "yes" }), GatewayInputError);
});
