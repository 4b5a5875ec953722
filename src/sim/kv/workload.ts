// Simulated clients of the KV store. Register clients put, delete, read (linearizable range) and
// compare-and-swap (txn) on a few keys, plus modRevision-guarded txns on a key of their own; lease
// clients grant leases, attach keys, keep them alive, and sometimes revoke them, stop keep-alives
// for good, or pause longer than the TTL; watch clients follow a range from a revision and resume
// after a broken stream. Everything they saw is recorded for the checkers. A refusal proves the
// operation did not happen (retried, with the leader hint); a timeout leaves it unknown.
import type { NodeId } from "../../raft/raft.js";
import { NO_NODE } from "../../raft/raft.js";
import type { Command, Compare, KeyRange, LeaseId, Revision, WatchEvent } from "../../kv/store.js";
import type { Operation } from "../linearizability/model.js";
import type { Rng } from "../rng.js";
import type { KvRegisterInput, KvRegisterOutput } from "./model.js";
import type { KvOp, KvOpResult, KvReply, KvRequest, WatchDelivery } from "./protocol.js";

/** Keys checked for linearizability (never attached to a lease). */
export const REGISTER_KEYS: readonly string[] = ["a", "b", "c"];
/** Key written by modRevision-guarded txns. */
const MOD_KEY = "m";
/** Revisions kept behind the latest known one when a client compacts. */
const COMPACT_KEEP_REVISIONS = 10;
/** Longest a refused operation waits before its retry. */
const RETRY_BACKOFF_MAX_US = 20_000;
/** Events one watch client keeps; beyond it the client stops watching. */
export const MAX_WATCH_EVENTS = 100_000;

/** Settings of the client load. */
export interface KvWorkloadParams {
  readonly registerClients: number;
  readonly leaseClients: number;
  readonly watchClients: number;
  readonly timeoutUs: number;
  readonly thinkMaxUs: number;
  readonly leaseTtlMs: readonly [number, number];
}

/** What clients need from the simulation. */
export interface KvWorkloadWorld {
  nowUs(): number;
  after(delayUs: number, fn: () => void): void;
  sendRequest(to: NodeId, req: KvRequest): void;
  nodeIds(): readonly NodeId[];
}

/** One operation of the register history. */
export type KvHistoryOp = Operation<KvRegisterInput, KvRegisterOutput>;

/** An acknowledged operation that carries a store revision. */
export interface RevisionObservation {
  readonly clientId: number;
  readonly invokeUs: number;
  readonly ackUs: number;
  readonly revision: Revision;
  /** True for a write that changed a key (its revision is new). */
  readonly wrote: boolean;
  readonly what: string;
}

/** What a lease's holders were told: times (of the requests) of acknowledged grants and keep-alives. */
export interface LeaseRecord {
  readonly ttlMs: number;
  readonly ackedAtUs: number[];
}

/** What one watch client received, in order, from its first start revision. */
export interface WatchRecord {
  readonly clientId: number;
  readonly range: KeyRange;
  readonly startRevision: Revision;
  readonly events: WatchEvent[];
  /** Set when a node answered that the next revision it needs is compacted (the stream ends there). */
  compactedAtRevision: Revision | null;
}

/** Where a watcher's expected history is read: every change in a range from a revision, in order. */
export interface WatchHistorySource {
  history(fromRevision: Revision, range: KeyRange): readonly WatchEvent[];
}

interface Pending {
  readonly opId: number;
  readonly op: KvOp;
  readonly invokeUs: number;
  readonly deadlineUs: number;
  attempt: number;
  readonly done: (result: KvOpResult | null) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a unique register value. */
export function encodeValue(value: number): Uint8Array {
  return encoder.encode(String(value));
}

/** Decodes a register value written by encodeValue. */
export function decodeValue(bytes: Uint8Array): number {
  return Number(decoder.decode(bytes));
}

/** Every simulated client and what they recorded. */
export class KvWorkload {
  readonly history: KvHistoryOp[] = [];
  readonly revisions: RevisionObservation[] = [];
  readonly leaseRecords = new Map<LeaseId, LeaseRecord>();
  readonly watches: WatchRecord[] = [];
  acknowledged = 0;
  timedOut = 0;
  private stopped = false;
  private leaderGuess: NodeId = NO_NODE;
  private readonly pending = new Map<number, Pending>();
  private nextOpId = 1;
  private nextValue = 1;
  private latestRevision = 0;
  private readonly watchStreams = new Map<number, { opId: number; record: WatchRecord; next: Revision }>();

  constructor(private readonly world: KvWorkloadWorld, private readonly rng: Rng, private readonly params: KvWorkloadParams) {}

