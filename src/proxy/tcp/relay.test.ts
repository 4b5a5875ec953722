// The relay reuses one read buffer: bytes it hands to the write batch must not point into it, or
// the next read (before the batch is flushed) would overwrite them.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { test } from "node:test";
import { BatchedWriter } from "../write-batch.js";
import { BackendRelay } from "./relay.js";

/** A client-socket stand-in that records what is written to it. */
class FakeClient extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  readonly written: string[] = [];
  write(data: Buffer): boolean {
    this.written.push(data.toString());
    return true;
  }
}

test("small reads queued for the batch keep their bytes when the buffer is read into again", async () => {
  const relay = new BackendRelay();
  const client = new FakeClient();
  const source = new EventEmitter() as EventEmitter & { resume(): void };
  source.resume = () => {};
  relay.attach(source as unknown as Socket, new BatchedWriter(client as unknown as Socket, () => {}));
  const read = (text: string): void => {
    const buffer = (relay.onread.buffer as () => Uint8Array)();
    const bytes = Buffer.from(text).copy(buffer);
    relay.onread.callback(bytes, buffer);
  };
  // Two reads in one turn of the event loop, both below the batch bound.
  read("first");
  read("SECOND");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(client.written, ["firstSECOND"]);
});
