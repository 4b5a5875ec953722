// Front keys on the store: load an entry (expired = missing, on every node, with the clock-skew
// margin of store-format.ts), write entries in one guarded txn, and read-modify-write with a
// compare on the key's mod revision, retried on conflict. Shared by the RESP and memcached fronts.
import type { Compare, KeyValue, TxnOp } from "../../kv/store.js";
import { MAX_TXN_OPS, MAX_VALUE_BYTES, prefixEnd } from "../../kv/store.js";
import { ENTRY_PAYLOAD_BYTES_MAX, decodeEntry, encodeEntry, isExpired } from "../codec/store-format.js";
import type { FrontEntry } from "../codec/store-format.js";
import { FrontStoreError } from "./front-store.js";
import type { FrontStore } from "./front-store.js";
import type { FrontUsage } from "./usage.js";

/** Read-modify-write attempts before answering "retry" (another client keeps changing the key). */
export const UPDATE_ATTEMPTS_MAX = 16;

/** A key as read: `entry` is null when missing or expired; `modRevision` is the stored version's (0: none). */
export interface Loaded {
  readonly storeKey: string;
  readonly entry: FrontEntry | null;
  readonly modRevision: number;
}

/** One write of a guarded batch: `entry` null deletes. `seenModRevision` undefined: unguarded. */
export interface EntryWrite {
  readonly storeKey: string;
  readonly entry: FrontEntry | null;
  readonly seenModRevision?: number;
}

/** What a read-modify-write step decides: `write` undefined leaves the key alone. */
export interface UpdateStep<T> {
  readonly write?: FrontEntry | null;
  readonly reply: T;
}

/** Options of a keyspace. */
export interface KeyspaceOptions {
  /** Wall-clock Unix ms (expiry times are absolute Unix ms). */
  readonly nowMs: () => number;
  /** Keys this close to their deadline already count as gone (clocks of nodes may differ this much). */
  readonly clockSkewMarginMs: number;
  readonly usage: FrontUsage;
}

/** Entries of the fronts on the store. */
export class Keyspace {
  constructor(readonly store: FrontStore, readonly options: KeyspaceOptions) {}

  now(): number {
    return this.options.nowMs();
  }

  /** The entry of a stored pair, or null when expired; a value the fronts did not write is an error, never a miss. */
  entryOf(kv: KeyValue, nowMs: number): FrontEntry | null {
    const entry = decodeEntry(kv.value);
    if (entry === null) throw new FrontStoreError("invalid", `ERR the value at ${kv.key} was not written by a Phalanx front (unknown format): delete it or read it through the KV API`);
    return isExpired(entry, nowMs, this.options.clockSkewMarginMs) ? null : entry;
  }

  async load(storeKey: string, followerRead: boolean): Promise<Loaded> {
    const { kvs } = await this.store.range({ key: storeKey }, followerRead);
    const kv = kvs[0];
    if (kv === undefined) return { storeKey, entry: null, modRevision: 0 };
    return { storeKey, entry: this.entryOf(kv, this.now()), modRevision: kv.modRevision };
  }

  /** Loads several keys (one ReadIndex round each; sessions rarely MGET many). */
  loadMany(storeKeys: readonly string[], followerRead: boolean): Promise<Loaded[]> {
    return Promise.all(storeKeys.map((k) => this.load(k, followerRead)));
  }

  /** Pairs under a prefix in key order, starting after `afterKey`, at most `limit` (a page of a scan). */
  async page(prefix: string, afterKey: string | null, limit: number, followerRead: boolean): Promise<{ kvs: readonly KeyValue[]; more: boolean }> {
    const key = afterKey === null ? prefix : `${afterKey}\u0000`;
    return this.store.range({ key, rangeEnd: prefixEnd(prefix), limit }, followerRead);
  }

  /**
   * Commits writes in one txn; every guarded write compares its mod revision. Resolves with the
   * revision written (the new mod revision of every key written), or 0 when a guard failed (nothing
   * written). `grows`: refuse with OOM when the fronts' bounds are reached.
   */
  async commit(writes: readonly EntryWrite[], grows: boolean): Promise<number> {
    if (writes.length > MAX_TXN_OPS) throw new FrontStoreError("invalid", `ERR one command may change at most ${MAX_TXN_OPS} keys: split it`);
    const compares: Compare[] = [];
    const ops: TxnOp[] = [];
    let bytes = 0;
    for (const w of writes) {
      if (w.seenModRevision !== undefined) compares.push({ key: w.storeKey, target: "modRevision", op: "=", value: w.seenModRevision });
      if (w.entry === null) {
        ops.push({ type: "delete", key: w.storeKey });
        continue;
      }
      const value = encodeEntry(w.entry);
      if (value.length > MAX_VALUE_BYTES) throw new FrontStoreError("invalid", `ERR string exceeds maximum allowed size (${ENTRY_PAYLOAD_BYTES_MAX} bytes per value)`);
      bytes += value.length + w.storeKey.length;
      ops.push({ type: "put", key: w.storeKey, value });
    }
    if (grows) this.options.usage.checkRoom(writes.filter((w) => w.entry !== null).length, bytes);
    const r = await this.store.txn({ compares, success: ops, failure: [] });
    return r.succeeded ? r.revision : 0;
  }

  /** Read-modify-write of one key, guarded by its mod revision and retried when another write got in between. */
  async update<T>(storeKey: string, grows: boolean, step: (cur: Loaded) => UpdateStep<T>): Promise<T> {
    return (await this.updateWithRevision(storeKey, grows, step)).reply;
  }

  /** update(), also giving the key's mod revision afterwards (memcached's CAS unique; 0: missing). */
  async updateWithRevision<T>(storeKey: string, grows: boolean, step: (cur: Loaded) => UpdateStep<T>): Promise<{ reply: T; modRevision: number }> {
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS_MAX; attempt++) {
      const cur = await this.load(storeKey, false);
      const decided = step(cur);
      if (decided.write === undefined) return { reply: decided.reply, modRevision: cur.entry === null ? 0 : cur.modRevision };
      // Deleting an already missing key is a no-op; skip the round trip.
      if (decided.write === null && cur.modRevision === 0) return { reply: decided.reply, modRevision: 0 };
      const revision = await this.commit([{ storeKey, entry: decided.write, seenModRevision: cur.modRevision }], grows && decided.write !== null);
      if (revision !== 0) return { reply: decided.reply, modRevision: decided.write === null ? 0 : revision };
    }
    throw new FrontStoreError("retry", `the key changed ${UPDATE_ATTEMPTS_MAX} times while this command tried to update it; nothing was applied, retry`);
  }
}