  /** Starts every client. */
  start(): void {
    let id = 1;
    for (let i = 0; i < this.params.registerClients; i++) this.registerLoop(id++);
    for (let i = 0; i < this.params.leaseClients; i++) this.leaseLoop(id++);
    for (let i = 0; i < this.params.watchClients; i++) this.startWatch(id++);
  }

  /** Clients start nothing new from now on. */
  stop(): void {
    this.stopped = true;
  }

  /** True when no operation is waiting for an answer. */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  // ---------------------------------------------------------------- plumbing

  private think(fn: () => void): void {
    this.world.after(this.rng.range(100, this.params.thinkMaxUs), () => {
      if (!this.stopped) fn();
    });
  }

  private target(): NodeId {
    const ids = this.world.nodeIds();
    if (this.leaderGuess !== NO_NODE && this.rng.chance(0.8)) return this.leaderGuess;
    return this.rng.pick(ids);
  }

  private invoke(clientId: number, op: KvOp, done: (result: KvOpResult | null) => void, to?: NodeId): number {
    const opId = this.nextOpId++;
    const now = this.world.nowUs();
    const p: Pending = { opId, op, invokeUs: now, deadlineUs: now + this.params.timeoutUs, attempt: 0, done };
    this.pending.set(clientId * 1_000_000 + opId, p);
    this.world.sendRequest(to ?? this.target(), { clientId, opId, attempt: 0, op });
    this.world.after(this.params.timeoutUs, () => {
      if (this.pending.delete(clientId * 1_000_000 + opId)) {
        this.timedOut++;
        done(null);
      }
    });
    return opId;
  }

  /** A node's answer reaches its client. */
  onReply(reply: KvReply): void {
    const key = reply.clientId * 1_000_000 + reply.opId;
    const p = this.pending.get(key);
    if (p === undefined || p.attempt !== reply.attempt) return;
    if (reply.kind === "ok") {
      this.pending.delete(key);
      this.acknowledged++;
      this.leaderGuess = p.op.kind === "command" || p.op.kind === "keepAlive" ? reply.from : this.leaderGuess;
      p.done(reply.result);
      return;
    }
    if (reply.kind === "unknown") {
      // The write may still apply: the client gives up on it, as on a timeout (never retries it).
      this.pending.delete(key);
      this.timedOut++;
      p.done(null);
      return;
    }
    if (reply.code === "lease_expired" || reply.code === "lease_not_found") {
      this.pending.delete(key);
      p.done({ ok: false, code: "lease_not_found", message: reply.code });
      return;
    }
    if (reply.leaderHint !== NO_NODE) this.leaderGuess = reply.leaderHint;
    else if (reply.from === this.leaderGuess) this.leaderGuess = NO_NODE;
    const retryAt = this.world.nowUs() + this.rng.range(1_000, RETRY_BACKOFF_MAX_US);
    if (retryAt >= p.deadlineUs) return; // the timeout answers it
    this.world.after(retryAt - this.world.nowUs(), () => {
      if (this.pending.get(key) !== p) return;
      p.attempt++;
      this.world.sendRequest(reply.leaderHint !== NO_NODE ? reply.leaderHint : this.target(), { clientId: reply.clientId, opId: p.opId, attempt: p.attempt, op: p.op });
    });
  }

  private observe(clientId: number, invokeUs: number, result: KvOpResult | null, wrote: boolean, what: string): void {
    if (result === null || !result.ok || !("revision" in result)) return;
    this.revisions.push({ clientId, invokeUs, ackUs: this.world.nowUs(), revision: result.revision, wrote, what });
    this.latestRevision = Math.max(this.latestRevision, result.revision);
  }

  // ---------------------------------------------------------------- register clients

  private registerLoop(clientId: number): void {
    const key = this.rng.pick(REGISTER_KEYS);
    const r = this.rng.int(100);
    const invokeUs = this.world.nowUs();
    const next = (): void => this.think(() => this.registerLoop(clientId));
    const record = (input: KvRegisterInput, output: KvRegisterOutput | null): void => {
      this.history.push({ clientId, input, output, callTime: invokeUs, returnTime: output === null ? Infinity : this.world.nowUs() });
    };
    if (r < 30) {
      const value = this.nextValue++;
      this.invoke(clientId, { kind: "command", cmd: { type: "put", key, value: encodeValue(value) } }, (res) => {
        if (res !== null && res.ok) record({ kind: "write", key, value }, { kind: "write" });
        else if (res === null) record({ kind: "write", key, value }, null);
        this.observe(clientId, invokeUs, res, true, `put ${key}=${value}`);
        next();
      });
    } else if (r < 38) {
      this.invoke(clientId, { kind: "command", cmd: { type: "delete", key } }, (res) => {
        if (res !== null && res.ok) record({ kind: "delete", key }, { kind: "write" });
        else if (res === null) record({ kind: "delete", key }, null);
        this.observe(clientId, invokeUs, res, res !== null && res.ok && res.type === "delete" && res.deleted > 0, `delete ${key}`);
        next();
      });
    } else if (r < 65) {
      this.invoke(clientId, { kind: "range", key }, (res) => {
        if (res !== null && res.ok && res.type === "range") {
          const kv = res.kvs[0];
          record({ kind: "read", key }, { kind: "read", value: kv === undefined ? null : decodeValue(kv.value) });
        }
        this.observe(clientId, invokeUs, res, false, `range ${key}`);
        next();
      });
    } else if (r < 89) {
      this.casTxn(clientId, key, invokeUs, record, next);
    } else if (r < 90) {
      // Compaction of old revisions: watchers resuming below it are told so.
      const revision = Math.max(0, this.latestRevision - COMPACT_KEEP_REVISIONS);
      this.invoke(clientId, { kind: "command", cmd: { type: "compact", revision } }, next);
    } else {
      this.modRevisionTxn(clientId, invokeUs, next);
    }
  }

