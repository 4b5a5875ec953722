import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Message, NodeId } from "../raft/types.js";
import { ClockBook, clockSample, decodeClockEcho, decodeClockProbe, encodeClockEcho, encodeClockProbe } from "./clock.js";
import { FRAME_HEADER_BYTES } from "./frame.js";
import { appendMessage } from "./testing/messages.js";
import { startNode, TestPki } from "./testing/tls.js";
import { waitFor } from "./testing/wait.js";

const pki = await TestPki.create("test");
const heartbeat = (from: number, to: number): Message => ({ type: "heartbeat", from: from as NodeId, to: to as NodeId, term: 1, commit: 0, context: "" });

describe("clock comparison", () => {
  it("clockSample() takes the offset from the four timestamps and removes the peer's turnaround from the round trip", () => {
    // Peer 2000 ms ahead, 10 ms each way, 1 ms turnaround.
    assert.deepEqual(clockSample(1000, 3010, 3011, 1021), { offsetMs: 2000, rttMs: 20 });
    // Asymmetric paths bias the offset by half the asymmetry, as in NTP.
    assert.deepEqual(clockSample(0, 30, 30, 40), { offsetMs: 10, rttMs: 40 });
  });

  it("probe and echo frames round-trip; a probe without a measurement carries none", () => {
    assert.deepEqual(decodeClockProbe(encodeClockProbe(12.5, -3).subarray(FRAME_HEADER_BYTES)), { t1: 12.5, reportedOffsetMs: -3 });
    assert.deepEqual(decodeClockProbe(encodeClockProbe(12.5, null).subarray(FRAME_HEADER_BYTES)), { t1: 12.5, reportedOffsetMs: null });
    assert.deepEqual(decodeClockEcho(encodeClockEcho(1, 2, 3).subarray(FRAME_HEADER_BYTES)), { t1: 1, t2: 2, t3: 3 });
    assert.equal(decodeClockEcho(Buffer.alloc(5)), null);
  });

  it("ClockBook believes the sample with the smallest round trip and forgets stale ones", () => {
    let wall = 0;
    let mono = 0;
    const book = new ClockBook({ wallMs: () => wall, monoMs: () => mono, probeIntervalMs: 100, staleAfterMs: 1000 });
    wall = 1100; // rtt 100, offset 450 (queued on the way back)
    book.echoed(2 as NodeId, 1000, 1500, 1500);
    wall = 2010; // rtt 10, offset 495
    book.echoed(2 as NodeId, 2000, 2500, 2500);
    assert.deepEqual(book.offsetOf(2 as NodeId), { offsetMs: 495, rttMs: 10 });
    mono = 1001;
    assert.equal(book.offsetOf(2 as NodeId), null);
    assert.equal(book.view().peers.size, 0);
  });

  it("a leader's heartbeats measure a follower whose wall clock is 2 s ahead, and the follower learns its own offset", async (t) => {
    const fast = { probeIntervalMs: 20 };
    const leader = await startNode(pki, 1, { clock: fast });
    const follower = await startNode(pki, 2, { clock: { ...fast, wallMs: () => Date.now() + 2000 } });
    t.after(async () => { await leader.close(); await follower.close(); });
    leader.addPeer(2 as NodeId, follower.address());
    follower.addPeer(1 as NodeId, leader.address());
    // Appends alone carry no probe: only a heartbeat does.
    leader.send([appendMessage(1, 2, 0, 1, 8)]);
    await waitFor(() => leader.stats().peers[0]?.connected === true, "the connection");
    const timer = setInterval(() => leader.send([heartbeat(1, 2)]), 10);
    t.after(() => clearInterval(timer));
    await waitFor(() => follower.clockView().self !== null, "the follower to be told its offset");
    const measured = leader.clockView().peers.get(2 as NodeId);
    assert.ok(measured !== undefined && Math.abs(measured.offsetMs - 2000) < 100, `leader measured ${JSON.stringify(measured)}`);
    const self = follower.clockView().self!;
    assert.equal(self.by, 1);
    assert.ok(Math.abs(self.offsetMs - 2000) < 100, `follower told ${self.offsetMs}`);
    assert.equal(follower.clockView().peers.size, 0, "a node that sends no heartbeats measures nobody");
    assert.equal(leader.clockView().self, null);
  });
});
