// The vocabulary of the KV store (etcd v3 model): revisions, leases, key-values, ranges and watch
// events. Every module that talks to the store (server, client, simulator) codes against these.

/** A store revision: a counter bumped once per applied command that changes at least one key. */
export type Revision = number;
/** A lease id. Positive safe integer; NO_LEASE (0) means "not attached to a lease". */
export type LeaseId = number;
/** "Not attached to a lease". */
export const NO_LEASE: LeaseId = 0;

/**
 * One version of one key. A deletion is recorded as a tombstone version (version 0, empty value).
 * Values are shared with the store: callers must not mutate them.
 */
export interface KeyValue {
  readonly key: string;
  readonly value: Uint8Array;
  /** Revision of the put that created this generation of the key (0 for a tombstone). */
  readonly createRevision: Revision;
  /** Revision of the change that produced this version. */
  readonly modRevision: Revision;
  /** 1 at creation, +1 per put; 0 for a tombstone (deleted key). */
  readonly version: number;
  readonly lease: LeaseId;
}

/**
 * A set of keys, as in etcd: `rangeEnd` undefined means the single key `key`; otherwise every key k
 * with key <= k < rangeEnd; `rangeEnd` "\0" means every key >= key. Use prefixRange() for prefixes.
 * Keys compare as JavaScript strings (UTF-16 code units).
 */
export interface KeyRange {
  readonly key: string;
  readonly rangeEnd?: string | undefined;
}

/** A change to a key as a watcher sees it. Several events of one txn share a revision. */
export interface WatchEvent {
  readonly type: "put" | "delete";
  /** The new version (for a delete: a tombstone with the deleting revision as modRevision). */
  readonly kv: KeyValue;
  /** The version before the change, if there was one (always present in store events; stripped for watchers that did not ask). */
  readonly prevKv?: KeyValue | undefined;
}