  /** Compare value = a value seen before (or version = 0: absent), then put. */
  private casTxn(clientId: number, key: string, invokeUs: number, record: (i: KvRegisterInput, o: KvRegisterOutput | null) => void, next: () => void): void {
    const seen = this.history.filter((h) => h.input.key === key && h.input.kind === "write");
    const last = seen.at(-1 - this.rng.int(Math.min(2, seen.length + 1)));
    const expected = last === undefined || last.input.kind !== "write" || this.rng.chance(0.2) ? null : last.input.value;
    const compare: Compare = expected === null
      ? { key, target: "version", op: "=", value: 0 }
      : { key, target: "value", op: "=", value: encodeValue(expected) };
    const value = this.nextValue++;
    const cmd: Command = { type: "txn", compares: [compare], success: [{ type: "put", key, value: encodeValue(value) }], failure: [{ type: "range", key }] };
    this.invoke(clientId, { kind: "command", cmd }, (res) => {
      const input: KvRegisterInput = { kind: "cas", key, expected, value };
      if (res !== null && res.ok && res.type === "txn") record(input, { kind: "cas", ok: res.succeeded });
      else if (res === null) record(input, null);
      this.observe(clientId, invokeUs, res, res !== null && res.ok && res.type === "txn" && res.succeeded, `txn cas ${key}`);
      next();
    });
  }

  /** Compare modRevision = the last one read, then put; else read. Checked by the revision checkers. */
  private modRevisionTxn(clientId: number, invokeUs: number, next: () => void): void {
    this.invoke(clientId, { kind: "range", key: MOD_KEY }, (res) => {
      this.observe(clientId, invokeUs, res, false, `range ${MOD_KEY}`);
      if (res === null || !res.ok || res.type !== "range") return next();
      const mod = res.kvs[0]?.modRevision ?? 0;
      const txnInvokeUs = this.world.nowUs();
      const cmd: Command = {
        type: "txn",
        compares: [{ key: MOD_KEY, target: "modRevision", op: "=", value: mod }],
        success: [{ type: "put", key: MOD_KEY, value: encodeValue(this.nextValue++) }],
        failure: [{ type: "range", key: MOD_KEY }],
      };
      this.invoke(clientId, { kind: "command", cmd }, (r2) => {
        this.observe(clientId, txnInvokeUs, r2, r2 !== null && r2.ok && r2.type === "txn" && r2.succeeded, `txn modRevision ${MOD_KEY}`);
        next();
      });
    });
  }

  // ---------------------------------------------------------------- lease clients

  private leaseLoop(clientId: number): void {
    const [lo, hi] = this.params.leaseTtlMs;
    const ttlMs = this.rng.range(lo, hi);
    const id: LeaseId = clientId * 100_000 + this.nextOpId;
    const style = this.rng.pick(["keep", "keep", "abandon", "pause", "revoke"] as const);
    const grantUs = this.world.nowUs();
    this.invoke(clientId, { kind: "command", cmd: { type: "leaseGrant", id, ttlMs } }, (res) => {
      if (res === null || !res.ok) return this.think(() => this.leaseLoop(clientId));
      this.leaseRecords.set(id, { ttlMs, ackedAtUs: [grantUs] });
      const key = `l${clientId}`;
      this.invoke(clientId, { kind: "command", cmd: { type: "put", key, value: encodeValue(this.nextValue++), lease: id } }, () => undefined);
      const keepUntilUs = this.world.nowUs() + this.rng.range(ttlMs * 500, ttlMs * 4000);
      this.keepAlive(clientId, id, ttlMs, style, keepUntilUs);
    });
  }

