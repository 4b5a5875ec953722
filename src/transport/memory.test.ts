import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NodeId } from "../raft/types.js";
import { MemoryNetwork } from "./memory.js";
import { transportConformance } from "./testing/conformance.js";
import type { Transport } from "./types.js";
import { appendMessage } from "./testing/messages.js";
import { waitFor } from "./testing/wait.js";

transportConformance("MemoryTransport", async (ids, limits) => {
  const network = new MemoryNetwork();
  const transports = new Map<number, Transport>();
  for (const n of ids) transports.set(n, network.createTransport(n as NodeId, { limits }));
  return {
    transports,
    addressOf: (n) => `memory://${n}`,
    close: async () => {
      for (const t of transports.values()) await t.close();
    },
  };
});

describe("MemoryTransport", () => {
  it("a cut link drops messages (counted) until it is restored", async () => {
    const network = new MemoryNetwork();
    const a = network.createTransport(1 as NodeId);
    const b = network.createTransport(2 as NodeId);
    const got: number[] = [];
    b.onMessage((m) => got.push(m.type === "append" ? m.prevIndex : -1));
    a.addPeer(2 as NodeId, b.address);
    network.setLink(1 as NodeId, 2 as NodeId, false);
    a.send([appendMessage(1, 2, 0, 1, 1)]);
    await waitFor(() => a.stats().droppedMessages === 1, "the drop on the cut link");
    network.setLink(1 as NodeId, 2 as NodeId, true);
    a.send([appendMessage(1, 2, 1, 1, 1)]);
    await waitFor(() => got.length === 1, "delivery after the link is restored");
    assert.deepEqual(got, [1]);
    await a.close();
    await b.close();
  });

  it("an address that belongs to another node receives nothing", async () => {
    const network = new MemoryNetwork();
    const a = network.createTransport(1 as NodeId);
    const c = network.createTransport(3 as NodeId);
    let delivered = 0;
    c.onMessage(() => delivered++);
    a.addPeer(2 as NodeId, c.address);
    a.send([appendMessage(1, 2, 0, 1, 1)]);
    await waitFor(() => a.stats().droppedMessages === 1, "the refused message to be counted");
    assert.equal(delivered, 0);
  });
});
