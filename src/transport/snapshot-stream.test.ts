import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NodeId, SnapshotMessage } from "../raft/types.js";
import { FrameParser, writeFrameHeader, type Frame } from "./frame.js";
import { frameBoundOf } from "./handshake.js";
import { transportLimits, type TransportLimits } from "./limits.js";
import {
  decodeSnapshotAck, decodeSnapshotChunk, KIND_SNAPSHOT_ACK, KIND_SNAPSHOT_BEGIN, KIND_SNAPSHOT_CHUNK, KIND_SNAPSHOT_END, type SnapshotAck,
} from "./snapshot-frames.js";
import { SnapshotReceiver, type SnapshotFrameResult } from "./snapshot-receiver.js";
import { SnapshotSender } from "./snapshot-sender.js";
import { patternBytes } from "./testing/messages.js";

const KiB = 1024;
const n = (x: number): NodeId => x as NodeId;
const limits = transportLimits({ snapshotChunkBytes: 64 * KiB, snapshotWindowBytes: 256 * KiB, maxSnapshotBytes: 32 << 20 });

function snapshotMessage(dataBytes: number, options: { term?: number; index?: number } = {}): SnapshotMessage {
  return {
    type: "snapshot", from: n(1), to: n(2), term: options.term ?? 5,
    snapshot: { meta: { index: options.index ?? 1000, term: 4, confState: { voters: [n(1), n(2), n(3)], learners: [n(7)] } }, data: patternBytes(dataBytes, 3) },
  };
}

/** Splits an encoded frame (or several) back into frames, as a receiving socket would. */
function framesOf(buf: Buffer, bounds: TransportLimits = limits): Frame[] {
  const parsed = new FrameParser(frameBoundOf(bounds)).push(buf);
  assert.equal(parsed.violation, null);
  return parsed.frames;
}

function receive(receiver: SnapshotReceiver, frame: Frame): SnapshotFrameResult {
  switch (frame.kind) {
    case KIND_SNAPSHOT_BEGIN: return receiver.begin(frame.body);
    case KIND_SNAPSHOT_CHUNK: return receiver.chunk(frame.body);
    case KIND_SNAPSHOT_END: return receiver.end(frame.body);
    default: throw new Error(`unexpected frame kind ${frame.kind}`);
  }
}

function ackOf(buf: Buffer): SnapshotAck {
  const [frame] = framesOf(buf);
  assert.equal(frame?.kind, KIND_SNAPSHOT_ACK);
  return decodeSnapshotAck((frame as Frame).body);
}

interface PumpResult {
  delivered: SnapshotMessage[];
  refusals: string[];
  maxUnackedBytes: number;
  frames: number;
}

/**
 * Moves frames from sender to receiver and acks back until neither has anything to do. `tamper`
 * may change or reorder the frames on the way (returns the frames to deliver instead).
 */
function pump(sender: SnapshotSender, receiver: SnapshotReceiver, tamper: (frame: Frame, i: number) => Frame[] = (f) => [f]): PumpResult {
  const result: PumpResult = { delivered: [], refusals: [], maxUnackedBytes: 0, frames: 0 };
  let sentData = 0;
  let acked = 0;
  for (;;) {
    const buf = sender.nextFrame();
    if (buf === null) break;
    for (const frame of framesOf(buf)) {
      if (frame.kind === KIND_SNAPSHOT_CHUNK) sentData += decodeSnapshotChunk(frame.body).data.length;
      if (frame.kind === KIND_SNAPSHOT_BEGIN) sentData = 0;
      result.maxUnackedBytes = Math.max(result.maxUnackedBytes, sentData - acked);
      for (const f of tamper(frame, result.frames)) {
        const out = receive(receiver, f);
        if (out.refusal !== null) result.refusals.push(out.refusal);
        if (out.message !== null) result.delivered.push(out.message);
        if (out.ack !== null) {
          const ack = ackOf(out.ack);
          acked = ack.receivedBytes;
          sender.onAck(ack);
        }
      }
      result.frames++;
    }
  }
  return result;
}

