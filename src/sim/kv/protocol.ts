// What simulated KV clients and nodes say to each other: the store's client API in miniature.
import type { NodeId } from "../../raft/raft.js";
import type { Command, CommandResult, KeyRange, KvError, LeaseId, RangeResult, Revision, WatchBatch } from "../../kv/store.js";

/** A client request. Commands go through the log; ranges and keep-alives through ReadIndex. */
export type KvOp =
  | { readonly kind: "command"; readonly cmd: Command }
  | { readonly kind: "range"; readonly key: string }
  | { readonly kind: "keepAlive"; readonly id: LeaseId }
  | { readonly kind: "watch"; readonly range: KeyRange; readonly startRevision: Revision };

/** A client's request to one node; `attempt` tells a retry of the same operation apart. */
export interface KvRequest {
  readonly clientId: number;
  readonly opId: number;
  readonly attempt: number;
  readonly op: KvOp;
}

/** The answer to an operation. */
export type KvOpResult =
  | CommandResult
  | RangeResult
  | KvError
  | { readonly ok: true; readonly type: "keepAlive"; readonly ttlMs: number }
  | { readonly ok: true; readonly type: "watch"; readonly watchId: number };

/**
 * A node's answer: a result, a refusal that proves the operation did not happen (retried), or
 * "unknown": a write that may or may not apply (the client gives up on it, as on a timeout).
 */
export type KvReply =
  | { readonly kind: "ok"; readonly clientId: number; readonly opId: number; readonly attempt: number; readonly from: NodeId; readonly result: KvOpResult }
  | { readonly kind: "refused"; readonly clientId: number; readonly opId: number; readonly attempt: number; readonly from: NodeId; readonly code: string; readonly leaderHint: NodeId }
  | { readonly kind: "unknown"; readonly clientId: number; readonly opId: number; readonly attempt: number; readonly from: NodeId; readonly code: string };

/** A batch of a watch stream, pushed by a node to the client that opened it. */
export interface WatchDelivery {
  readonly clientId: number;
  /** The watch request that opened the stream (a client follows one stream at a time). */
  readonly opId: number;
  readonly node: NodeId;
  readonly incarnation: number;
  readonly batch: WatchBatch;
}
