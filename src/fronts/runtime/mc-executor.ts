// Runs memcached operations (codec/memcached-ops.ts: one vocabulary for text and binary) on the
// replicated store, under frontPrefix("memcached"). The CAS unique is the key's mod revision.
// Expiry follows memcached's rules (memcachedDeadline: 0 never, ≤ 30 days relative, above that an
// absolute Unix time, negative = already expired) and is kept in the entry like the RESP front's.
// Results are protocol-neutral; mc-server.ts words them for the text or binary protocol.
import { memcachedIncr } from "../codec/counters.js";
import { memcachedDeadline } from "../codec/memcached-expiry.js";
import type { McOperation } from "../codec/memcached-ops.js";
import { frontPrefix, storeKeyOf } from "../codec/store-format.js";
import type { FrontEntry } from "../codec/store-format.js";
import type { Keyspace } from "./keyspace.js";

/** A get hit. */
export interface McHit {
  readonly key: Uint8Array;
  readonly flags: number;
  readonly value: Uint8Array;
  readonly cas: bigint;
}

/** What an operation answered. */
export type McResult =
  | { kind: "hits"; hits: McHit[] }
  /** `cas`: the key's CAS unique after a store (0 when unknown or deleted); the binary protocol returns it. */
  | { kind: "status"; status: "stored" | "not_stored" | "exists" | "not_found" | "deleted" | "touched" | "ok"; cas?: bigint }
  | { kind: "counter"; value: bigint; cas: bigint }
  | { kind: "non_numeric" }
  | { kind: "flush_refused"; message: string };

const PREFIX = frontPrefix("memcached");

/** Settings of the memcached executor. */
export interface McExecutorOptions {
  /** The text protocol has no authentication: flush_all is refused unless the operator allows it. */
  readonly allowFlushAll: boolean;
}

type Store = Extract<McOperation, { op: "store" }>;

/** Executes memcached operations; one per node, shared by its connections. */
export class McExecutor {
  constructor(private readonly ks: Keyspace, private readonly o: McExecutorOptions) {}

  /** The operations that touch data; version/stats/verbosity/noop/quit are the connection's. */
  async run(op: Exclude<McOperation, { op: "version" | "stats" | "verbosity" | "noop" | "quit" }>): Promise<McResult> {
    switch (op.op) {
      case "get": return this.get(op.keys, op.touchExptimeS);
      case "store": return this.store(op);
      case "delete": return this.delete(op.key, op.casUnique);
      case "touch": return this.touch(op.key, op.exptimeS);
      case "incr":
      case "decr": return this.counter(op.op === "incr", op.key, op.delta, op.create);
      case "flush": return this.flush(op.delayS);
    }
  }

  /** Current item count and bytes as last counted (stats). */
  usage(): { keys: number; bytes: number } {
    return { keys: this.ks.options.usage.keys, bytes: this.ks.options.usage.bytes };
  }

  private async get(keys: readonly Uint8Array[], touchExptimeS: number | null): Promise<McResult> {
    const hits: McHit[] = [];
    if (touchExptimeS === null) {
      const loaded = await this.ks.loadMany(keys.map((k) => storeKeyOf(PREFIX, k)), false);
      loaded.forEach((l, i) => {
        if (l.entry !== null && l.entry.type === "string") hits.push({ key: keys[i] as Uint8Array, flags: l.entry.flags, value: l.entry.value, cas: BigInt(l.modRevision) });
      });
      return { kind: "hits", hits };
    }
    for (const key of keys) {
      const deadline = memcachedDeadline(touchExptimeS, this.ks.now());
      const r = await this.ks.updateWithRevision<FrontEntry | null>(storeKeyOf(PREFIX, key), false, ({ entry }) => {
        if (entry === null || entry.type !== "string") return { reply: null };
        if (deadline.kind === "expired") return { write: null, reply: entry };
        return { write: { ...entry, expireAtMs: deadline.kind === "at" ? deadline.atMs : 0 }, reply: entry };
      });
      if (r.reply !== null && r.reply.type === "string") hits.push({ key, flags: r.reply.flags, value: r.reply.value, cas: BigInt(r.modRevision) });
    }
    return { kind: "hits", hits };
  }

