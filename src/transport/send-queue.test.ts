import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../raft/types.js";
import { encodedFrameBytes } from "./codec.js";
import { SendQueue } from "./send-queue.js";
import { appendMessage, everyMessageType } from "./testing/messages.js";

const offer = (q: SendQueue, m: Message): boolean => q.offer(m, encodedFrameBytes(m));

describe("SendQueue", () => {
  it("refuses a message that would exceed the byte bound, and accepts again once drained", () => {
    const m = appendMessage(1, 2, 0, 1, 1000);
    const size = encodedFrameBytes(m);
    const q = new SendQueue({ maxQueueMessages: 100, maxQueueBytes: size * 3, maxQueuedSnapshots: 1 });
    assert.deepEqual([offer(q, m), offer(q, m), offer(q, m), offer(q, m)], [true, true, true, false]);
    assert.equal(q.queuedBytes, size * 3);
    q.take(size);
    assert.equal(offer(q, m), true);
  });

  it("refuses beyond the message count bound", () => {
    const q = new SendQueue({ maxQueueMessages: 2, maxQueueBytes: 1 << 20, maxQueuedSnapshots: 1 });
    const m = appendMessage(1, 2, 0, 0, 0);
    assert.deepEqual([offer(q, m), offer(q, m), offer(q, m)], [true, true, false]);
  });

  it("gives snapshots their own slot outside the byte bound", () => {
    const snapshot = everyMessageType(1, 2).find((m) => m.type === "snapshot") as Message;
    const q = new SendQueue({ maxQueueMessages: 10, maxQueueBytes: 1024, maxQueuedSnapshots: 1 });
    assert.equal(offer(q, snapshot), true);
    assert.equal(offer(q, snapshot), false);
    assert.equal(q.queuedBytes, 0);
    assert.equal(offer(q, appendMessage(1, 2, 0, 1, 10)), true);
  });

  it("take() returns a prefix in order, up to maxBytes but at least one message", () => {
    const q = new SendQueue({ maxQueueMessages: 5000, maxQueueBytes: 1 << 30, maxQueuedSnapshots: 1 });
    const ms = Array.from({ length: 3000 }, (_, i) => appendMessage(1, 2, i, 1, 100));
    for (const m of ms) offer(q, m);
    const first = q.take(1);
    assert.equal(first.messages.length, 1);
    const size = encodedFrameBytes(ms[0] as Message);
    const second = q.take(size * 10);
    assert.deepEqual(second.messages, ms.slice(1, 11));
    assert.equal(second.totalBytes, size * 10);
    const rest = q.take(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(rest.messages, ms.slice(11));
    assert.equal(q.length, 0);
    assert.equal(q.queuedBytes, 0);
  });
});