describe("snapshot streaming", () => {
  it("splits a snapshot into bounded chunks and reassembles it intact, never exceeding the window", () => {
    const m = snapshotMessage(5 * 1024 * KiB + 123);
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    assert.equal(sender.offer(m).outcome, "started");
    const receiver = new SnapshotReceiver(n(1), n(2), limits);
    const chunkSizes: number[] = [];
    const result = pump(sender, receiver, (f) => {
      if (f.kind === KIND_SNAPSHOT_CHUNK) chunkSizes.push(decodeSnapshotChunk(f.body).data.length);
      return [f];
    });
    assert.deepEqual(result.refusals, []);
    assert.equal(result.delivered.length, 1);
    assert.deepEqual(result.delivered[0], m);
    assert.equal(chunkSizes.length, 81);
    assert.ok(chunkSizes.every((size) => size <= 64 * KiB));
    assert.ok(result.maxUnackedBytes <= 256 * KiB, `${result.maxUnackedBytes} bytes unacknowledged`);
    assert.equal(sender.active, false);
    assert.equal(receiver.active, false);
  });

  it("sends no chunk past the window until the receiver acknowledges", () => {
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    sender.offer(snapshotMessage(1024 * KiB));
    const frames: Buffer[] = [];
    for (let buf = sender.nextFrame(); buf !== null; buf = sender.nextFrame()) frames.push(buf);
    assert.equal(frames.length, 1 + 4, "begin + 4 chunks of 64 KiB fill the 256 KiB window");
    const receiver = new SnapshotReceiver(n(1), n(2), limits);
    let lastAck: Buffer | null = null;
    for (const buf of frames) for (const f of framesOf(buf)) lastAck = receive(receiver, f).ack ?? lastAck;
    assert.equal(sender.onAck(ackOf(lastAck as Buffer)).kind, "progress");
    assert.notEqual(sender.nextFrame(), null, "an ack opens the window again");
  });

  it("delivers an empty snapshot", () => {
    const m = snapshotMessage(0);
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    sender.offer(m);
    const result = pump(sender, new SnapshotReceiver(n(1), n(2), limits));
    assert.deepEqual(result.delivered, [m]);
  });

  it("refuses a snapshot whose data do not match the checksum", () => {
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    const m = snapshotMessage(300 * KiB);
    sender.offer(m);
    const result = pump(sender, new SnapshotReceiver(n(1), n(2), limits), (f, i) => {
      if (i === 3) {
        const body = Buffer.from(f.body);
        body[100] = (body[100] as number) ^ 0xff;
        return [{ kind: f.kind, body }];
      }
      return [f];
    });
    assert.equal(result.delivered.length, 0);
    assert.equal(result.refusals.length, 1);
    assert.match(result.refusals[0] as string, /CRC-32 of the 307200 bytes received is \d+, the sender's is \d+/);
    assert.equal(sender.active, false, "the sender gives up on a refused transfer");
  });

  it("refuses chunks out of order", () => {
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    sender.offer(snapshotMessage(300 * KiB));
    let held: Frame | null = null;
    const result = pump(sender, new SnapshotReceiver(n(1), n(2), limits), (f, i) => {
      if (i === 1) {
        held = f;
        return [];
      }
      if (i === 2) return [f, held as Frame];
      return [f];
    });
    assert.equal(result.delivered.length, 0);
    assert.deepEqual(result.refusals, ["Cannot accept snapshot chunk at byte 65536 from node 1: expected byte 0 (chunks out of order or repeated)"]);
  });

  it("refuses a repeated chunk", () => {
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    sender.offer(snapshotMessage(300 * KiB));
    const result = pump(sender, new SnapshotReceiver(n(1), n(2), limits), (f, i) => (i === 2 ? [f, f] : [f]));
    assert.equal(result.delivered.length, 0);
    assert.deepEqual(result.refusals, ["Cannot accept snapshot chunk at byte 65536 from node 1: expected byte 131072 (chunks out of order or repeated)"]);
  });

  it("refuses a snapshot over the receiver's maxSnapshotBytes, naming the limit to raise", () => {
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    sender.offer(snapshotMessage(2 << 20));
    const small = transportLimits({ maxSnapshotBytes: 1 << 20 });
    const result = pump(sender, new SnapshotReceiver(n(1), n(2), small));
    assert.deepEqual(result.refusals, [
      "Cannot accept a snapshot of 2097152 bytes from node 1: over this node's limit maxSnapshotBytes of 1048576 bytes; raise the transport limit maxSnapshotBytes on node 2",
    ]);
    assert.equal(result.frames, 1, "nothing more is sent after the refusal of the begin frame");
  });

  it("the sender refuses a snapshot over its own maxSnapshotBytes", () => {
    const sender = new SnapshotSender(transportLimits({ maxSnapshotBytes: 1000 }));
    assert.deepEqual(sender.offer(snapshotMessage(1001)), { outcome: "too_large", displaced: 0 });
    assert.equal(sender.active, false);
  });

  it("a connection broken mid-transfer restarts the transfer from byte 0, and the retry delivers it intact", () => {
    const m = snapshotMessage(700 * KiB + 5);
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    sender.offer(m);
    const first = new SnapshotReceiver(n(1), n(2), limits);
    // The first connection carries the begin and three chunks, then breaks.
    const stale: Frame[] = [];
    for (let i = 0; i < 4; i++) {
      for (const f of framesOf(sender.nextFrame() as Buffer)) {
        stale.push(f);
        const ack = receive(first, f).ack;
        if (ack !== null) sender.onAck(ackOf(ack));
      }
    }
    assert.equal(first.active, true);
    assert.notEqual(first.discard("connection closed"), null, "the receiver discards its part");
    assert.equal(first.active, false);
    assert.equal(sender.onConnectionLost(), "restarting");
    assert.equal(sender.nextFrame(), null, "nothing is sent while disconnected");
    sender.onConnectionOpen();
    const second = new SnapshotReceiver(n(1), n(2), limits);
    const result = pump(sender, second, (f, i) => {
      if (i !== 2) return [f];
      // A chunk of the old transfer arriving late is ignored, not mistaken for this one.
      const late = receive(second, stale[2] as Frame);
      assert.deepEqual(late, { ack: null, message: null, refusal: null });
      return [f];
    });
    assert.deepEqual(result.refusals, []);
    assert.deepEqual(result.delivered, [m]);
  });

  it("gives up after snapshotRestartsMax broken connections", () => {
    const sender = new SnapshotSender(transportLimits({ snapshotRestartsMax: 2 }));
    sender.offer(snapshotMessage(10));
    assert.equal(sender.onConnectionLost(), "restarting");
    assert.equal(sender.onConnectionLost(), "restarting");
    assert.equal(sender.onConnectionLost(), "abandoned");
    assert.equal(sender.active, false);
  });

  it("drops Raft's resends of the snapshot under way, queues one other, and lets a newer term replace them", () => {
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    const first = snapshotMessage(100, { index: 10 });
    assert.deepEqual(sender.offer(first), { outcome: "started", displaced: 0 });
    assert.deepEqual(sender.offer(snapshotMessage(100, { index: 10 })), { outcome: "duplicate", displaced: 0 });
    assert.deepEqual(sender.offer(snapshotMessage(100, { index: 20 })), { outcome: "waiting", displaced: 0 });
    assert.deepEqual(sender.offer(snapshotMessage(100, { index: 20 })), { outcome: "duplicate", displaced: 0 });
    assert.deepEqual(sender.offer(snapshotMessage(100, { index: 30 })), { outcome: "waiting", displaced: 1 });
    assert.equal(sender.heldSnapshots, 2);
    const receiver = new SnapshotReceiver(n(1), n(2), limits);
    const delivered = pump(sender, receiver).delivered.map((m) => m.snapshot.meta.index);
    assert.deepEqual(delivered, [10, 30], "the waiting snapshot follows the one under way");
    sender.offer(snapshotMessage(100, { index: 40 }));
    sender.offer(snapshotMessage(100, { index: 50 }));
    assert.deepEqual(sender.offer(snapshotMessage(100, { index: 40, term: 6 })), { outcome: "started", displaced: 2 });
    assert.deepEqual(pump(sender, receiver).delivered.map((m) => [m.term, m.snapshot.meta.index]), [[6, 40]]);
  });

  it("the receiver refuses a begin frame whose sender is not the connection's peer", () => {
    const sender = new SnapshotSender(limits);
    sender.onConnectionOpen();
    sender.offer(snapshotMessage(10));
    const [begin] = framesOf(sender.nextFrame() as Buffer);
    assert.throws(() => new SnapshotReceiver(n(3), n(2), limits).begin((begin as Frame).body), /snapshot claims to come from node 1 but the certificate is for node 3/);
  });

  it("bounds chunk frames by maxFrameBytes and end and ack frames by their fixed sizes, before any body byte", () => {
    const bounds = transportLimits({ maxFrameBytes: 1 << 20 });
    const header = (kind: number, bodyBytes: number): Buffer => {
      const buf = Buffer.alloc(5);
      writeFrameHeader(buf, 0, kind, bodyBytes);
      return buf;
    };
    const violation = (kind: number, bodyBytes: number) => new FrameParser(frameBoundOf(bounds)).push(header(kind, bodyBytes)).violation;
    assert.equal(violation(KIND_SNAPSHOT_CHUNK, (1 << 20) - 1), null);
    assert.equal(violation(KIND_SNAPSHOT_CHUNK, 1 << 20)?.code, "frame_too_large");
    assert.equal(violation(KIND_SNAPSHOT_END, 20), null);
    assert.equal(violation(KIND_SNAPSHOT_END, 21)?.code, "frame_too_large");
    assert.equal(violation(KIND_SNAPSHOT_ACK, 1024)?.code, "frame_too_large");
  });

  it("limits refuse a chunk size that cannot fit a frame, and shrink the default chunk to a smaller frame bound", () => {
    assert.throws(() => transportLimits({ maxFrameBytes: 1 << 20, snapshotChunkBytes: 1 << 20 }), /snapshotChunkBytes 1048576 does not fit in a frame of maxFrameBytes 1048576/);
    assert.equal(transportLimits({ maxFrameBytes: 64 * KiB }).snapshotChunkBytes, 64 * KiB - 17);
  });
});
