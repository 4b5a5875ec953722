// The commands the store applies (they travel as Raft entry data) and their results. Every result
// is a discriminated union: `ok: true` with a `type`, or a KvError with a `code`.
import type { KeyRange, KeyValue, LeaseId, Revision } from "./types.js";

/** Read keys: a single key, a [key, rangeEnd) range, or a prefix through prefixRange(). */
export interface RangeRequest extends KeyRange {
  /** Most kvs returned; 0 or undefined = no limit (count still covers every match). */
  readonly limit?: number | undefined;
  /** Read at this revision; 0 or undefined = the latest applied revision. */
  readonly revision?: Revision | undefined;
  /** Return kvs with empty values. */
  readonly keysOnly?: boolean | undefined;
  /** Return only the count. */
  readonly countOnly?: boolean | undefined;
}

/** Write one key. */
export interface PutRequest {
  readonly key: string;
  readonly value: Uint8Array;
  /** Attach to this lease (it must exist); NO_LEASE or undefined = not attached. */
  readonly lease?: LeaseId | undefined;
  /** Return the version replaced. */
  readonly prevKv?: boolean | undefined;
}

/** Delete one key or a range of keys. */
export interface DeleteRequest extends KeyRange {
  /** Return the versions deleted. */
  readonly prevKv?: boolean | undefined;
}

/** Comparison operator of a txn compare. */
export type CompareOp = "=" | "!=" | "<" | ">";
/** A txn guard on one key. A missing key has version, createRevision, modRevision and lease 0, and fails every value compare. */
export type Compare =
  | { readonly key: string; readonly target: "value"; readonly op: CompareOp; readonly value: Uint8Array }
  | {
      readonly key: string;
      readonly target: "version" | "createRevision" | "modRevision" | "lease";
      readonly op: CompareOp;
      readonly value: number;
    };

/** One operation of a txn branch. */
export type TxnOp =
  | ({ readonly type: "range" } & RangeRequest)
  | ({ readonly type: "put" } & PutRequest)
  | ({ readonly type: "delete" } & DeleteRequest);

/** If every compare holds, run `success`, else `failure`; all writes share one revision. */
export interface TxnRequest {
  readonly compares: readonly Compare[];
  readonly success: readonly TxnOp[];
  readonly failure: readonly TxnOp[];
}

/** A command of the replicated log. */
export type Command =
  | ({ readonly type: "put" } & PutRequest)
  | ({ readonly type: "delete" } & DeleteRequest)
  | ({ readonly type: "txn" } & TxnRequest)
  /** id 0 = the store picks the next free id (deterministically). */
  | { readonly type: "leaseGrant"; readonly id: LeaseId; readonly ttlMs: number }
  | { readonly type: "leaseRevoke"; readonly id: LeaseId }
  /** Committed by the leader when its lease clock says these leases ran out; unknown ids are skipped. */
  | { readonly type: "leaseExpire"; readonly ids: readonly LeaseId[] }
  /** Drop history before `revision`. */
  | { readonly type: "compact"; readonly revision: Revision };
/** The kind of a command. */
export type CommandType = Command["type"];

/** Why a request failed (an expected outcome, not a bug). */
export type KvErrorCode =
  | "empty_key"
  | "invalid_key"
  | "key_too_large"
  | "value_too_large"
  | "invalid_value"
  | "invalid_range"
  | "invalid_limit"
  | "invalid_revision"
  | "too_many_ops"
  | "duplicate_key"
  | "invalid_lease_id"
  | "invalid_ttl"
  | "lease_not_found"
  | "lease_exists"
  | "too_many_leases"
  | "compacted"
  | "future_revision"
  | "too_many_watchers"
  | "no_leader";

/** An expected failure of a request. */
export interface KvError {
  readonly ok: false;
  readonly code: KvErrorCode;
  readonly message: string;
  /** For "compacted": the first revision still readable. */
  readonly compactRevision?: Revision;
  /** For "future_revision": the latest revision. */
  readonly revision?: Revision;
}

/** Makes a KvError. */
export function kvError(code: KvErrorCode, message: string, extra?: { compactRevision?: Revision; revision?: Revision }): KvError {
  return { ok: false, code, message, ...extra };
}

/** Answer to a range. `revision` is the store's latest revision when the read ran. */
export interface RangeResult {
  readonly ok: true;
  readonly type: "range";
  readonly revision: Revision;
  readonly kvs: readonly KeyValue[];
  /** Every match, regardless of limit. */
  readonly count: number;
  /** More matches than kvs returned. */
  readonly more: boolean;
}
/** Answer to a put. */
export interface PutResult {
  readonly ok: true;
  readonly type: "put";
  readonly revision: Revision;
  readonly prevKv?: KeyValue | undefined;
}
/** Answer to a delete. */
export interface DeleteResult {
  readonly ok: true;
  readonly type: "delete";
  readonly revision: Revision;
  readonly deleted: number;
  readonly prevKvs?: readonly KeyValue[] | undefined;
}
/** Answer to one op of a txn. */
export type TxnOpResult = RangeResult | PutResult | DeleteResult;
/** Answer to a txn: which branch ran and the answer of each of its ops. */
export interface TxnResult {
  readonly ok: true;
  readonly type: "txn";
  readonly revision: Revision;
  readonly succeeded: boolean;
  readonly responses: readonly TxnOpResult[];
}
/** Answer to a lease grant. */
export interface LeaseGrantResult {
  readonly ok: true;
  readonly type: "leaseGrant";
  readonly revision: Revision;
  readonly id: LeaseId;
  readonly ttlMs: number;
}
/** Answer to a lease revoke. */
export interface LeaseRevokeResult {
  readonly ok: true;
  readonly type: "leaseRevoke";
  readonly revision: Revision;
  readonly deleted: number;
}
/** Answer to a lease expiry. */
export interface LeaseExpireResult {
  readonly ok: true;
  readonly type: "leaseExpire";
  readonly revision: Revision;
  /** The ids that were alive and are now gone (the others were already revoked or expired). */
  readonly expired: readonly LeaseId[];
  readonly deleted: number;
}
/** Answer to a compaction. */
export interface CompactResult {
  readonly ok: true;
  readonly type: "compact";
  readonly revision: Revision;
  readonly compactRevision: Revision;
}
/** Answer to an entry without a command (the leader's no-op of its term). */
export interface NoopResult {
  readonly ok: true;
  readonly type: "noop";
  readonly revision: Revision;
}
/** What applying a command answers; `revision` is the store revision after it. */
export type CommandResult =
  | PutResult
  | DeleteResult
  | TxnResult
  | LeaseGrantResult
  | LeaseRevokeResult
  | LeaseExpireResult
  | CompactResult
  | NoopResult
  | KvError;
