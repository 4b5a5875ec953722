// The conformance suite every Transport implementation must pass (run by memory.test.ts and
// tls-transport.test.ts). It checks the contract in types.ts: ordered delivery without duplicates,
// intact content, pipelining, counted drops for unknown peers, full queues and oversized messages,
// removal and close.
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { Message, NodeId } from "../../raft/types.js";
import type { TransportLimits } from "../limits.js";
import type { Transport } from "../types.js";
import { appendMessage, everyMessageType } from "./messages.js";
import { waitFor } from "./wait.js";

/** A set of connected transports made for one test. */
export interface TransportHarness {
  readonly transports: ReadonlyMap<number, Transport>;
  addressOf(id: number): string;
  close(): Promise<void>;
}

/** Makes transports for `ids` (not yet peered) with the given limits. */
export type TransportHarnessFactory = (ids: readonly number[], limits?: Partial<TransportLimits>) => Promise<TransportHarness>;

const id = (n: number): NodeId => n as NodeId;

async function setUp(t: TestContext, factory: TransportHarnessFactory, ids: readonly number[], limits?: Partial<TransportLimits>) {
  const harness = await factory(ids, limits);
  t.after(() => harness.close());
  const inbox = new Map<number, Message[]>();
  for (const n of ids) {
    const received: Message[] = [];
    inbox.set(n, received);
    harness.transports.get(n)?.onMessage((m) => received.push(m));
  }
  const transport = (n: number): Transport => harness.transports.get(n) as Transport;
  const received = (n: number): Message[] => inbox.get(n) as Message[];
  const peerAll = (): void => {
    for (const a of ids) for (const b of ids) if (a !== b) transport(a).addPeer(id(b), harness.addressOf(b));
  };
  return { harness, transport, received, peerAll };
}

/** Registers the conformance tests for one implementation. */
export function transportConformance(name: string, factory: TransportHarnessFactory): void {
  describe(`${name} conformance`, () => {
    it("delivers one message of every type intact and in order", async (t) => {
      const { transport, received, peerAll } = await setUp(t, factory, [1, 2], { maxQueuedSnapshots: 2 });
      peerAll();
      const messages = everyMessageType(1, 2);
      transport(1).send(messages);
      await waitFor(() => received(2).length >= messages.length, "every message type");
      // A snapshot streams beside the other messages (TLS), so later messages may overtake it;
      // every other message keeps its send order.
      const isSnapshot = (m: Message): boolean => m.type === "snapshot";
      assert.deepEqual(received(2).filter((m) => !isSnapshot(m)), messages.filter((m) => !isSnapshot(m)));
      assert.deepEqual(received(2).filter(isSnapshot), messages.filter(isSnapshot));
      assert.equal(transport(2).stats().receivedMessages, messages.length);
    });

    it("pipelines thousands of messages in order without waiting for replies", async (t) => {
      const { transport, received, peerAll } = await setUp(t, factory, [1, 2]);
      peerAll();
      const count = 5000;
      for (let i = 0; i < count; i++) transport(1).send([appendMessage(1, 2, i, 1, 16)]);
      await waitFor(() => received(2).length >= count, `${count} appends`);
      assert.deepEqual(received(2).map((m) => (m.type === "append" ? m.prevIndex : -1)), Array.from({ length: count }, (_, i) => i));
    });

    it("carries traffic both ways between three nodes", async (t) => {
      const { transport, received, peerAll } = await setUp(t, factory, [1, 2, 3]);
      peerAll();
      for (const from of [1, 2, 3]) {
        for (const to of [1, 2, 3]) {
          if (from !== to) transport(from).send([{ type: "timeoutNow", from: id(from), to: id(to), term: from * 10 + to }]);
        }
      }
      await waitFor(() => [1, 2, 3].every((n) => received(n).length === 2), "two messages at each node");
      for (const n of [1, 2, 3]) {
        assert.deepEqual(received(n).map((m) => m.term).sort(), [1, 2, 3].filter((f) => f !== n).map((f) => f * 10 + n).sort());
      }
    });

    it("drops and counts a message to a peer it does not know", async (t) => {
      const { transport } = await setUp(t, factory, [1, 2]);
      transport(1).send([{ type: "timeoutNow", from: id(1), to: id(9), term: 1 }]);
      assert.equal(transport(1).stats().droppedMessages, 1);
    });

    it("drops and counts what exceeds the queue bound, and delivers the rest in order", async (t) => {
      const { transport, received, peerAll } = await setUp(t, factory, [1, 2], { maxQueueMessages: 100 });
      peerAll();
      const messages = Array.from({ length: 150 }, (_, i) => appendMessage(1, 2, i, 1, 8));
      transport(1).send(messages);
      assert.equal(transport(1).stats().droppedMessages, 50);
      await waitFor(() => received(2).length >= 100, "the 100 queued messages");
      assert.deepEqual(received(2), messages.slice(0, 100));
    });

    it("drops and counts a message larger than the frame limit", async (t) => {
      const { transport, received, peerAll } = await setUp(t, factory, [1, 2], { maxFrameBytes: 64 * 1024 });
      peerAll();
      const big = appendMessage(1, 2, 0, 1, 64 * 1024);
      const after = appendMessage(1, 2, 1, 1, 10);
      transport(1).send([big, after]);
      assert.equal(transport(1).stats().droppedMessages, 1);
      await waitFor(() => received(2).length >= 1, "the message after the oversized one");
      assert.deepEqual(received(2), [after]);
    });

    it("stops sending to a removed peer and resumes when it is added again", async (t) => {
      const { harness, transport, received, peerAll } = await setUp(t, factory, [1, 2]);
      peerAll();
      transport(1).send([appendMessage(1, 2, 0, 1, 4)]);
      await waitFor(() => received(2).length === 1, "the first message");
      transport(1).removePeer(id(2));
      transport(1).send([appendMessage(1, 2, 1, 1, 4)]);
      assert.equal(transport(1).stats().droppedMessages, 1);
      assert.equal(transport(1).stats().peers.length, 0);
      transport(1).addPeer(id(2), harness.addressOf(2));
      transport(1).send([appendMessage(1, 2, 2, 1, 4)]);
      await waitFor(() => received(2).length === 2, "the message after re-adding");
      const last = received(2)[1];
      assert.equal(last?.type === "append" ? last.prevIndex : -1, 2);
    });

    it("after close(), sends are dropped, nothing more is delivered, and close() can be repeated", async (t) => {
      const { transport, received, peerAll } = await setUp(t, factory, [1, 2]);
      peerAll();
      transport(1).send([appendMessage(1, 2, 0, 1, 4)]);
      await waitFor(() => received(2).length === 1, "the first message");
      await transport(1).close();
      await transport(1).close();
      const before = transport(1).stats().droppedMessages;
      transport(1).send([appendMessage(1, 2, 1, 1, 4)]);
      assert.equal(transport(1).stats().droppedMessages, before + 1);
      await transport(2).close();
      assert.equal(received(2).length, 1);
    });
  });
}
