import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../raft/types.js";
import { decodeMessage, encodeMessages, MESSAGE_KINDS } from "./codec.js";
import { FrameParser, writeFrameHeader } from "./frame.js";
import { frameBoundOf } from "./handshake.js";
import { transportLimits } from "./limits.js";
import { appendMessage, everyMessageType, seededRandom } from "./testing/messages.js";

const limits = transportLimits({ maxFrameBytes: 2 << 20 });

function feed(buf: Buffer, chunkSizes: () => number): Message[] {
  const parser = new FrameParser(frameBoundOf(limits));
  const out: Message[] = [];
  for (let offset = 0; offset < buf.length;) {
    const size = Math.min(buf.length - offset, chunkSizes());
    const { frames, violation } = parser.push(buf.subarray(offset, offset + size));
    assert.equal(violation, null);
    for (const f of frames) out.push(decodeMessage(f.kind, f.body));
    offset += size;
  }
  assert.equal(parser.pendingBytes, 0);
  return out;
}

describe("frame parser", () => {
  const small = [...everyMessageType(1, 2).filter((m) => m.type !== "append" && m.type !== "snapshot"), appendMessage(1, 2, 7, 3, 20)];

  it("yields the same messages when fed one byte at a time", () => {
    assert.deepEqual(feed(encodeMessages(small), () => 1), small);
  });

  it("yields the same messages for random chunkings (seeded)", () => {
    const all = everyMessageType(1, 2);
    const medium = [...small, appendMessage(1, 2, 100, 50, 1000)];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const random = seededRandom(seed);
      // Odd seeds: every type (MiB-sized frames) in chunks up to 300 KB; even: tiny chunks.
      const messages = seed % 2 === 1 ? all : medium;
      const sizes = seed % 2 === 1 ? () => 1 + Math.floor(random() * 300_000) : () => 1 + Math.floor(random() * 64);
      assert.deepEqual(feed(encodeMessages(messages), sizes), messages, `seed ${seed}`);
    }
  });

  it("refuses an oversized frame from its header alone, and everything after it", () => {
    const parser = new FrameParser(frameBoundOf(limits));
    const header = Buffer.alloc(5);
    writeFrameHeader(header, 0, MESSAGE_KINDS.append, (2 << 20) + 1);
    const first = parser.push(header);
    assert.equal(first.violation?.code, "frame_too_large");
    assert.match(first.violation?.reason ?? "", /over the limit of 2097152 bytes/);
    assert.equal(parser.pendingBytes, 0);
    assert.equal(parser.push(encodeMessages(small)).frames.length, 0);
  });

  it("bounds a whole snapshot frame like any message: large snapshots stream in chunks", () => {
    const parser = new FrameParser(frameBoundOf(limits));
    const header = Buffer.alloc(5);
    writeFrameHeader(header, 0, MESSAGE_KINDS.snapshot, 4 << 20);
    assert.equal(parser.push(header).violation?.code, "frame_too_large");
  });

  it("refuses an empty frame and an unknown kind", () => {
    assert.equal(new FrameParser(frameBoundOf(limits)).push(Buffer.alloc(5)).violation?.code, "empty_frame");
    const unknown = Buffer.alloc(6);
    writeFrameHeader(unknown, 0, 200, 1);
    assert.equal(new FrameParser(frameBoundOf(limits)).push(unknown).violation?.code, "unknown_kind");
  });
});
