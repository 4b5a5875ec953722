import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputBuffer } from "./input-buffer.js";
import { bytesOf, textOf } from "./testdata/wire.js";

function pending(b: InputBuffer): string {
  return textOf(b.copy(0, b.length));
}

describe("InputBuffer", () => {
  it("appends, finds and consumes across chunks", () => {
    const b = new InputBuffer();
    b.append(bytesOf("GET a"));
    b.append(bytesOf("\r\nGET b\r\n"));
    assert.equal(b.length, 14);
    assert.equal(b.indexOf(10, 0, 100), 6);
    b.consume(7);
    assert.equal(pending(b), "GET b\r\n");
    assert.equal(b.indexOf(10, 0, 100), 6);
    assert.ok(b.startsWithAscii("GET "));
  });

  it("indexOf ignores matches at or past the limit and past the pending bytes", () => {
    const b = new InputBuffer();
    b.append(bytesOf("abc\n"));
    assert.equal(b.indexOf(10, 0, 3), -1);
    assert.equal(b.indexOf(10, 0, 4), 3);
    b.consume(4);
    b.append(bytesOf("x"));
    b.append(bytesOf("y")); // owned buffer now; bytes beyond `end` are stale capacity
    assert.equal(b.indexOf(10, 0, 100), -1);
  });

  it("detach() copies a borrowed tail so the caller's chunk can change or be collected", () => {
    const b = new InputBuffer();
    const chunk = bytesOf("done\r\npartial");
    b.append(chunk);
    b.consume(6);
    b.detach();
    chunk.fill(0x21);
    assert.equal(pending(b), "partial");
  });

  it("grows and compacts while keeping the pending bytes in order", () => {
    const b = new InputBuffer();
    let expected = "";
    for (let i = 0; i < 500; i++) {
      const piece = `${i},`.repeat(7);
      b.append(bytesOf(piece));
      expected += piece;
      if (i % 3 === 0) {
        b.consume(5);
        expected = expected.slice(5);
      }
      b.detach();
    }
    assert.equal(pending(b), expected);
  });

  it("is empty again once everything is consumed", () => {
    const b = new InputBuffer();
    b.append(bytesOf("abc"));
    b.consume(3);
    assert.equal(b.length, 0);
    b.detach();
    b.append(bytesOf("z"));
    assert.equal(pending(b), "z");
  });
});