  private keepAlive(clientId: number, id: LeaseId, ttlMs: number, style: "keep" | "abandon" | "pause" | "revoke", untilUs: number): void {
    const periodUs = Math.round(ttlMs * 1000 / this.rng.range(3, 5));
    this.world.after(periodUs, () => {
      if (this.stopped) return;
      if (this.world.nowUs() >= untilUs) {
        if (style === "abandon") return this.think(() => this.leaseLoop(clientId)); // keeps quiet: the lease must expire
        if (style === "revoke") {
          this.invoke(clientId, { kind: "command", cmd: { type: "leaseRevoke", id } }, () => this.think(() => this.leaseLoop(clientId)));
          return;
        }
        if (style === "pause") {
          // Paused longer than the TTL or shorter: the next keep-alive may find the lease gone.
          const pauseUs = this.rng.range(ttlMs * 300, ttlMs * 2000);
          this.world.after(pauseUs, () => this.keepAlive(clientId, id, ttlMs, "keep", this.world.nowUs() + ttlMs * 2000));
          return;
        }
        return this.think(() => this.leaseLoop(clientId));
      }
      const invokeUs = this.world.nowUs();
      this.invoke(clientId, { kind: "keepAlive", id }, (res) => {
        if (res !== null && res.ok) {
          this.leaseRecords.get(id)?.ackedAtUs.push(invokeUs);
        } else if (res !== null && !res.ok && res.code === "lease_not_found") {
          return this.think(() => this.leaseLoop(clientId)); // gone: start over with a new lease
        }
        this.keepAlive(clientId, id, ttlMs, style, untilUs);
      });
    });
  }

  // ---------------------------------------------------------------- watch clients

  private startWatch(clientId: number): void {
    const range: KeyRange = this.rng.chance(0.5) ? { key: "a", rangeEnd: "\0" } : { key: this.rng.pick(REGISTER_KEYS) };
    const startRevision = this.rng.chance(0.5) ? 1 : this.rng.range(1, 15);
    const record: WatchRecord = { clientId, range, startRevision, events: [], compactedAtRevision: null };
    this.watches.push(record);
    const stream = { opId: 0, record, next: startRevision };
    this.watchStreams.set(clientId, stream);
    this.openWatch(clientId);
  }

  private openWatch(clientId: number): void {
    const stream = this.watchStreams.get(clientId);
    if (stream === undefined) return; // watchers follow to the end, after the other clients stop
    stream.opId = this.invoke(clientId, { kind: "watch", range: stream.record.range, startRevision: stream.next }, (res) => {
      if (res !== null && res.ok) return; // open: batches flow until the stream breaks
      if (res !== null && !res.ok && res.code === "compacted") {
        stream.record.compactedAtRevision = stream.next;
        return;
      }
      this.world.after(this.rng.range(1_000, RETRY_BACKOFF_MAX_US), () => this.openWatch(clientId));
    });
  }

  /** A watch batch arrives. */
  onWatch(d: WatchDelivery): void {
    const stream = this.watchStreams.get(d.clientId);
    if (stream === undefined || stream.opId !== d.opId) return; // a stream the client gave up on
    const b = d.batch;
    if (b.type === "events") {
      for (const e of b.events) {
        if (stream.record.events.length >= MAX_WATCH_EVENTS) return;
        stream.record.events.push(e);
        stream.next = e.kv.modRevision + 1;
      }
    } else if (b.type === "cancelled") {
      stream.opId = -1;
      if (b.code === "compacted") {
        stream.record.compactedAtRevision = stream.next;
        return;
      }
      if (b.resumeRevision !== undefined) stream.next = b.resumeRevision;
      stream.opId = -1;
      this.world.after(this.rng.range(1_000, RETRY_BACKOFF_MAX_US), () => this.openWatch(d.clientId));
    }
  }

  /**
   * Null when every watcher has received up to the last change in its range that `reference` (the
   * settled leader's store) holds; else which one lags. A lost event in the middle is the
   * watch-order checker's business, so only the last revision counts here.
   */
  watchLag(reference: WatchHistorySource): string | null {
    for (const w of this.watches) {
      if (w.compactedAtRevision !== null) continue; // told its next revision is compacted: it stops there
      const want = reference.history(w.startRevision, w.range).at(-1)?.kv.modRevision ?? 0;
      const got = w.events.at(-1)?.kv.modRevision ?? 0;
      if (got < want) return `watch client ${w.clientId} received up to revision ${got} of ${want}`;
    }
    return null;
  }

  /** The node serving a client's stream crashed: the client reconnects elsewhere. */
  onStreamBroken(clientId: number, opId: number): void {
    const stream = this.watchStreams.get(clientId);
    if (stream === undefined || stream.opId !== opId) return;
    stream.opId = -1;
    this.world.after(this.rng.range(1_000, RETRY_BACKOFF_MAX_US), () => this.openWatch(clientId));
  }
}
