import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { encodeFrame, readFrames } from "./framed-socket.js";
import type { Frame, FrameViolation } from "./frame.js";

const bound = (kind: number): number | null => (kind === 1 ? 16 : null);

describe("readFrames()", () => {
  it("hands over frames in order, across writes that split them", async () => {
    const stream = new PassThrough();
    const frames: Frame[] = [];
    readFrames(stream, { bound, onFrame: (f) => void frames.push(f), onViolation: () => assert.fail("no violation expected") });
    const bytes = Buffer.concat([encodeFrame(1, Buffer.from("abc")), encodeFrame(1, Buffer.from("")), encodeFrame(1, Buffer.from("xyz"))]);
    for (const b of bytes) stream.write(Buffer.from([b]));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(frames.map((f) => f.body.toString()), ["abc", "", "xyz"]);
  });

  it("reports a frame over its bound once and reads nothing more", async () => {
    const stream = new PassThrough();
    const violations: FrameViolation[] = [];
    let frames = 0;
    readFrames(stream, { bound, onFrame: () => void frames++, onViolation: (v) => violations.push(v) });
    stream.write(encodeFrame(1, Buffer.alloc(16)));
    stream.write(encodeFrame(1, Buffer.from("ok")));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(frames, 0);
    assert.deepEqual(violations.map((v) => v.code), ["frame_too_large"]);
  });

  it("stops reading when onFrame returns false", async () => {
    const stream = new PassThrough();
    let frames = 0;
    readFrames(stream, { bound, onFrame: () => (frames++, false), onViolation: () => undefined });
    stream.write(Buffer.concat([encodeFrame(1, Buffer.from("a")), encodeFrame(1, Buffer.from("b"))]));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(frames, 1);
  });
});
