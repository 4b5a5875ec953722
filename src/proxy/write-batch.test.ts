// The batched writer keeps every byte in order whether it is queued for the turn or written at
// once, flushes before a half-close, reports backpressure, and drops nothing but what a destroyed
// socket could not send anyway.
import { test } from "node:test";
import assert from "node:assert/strict";
import type net from "node:net";
import { BatchedWriter } from "./write-batch.js";

/** A stand-in socket that records writes; `full` makes write() report backpressure. */
function fakeSocket(full = false) {
  const log: string[] = [];
  const socket = {
    destroyed: false,
    write(data: Buffer) {
      log.push(data.toString());
      return !full;
    },
    end() {
      log.push("<end>");
    },
  };
  return { socket, log, asNet: socket as unknown as net.Socket };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test("queued writes go out together after the turn, in order, as one write", async () => {
  const { asNet, log } = fakeSocket();
  const writer = new BatchedWriter(asNet, () => assert.fail("not full"));
  writer.queue(Buffer.from("a"));
  writer.queue(Buffer.from("b"));
  assert.deepEqual(log, []);
  await nextTurn();
  assert.deepEqual(log, ["ab"]);
});

test("a write at once goes after what is queued; end() flushes before the half-close", async () => {
  const { asNet, log } = fakeSocket();
  const writer = new BatchedWriter(asNet, () => {});
  writer.queue(Buffer.from("head"));
  writer.writeNow(Buffer.from("body"));
  writer.queue(Buffer.from("tail"));
  writer.end();
  assert.deepEqual(log, ["head", "body", "tail", "<end>"]);
  await nextTurn();
  assert.deepEqual(log, ["head", "body", "tail", "<end>"]);
});

test("backpressure at flush time is reported; a destroyed socket gets nothing", async () => {
  const full = fakeSocket(true);
  let reported = 0;
  new BatchedWriter(full.asNet, () => reported++).queue(Buffer.from("x"));
  const gone = fakeSocket();
  const dropped = new BatchedWriter(gone.asNet, () => {});
  dropped.queue(Buffer.from("y"));
  gone.socket.destroyed = true;
  await nextTurn();
  assert.equal(reported, 1);
  assert.deepEqual(gone.log, []);
});
