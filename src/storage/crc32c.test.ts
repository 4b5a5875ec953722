import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32c } from "./crc32c.js";

test("crc32c() matches the published check value and RFC 3720 vectors", () => {
  // The standard check value: CRC32C("123456789") = 0xE3069283.
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and ascending bytes.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test("crc32c() gives the same result when fed in pieces or with an offset", () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff);
  const whole = crc32c(data);
  for (const cut of [0, 1, 7, 8, 9, 333, 999, 1000]) {
    assert.equal(crc32c(data, crc32c(data, 0, 0, cut), cut), whole, `cut at ${cut}`);
  }
  assert.equal(crc32c(data, 0, 100, 200), crc32c(data.subarray(100, 200)));
});
