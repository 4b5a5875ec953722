// Raw writes (straight to the socket's handle) must be in use on the Node we run on, and they
// must keep what socket.write guarantees: order with every other write and the half-close,
// backpressure when the peer stops reading and 'drain' when it reads again, and socket timeouts
// that count writes as activity.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { test, type TestContext } from "node:test";
import { rawWritesMade } from "./raw-write.js";
import { BatchedWriter } from "./write-batch.js";

/** A connected pair: `local` is ours, `peer` is the other end, paused until the test reads. */
async function socketPair(t: TestContext): Promise<{ local: net.Socket; peer: net.Socket }> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const local = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise<void>((resolve) => local.once("connect", resolve));
  const peer = await accepted;
  t.after(() => {
    local.destroy();
    peer.destroy();
    server.close();
  });
  return { local, peer };
}

/** Everything the peer receives until the stream ends, as a digest and a length. */
function drainPeer(peer: net.Socket): Promise<{ digest: string; length: number }> {
  const hash = createHash("sha256");
  let length = 0;
  return new Promise((resolve, reject) => {
    peer.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    peer.once("end", () => resolve({ digest: hash.digest("hex"), length }));
    peer.once("error", reject);
    peer.resume();
  });
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A chunk of `size` bytes whose content depends on `index` (so misordering shows in the digest). */
function chunk(index: number, size: number): Buffer {
  return Buffer.alloc(size, `${index}:`);
}

test("a queued write goes straight to the socket's handle on this Node", async (t) => {
  const { local, peer } = await socketPair(t);
  const before = rawWritesMade;
  const writer = new BatchedWriter(local, () => assert.fail("a small write to a reading peer is not backpressure"));
  const received = drainPeer(peer);
  writer.queue(Buffer.from("hello "));
  writer.queue(Buffer.from("world"));
  await nextTurn();
  assert.equal(rawWritesMade, before + 1, "the raw path was not taken: this Node lost the pieces raw-write.ts relies on");
  writer.end();
  const got = await received;
  assert.equal(got.digest, createHash("sha256").update("hello world").digest("hex"));
});

test("a peer that stops reading gets backpressure, then 'drain', and every byte in order", { timeout: 30_000 }, async (t) => {
  const { local, peer } = await socketPair(t);
  let full = 0;
  const writer = new BatchedWriter(local, () => full++);
  const expected = createHash("sha256");
  let expectedLength = 0;
  const send = (data: Buffer, now: boolean): void => {
    expected.update(data);
    expectedLength += data.length;
    if (now) writer.writeNow(data);
    else writer.queue(data);
  };
  // 64 × 4 KiB a turn until the kernel's buffers are full (loopback takes a few MiB at most).
  let index = 0;
  while (full === 0 && expectedLength < 256 * 1024 * 1024) {
    for (let i = 0; i < 64; i++) send(chunk(index++, 4096), false);
    await nextTurn();
  }
  assert.equal(full, 1, "the flush that the kernel could not take whole was not reported as backpressure");
  assert.equal(local.writableLength, 0, "the backpressure came from the Writable, not from the raw write");
  assert.equal(writer.needsDrain, true);
  // A write queued while the raw one waits in libuv goes through the Writable, after it; it is
  // below the Writable's mark, so the 'drain' awaited here can only come from the raw write.
  send(chunk(index++, 10), false);
  await nextTurn();
  assert.equal(local.writableNeedDrain, false);
  const drained = new Promise<void>((resolve) => local.once("drain", () => resolve()));
  const received = drainPeer(peer);
  await drained;
  assert.equal(writer.needsDrain, false);
  send(chunk(index++, 100_000), true);
  send(chunk(index++, 3000), false);
  writer.end();
  const got = await received;
  assert.equal(got.length, expectedLength);
  assert.equal(got.digest, expected.digest("hex"));
});

test("a raw write counts as activity for the socket's timeout", async (t) => {
  const { local, peer } = await socketPair(t);
  peer.resume();
  local.setTimeout(60_000);
  let refreshed = 0;
  const internals = local as unknown as { _unrefTimer: () => void };
  const original = internals._unrefTimer.bind(local);
  internals._unrefTimer = () => {
    refreshed++;
    original();
  };
  const before = rawWritesMade;
  const writer = new BatchedWriter(local, () => {});
  writer.queue(Buffer.from("ping"));
  await nextTurn();
  assert.equal(rawWritesMade, before + 1);
  assert.equal(refreshed, 1);
});