  private async store(op: Store): Promise<McResult> {
    const storeKey = storeKeyOf(PREFIX, op.key);
    const deadline = memcachedDeadline(op.exptimeS, this.ks.now());
    const expireAtMs = deadline.kind === "at" ? deadline.atMs : 0;
    // A plain set needs no read: one unguarded put (or delete, for an already expired item).
    if (op.mode === "set" && op.casUnique === null) {
      const entry: FrontEntry | null = deadline.kind === "expired" ? null : { type: "string", value: op.value, flags: op.flags, expireAtMs };
      const revision = await this.ks.commit([{ storeKey, entry }], entry !== null);
      return { kind: "status", status: "stored", cas: entry === null ? 0n : BigInt(revision) };
    }
    const r = await this.ks.updateWithRevision<"stored" | "not_stored" | "exists" | "not_found">(storeKey, true, ({ entry, modRevision }) => {
      const present = entry !== null && entry.type === "string" ? entry : null;
      if (op.casUnique !== null) {
        if (present === null) return { reply: "not_found" };
        if (BigInt(modRevision) !== op.casUnique) return { reply: "exists" };
      }
      switch (op.mode) {
        case "add":
          if (present !== null) return { reply: "not_stored" };
          break;
        case "replace":
          if (present === null) return { reply: "not_stored" };
          break;
        case "append":
        case "prepend": {
          if (present === null) return { reply: "not_stored" };
          const value = new Uint8Array(present.value.length + op.value.length);
          value.set(op.mode === "append" ? present.value : op.value, 0);
          value.set(op.mode === "append" ? op.value : present.value, op.mode === "append" ? present.value.length : op.value.length);
          // append/prepend keep the item's flags and expiry (memcached ignores theirs).
          return { write: { ...present, value }, reply: "stored" };
        }
        default:
          break;
      }
      return { write: deadline.kind === "expired" ? null : { type: "string", value: op.value, flags: op.flags, expireAtMs }, reply: "stored" };
    });
    return { kind: "status", status: r.reply, cas: BigInt(r.modRevision) };
  }

  private async delete(key: Uint8Array, casUnique: bigint | null): Promise<McResult> {
    const status = await this.ks.update<"deleted" | "not_found" | "exists">(storeKeyOf(PREFIX, key), false, ({ entry, modRevision }) => {
      if (entry === null) return { reply: "not_found" };
      if (casUnique !== null && BigInt(modRevision) !== casUnique) return { reply: "exists" };
      return { write: null, reply: "deleted" };
    });
    return { kind: "status", status };
  }

  private async touch(key: Uint8Array, exptimeS: number): Promise<McResult> {
    const deadline = memcachedDeadline(exptimeS, this.ks.now());
    const r = await this.ks.updateWithRevision<boolean>(storeKeyOf(PREFIX, key), false, ({ entry }) => {
      if (entry === null) return { reply: false };
      if (deadline.kind === "expired") return { write: null, reply: true };
      return { write: { ...entry, expireAtMs: deadline.kind === "at" ? deadline.atMs : 0 }, reply: true };
    });
    return { kind: "status", status: r.reply ? "touched" : "not_found", cas: BigInt(r.modRevision) };
  }

  private async counter(incr: boolean, key: Uint8Array, delta: bigint, create: { initial: bigint; exptimeS: number } | null): Promise<McResult> {
    const enc = new TextEncoder();
    type R = { kind: "value"; value: bigint } | { kind: "not_found" } | { kind: "non_numeric" };
    const r = await this.ks.updateWithRevision<R>(storeKeyOf(PREFIX, key), true, ({ entry }) => {
      if (entry === null || entry.type !== "string") {
        if (create === null) return { reply: { kind: "not_found" } };
        const deadline = memcachedDeadline(create.exptimeS, this.ks.now());
        return { write: { type: "string", value: enc.encode(create.initial.toString()), flags: 0, expireAtMs: deadline.kind === "at" ? deadline.atMs : 0 }, reply: { kind: "value", value: create.initial } };
      }
      const n = memcachedIncr(entry.value, delta, incr);
      if (!n.ok) return { reply: { kind: "non_numeric" } };
      return { write: { ...entry, value: n.text }, reply: { kind: "value", value: n.value } };
    });
    if (r.reply.kind === "not_found") return { kind: "status", status: "not_found" };
    if (r.reply.kind === "non_numeric") return { kind: "non_numeric" };
    return { kind: "counter", value: r.reply.value, cas: BigInt(r.modRevision) };
  }

  private async flush(delayS: number): Promise<McResult> {
    if (!this.o.allowFlushAll) return { kind: "flush_refused", message: "flush_all not allowed: set fronts.memcached.allowFlushAll in the node config (the text protocol has no authentication)" };
    if (delayS !== 0) return { kind: "flush_refused", message: "flush_all with a delay is not supported: send flush_all 0 at the time wanted" };
    // Bounded like FLUSHDB: writers racing the flush cannot keep it running forever.
    for (let batches = 0; batches < 100_000; batches++) {
      const { kvs } = await this.ks.page(PREFIX, null, 128, false);
      if (kvs.length === 0) break;
      await this.ks.commit(kvs.map((kv) => ({ storeKey: kv.key, entry: null })), false);
    }
    return { kind: "status", status: "ok" };
  }
}
