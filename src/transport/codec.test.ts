import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Message, MessageType } from "../raft/types.js";
import { ByteArena } from "./arena.js";
import { CodecError, decodeMessage, encodedFrameBytes, encodeMessages, MESSAGE_KINDS } from "./codec.js";
import { FrameParser } from "./frame.js";
import { frameBoundOf } from "./handshake.js";
import { transportLimits } from "./limits.js";
import { appendMessage, everyMessageType } from "./testing/messages.js";

function decodeAll(buf: Buffer): Message[] {
  // The codec itself has no size bound (the in-memory transport passes whole snapshots through it).
  const parser = new FrameParser(frameBoundOf(transportLimits({ maxFrameBytes: 16 << 20 })));
  const { frames, violation } = parser.push(buf);
  assert.equal(violation, null);
  assert.equal(parser.pendingBytes, 0);
  return frames.map((f) => decodeMessage(f.kind, f.body));
}

describe("codec", () => {
  it("round-trips one message of every type, with edge values, in one buffer", () => {
    const messages = everyMessageType(1, 2);
    const types = new Set(messages.map((m) => m.type));
    assert.deepEqual([...types].sort(), (Object.keys(MESSAGE_KINDS) as MessageType[]).sort());
    const buf = encodeMessages(messages);
    assert.equal(buf.length, messages.reduce((sum, m) => sum + encodedFrameBytes(m), 0));
    assert.deepEqual(decodeAll(buf), messages);
  });

  it("round-trips an append of 2,000 entries and a 12 MiB snapshot", () => {
    const big = appendMessage(1, 2, 500, 2_000, 100);
    assert.deepEqual(decodeAll(encodeMessages([big])), [big]);
    const snap: Message = {
      type: "snapshot", from: 1 as never, to: 2 as never, term: 1,
      snapshot: { meta: { index: 9, term: 1, confState: { voters: [], learners: [] } }, data: new Uint8Array(12 << 20).fill(7) },
    };
    const [decoded] = decodeAll(encodeMessages([snap]));
    assert.equal(decoded?.type, "snapshot");
    assert.equal(decoded.type === "snapshot" && decoded.snapshot.data.length, 12 << 20);
  });

  it("with an arena, decoded entries do not pin the larger buffer they arrived in", () => {
    const m = appendMessage(1, 2, 0, 3, 10);
    const frame = encodeMessages([m]);
    const chunk = Buffer.alloc(1 << 20);
    frame.copy(chunk, 100);
    const body = chunk.subarray(105, 100 + frame.length);
    const decoded = decodeMessage(MESSAGE_KINDS.append, body, new ByteArena());
    assert.ok(decoded.type === "append");
    for (const e of decoded.entries) assert.notEqual(e.data.buffer, chunk.buffer);
    assert.deepEqual(decoded, m);
    const bigEntry = appendMessage(1, 2, 0, 1, 100_000);
    assert.deepEqual(decodeMessage(MESSAGE_KINDS.append, encodeMessages([bigEntry]).subarray(5), new ByteArena()), bigEntry);
  });

  it("rejects a truncated body, trailing bytes and bad enum bytes with a CodecError", () => {
    const body = encodeMessages([appendMessage(1, 2, 0, 2, 5)]).subarray(5);
    assert.throws(() => decodeMessage(MESSAGE_KINDS.append, body.subarray(0, body.length - 1)), CodecError);
    assert.throws(() => decodeMessage(MESSAGE_KINDS.append, Buffer.concat([body, Buffer.from([0])])), /unexpected bytes/);
    const vote = Buffer.from(encodeMessages([everyMessageType(1, 2)[9] as Message]).subarray(5));
    vote[vote.length - 1] = 2;
    assert.throws(() => decodeMessage(MESSAGE_KINDS.voteResponse, vote), /expected a boolean/);
    assert.throws(() => decodeMessage(3, Buffer.alloc(24)), /not a message/);
  });

  it("refuses to encode a number that is not a non-negative safe integer", () => {
    const bad = { ...appendMessage(1, 2, 0, 0, 0), commit: -1 } as Message;
    assert.throws(() => encodeMessages([bad]), /Cannot encode -1/);
  });
});
