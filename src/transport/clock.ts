// Clock comparison over the peer connections, NTP style (RFC 5905's on-wire exchange). A dialer that
// writes heartbeats (so, the Raft leader) adds a probe frame after them at most once per probe
// interval, stamped with its wall time t1; the acceptor answers at once on the same connection with
// t1, its receive time t2 and its send time t3; the dialer reads the echo at t4. Then
//   offset = ((t2 - t1) + (t3 - t4)) / 2   (peer's clock minus ours)
//   rtt    = (t4 - t1) - (t3 - t2)
// and of the last few samples the one with the smallest round trip is believed (the least queued).
// Each probe also carries the offset the dialer last measured for the acceptor, so a follower knows
// its own skew without measuring anything. This is for operators only: nothing in Raft, leases or
// fencing reads these numbers (ARCHITECTURE.md, "Safety and clocks").
import type { NodeId } from "../raft/types.js";
import { FRAME_HEADER_BYTES, writeFrameHeader } from "./frame.js";

/** Frame kind of a probe: t1, then the offset last measured for the receiver (NaN: none yet). */
export const KIND_CLOCK_PROBE = 7;
/** Frame kind of the answer to a probe: t1, t2, t3. */
export const KIND_CLOCK_ECHO = 8;
const PROBE_BODY_BYTES = 16;
const ECHO_BODY_BYTES = 24;
/** Largest clock frame (kind + body). */
export const CLOCK_FRAME_BOUND = 1 + ECHO_BODY_BYTES;
/** Bit of the hello-ack's feature byte: the acceptor answers clock probes. */
export const FEATURE_CLOCK_PROBES = 1;
/** Samples kept per peer; the one with the smallest round trip wins. */
export const CLOCK_SAMPLES_KEPT = 8;

/** Timing of the clock comparison. */
export interface ClockOptions {
  /** Wall clock, epoch ms (Date.now); tests give one node an offset. */
  readonly wallMs: () => number;
  /** Monotonic ms for the age of samples (performance.now). */
  readonly monoMs: () => number;
  /** At most one probe per peer this often. */
  readonly probeIntervalMs: number;
  /** A measurement older than this is no longer reported (the leader changed, or the peer is gone). */
  readonly staleAfterMs: number;
}

/** Default: a probe a second, forgotten after 10 s. */
export const CLOCK_DEFAULTS: ClockOptions = {
  wallMs: () => Date.now(),
  monoMs: () => performance.now(),
  probeIntervalMs: 1000,
  staleAfterMs: 10_000,
};

/** One offset measurement. */
export interface ClockSample {
  /** The peer's wall clock minus ours, ms. */
  readonly offsetMs: number;
  readonly rttMs: number;
}

/** The offset and round trip of one exchange of four timestamps. */
export function clockSample(t1: number, t2: number, t3: number, t4: number): ClockSample {
  return { offsetMs: ((t2 - t1) + (t3 - t4)) / 2, rttMs: Math.max(0, (t4 - t1) - (t3 - t2)) };
}

export function encodeClockProbe(t1: number, reportedOffsetMs: number | null): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + PROBE_BODY_BYTES);
  writeFrameHeader(buf, 0, KIND_CLOCK_PROBE, PROBE_BODY_BYTES);
  buf.writeDoubleBE(t1, FRAME_HEADER_BYTES);
  buf.writeDoubleBE(reportedOffsetMs ?? Number.NaN, FRAME_HEADER_BYTES + 8);
  return buf;
}

/** Decodes a probe body; null when malformed. */
export function decodeClockProbe(body: Buffer): { t1: number; reportedOffsetMs: number | null } | null {
  if (body.length !== PROBE_BODY_BYTES) return null;
  const t1 = body.readDoubleBE(0);
  const reported = body.readDoubleBE(8);
  if (!Number.isFinite(t1)) return null;
  return { t1, reportedOffsetMs: Number.isFinite(reported) ? reported : null };
}

export function encodeClockEcho(t1: number, t2: number, t3: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + ECHO_BODY_BYTES);
  writeFrameHeader(buf, 0, KIND_CLOCK_ECHO, ECHO_BODY_BYTES);
  buf.writeDoubleBE(t1, FRAME_HEADER_BYTES);
  buf.writeDoubleBE(t2, FRAME_HEADER_BYTES + 8);
  buf.writeDoubleBE(t3, FRAME_HEADER_BYTES + 16);
  return buf;
}

/** Decodes an echo body; null when malformed. */
export function decodeClockEcho(body: Buffer): { t1: number; t2: number; t3: number } | null {
  if (body.length !== ECHO_BODY_BYTES) return null;
  const t = { t1: body.readDoubleBE(0), t2: body.readDoubleBE(8), t3: body.readDoubleBE(16) };
  return Number.isFinite(t.t1) && Number.isFinite(t.t2) && Number.isFinite(t.t3) ? t : null;
}

/** What a node knows of clocks: offsets it measured of its peers, and its own as last reported to it. */
export interface ClockView {
  /** Fresh measurements of peers this node probes (as leader: every follower it reaches). */
  readonly peers: ReadonlyMap<NodeId, ClockSample>;
  /** This node's offset as the node probing it (the leader) last measured it; null when none is fresh. */
  readonly self: { readonly offsetMs: number; readonly by: NodeId } | null;
}

/** The transport's record of clock samples; bounded by the peer count times CLOCK_SAMPLES_KEPT. */
export class ClockBook {
  private readonly measured = new Map<NodeId, { samples: ClockSample[]; atMs: number }>();
  private reported: { offsetMs: number; by: NodeId; atMs: number } | null = null;

  constructor(readonly options: ClockOptions) {}

  /** Records an exchange with `peer` that ended now (t4 read from the wall clock here). */
  echoed(peer: NodeId, t1: number, t2: number, t3: number): void {
    const sample = clockSample(t1, t2, t3, this.options.wallMs());
    let entry = this.measured.get(peer);
    if (entry === undefined) {
      entry = { samples: [], atMs: 0 };
      this.measured.set(peer, entry);
    }
    entry.samples.push(sample);
    if (entry.samples.length > CLOCK_SAMPLES_KEPT) entry.samples.shift();
    entry.atMs = this.options.monoMs();
  }

  /** The believed offset of `peer` (smallest round trip of the recent samples), or null. */
  offsetOf(peer: NodeId): ClockSample | null {
    const entry = this.measured.get(peer);
    if (entry === undefined || this.options.monoMs() - entry.atMs > this.options.staleAfterMs) return null;
    let best: ClockSample | null = null;
    for (const s of entry.samples) if (best === null || s.rttMs < best.rttMs) best = s;
    return best;
  }

  /** A probe from `peer` told us our offset as it measured it. */
  reportedBy(peer: NodeId, offsetMs: number | null): void {
    if (offsetMs !== null) this.reported = { offsetMs, by: peer, atMs: this.options.monoMs() };
  }

  forget(peer: NodeId): void {
    this.measured.delete(peer);
  }

  view(): ClockView {
    const peers = new Map<NodeId, ClockSample>();
    for (const id of this.measured.keys()) {
      const s = this.offsetOf(id);
      if (s !== null) peers.set(id, s);
    }
    const r = this.reported;
    const self = r !== null && this.options.monoMs() - r.atMs <= this.options.staleAfterMs ? { offsetMs: r.offsetMs, by: r.by } : null;
    return { peers, self };
  }
}
