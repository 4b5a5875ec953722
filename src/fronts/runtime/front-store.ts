// The store as the fronts see it: reads of the local replica (linearizable through ReadIndex, or
// serializable for a connection that opted into follower reads) and guarded writes (one txn) that
// are proposed here on the leader and relayed to the leader from a follower — a follower forwards,
// it never refuses. Failures become one FrontStoreError with a kind the fronts map to their
// protocol: "retry" (certainly not applied: -TRYAGAIN / SERVER_ERROR temporary failure) or
// "unknown" (the write may have been applied).
import type { KeyValue, RangeRequest, TxnRequest, TxnResult } from "../../kv/store.js";
import { NO_NODE } from "../../raft/raft.js";
import type { NodeId } from "../../raft/raft.js";
import { isRetryable } from "../../node/outcome.js";
import { ServerError } from "../../server/errors.js";
import type { Replica } from "../../server/replica.js";

/** Why a store call failed, as a front reports it. */
export type FrontFailureKind = "retry" | "unknown" | "invalid" | "oom";

/**
 * Told of each data command a front ran: the front, the command (a fixed set per protocol) and its
 * outcome ("ok", a memcached result kind or status, or a FrontFailureKind; "bug" for anything else).
 */
export type FrontCommandObserver = (front: "redis" | "memcached", command: string, outcome: string) => void;

/** A failed store call; `message` says what happened and what the client should do. */
export class FrontStoreError extends Error {
  override readonly name = "FrontStoreError";
  constructor(readonly kind: FrontFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Sends a txn to the leader (a follower's writes); rejects with a ServerError as the leader answered. */
export type LeaderTxnRelay = (leader: NodeId, txn: TxnRequest) => Promise<TxnResult>;

/** Reads and writes of the fronts. */
export interface FrontStore {
  /** Keys in [key, rangeEnd) (or the one key), up to `limit` (0: all). */
  range(req: RangeRequest, followerRead: boolean): Promise<{ kvs: readonly KeyValue[]; more: boolean }>;
  /** Runs a txn through Raft (forwarded when this node is a follower); resolves once committed. */
  txn(txn: TxnRequest): Promise<TxnResult>;
  /** This node's role and the leader it knows, for INFO. */
  view(): { role: string; leader: NodeId; term: number };
  /** Whether this node currently leads (the sweeper runs only there). */
  isLeader(): boolean;
  /** The local replica's live version of a key (no ReadIndex round): what the expiry index tracks. */
  localGet(key: string): KeyValue | undefined;
  /** Up to `limit` live keys of the local replica in [from, end), in order; costs O(log n + limit). */
  localPage(from: string, end: string, limit: number): readonly KeyValue[];
  /** Told the keys each applied batch changed, or null when a snapshot replaced everything. Returns the unsubscribe. */
  onLocalChanges(listener: (changedKeys: readonly string[] | null) => void): () => void;
}

/** The FrontStore of a running replica. */
export class ReplicaFrontStore implements FrontStore {
  constructor(private readonly replica: Replica, private readonly relay: LeaderTxnRelay | null) {}

  async range(req: RangeRequest, followerRead: boolean): Promise<{ kvs: readonly KeyValue[]; more: boolean }> {
    // No leader known: a ReadIndex round could only time out; answer "retry" at once.
    if (!followerRead && this.replica.leaderId === NO_NODE) throw new FrontStoreError("retry", "no leader is known (an election is under way); the command was not applied, retry shortly");
    let r;
    try {
      r = await this.replica.range(req, followerRead ? "serializable" : "linearizable");
    } catch (err) {
      // A read has no effect: whatever stopped it, the client may retry.
      throw asFrontError(err, true);
    }
    if (!r.ok) throw new FrontStoreError("invalid", `ERR ${r.message}`);
    return { kvs: r.kvs, more: r.more };
  }

  async txn(txn: TxnRequest): Promise<TxnResult> {
    const leader = this.replica.leaderId;
    if (this.replica.status().role !== "leader" && leader !== NO_NODE && leader !== this.replica.id && this.relay !== null) return this.relayed(leader, txn);
    let result;
    try {
      result = await this.replica.propose({ type: "txn", ...txn });
    } catch (err) {
      if (err instanceof ServerError && err.code === "not_leader" && err.details.leaderId !== undefined && err.details.leaderId !== NO_NODE && this.relay !== null) {
        return this.relayed(err.details.leaderId, txn);
      }
      throw asFrontError(err, false);
    }
    if (!result.ok) throw new FrontStoreError("invalid", `ERR ${result.message}`);
    if (result.type !== "txn") throw new Error(`A txn proposal answered ${result.type}: the store broke its contract`);
    return result;
  }

  private async relayed(leader: NodeId, txn: TxnRequest): Promise<TxnResult> {
    try {
      return await (this.relay as LeaderTxnRelay)(leader, txn);
    } catch (err) {
      throw asFrontError(err, false);
    }
  }

  view(): { role: string; leader: NodeId; term: number } {
    return { role: this.replica.status().role, leader: this.replica.leaderId, term: this.replica.term };
  }

  isLeader(): boolean {
    return this.replica.status().role === "leader";
  }

  localGet(key: string): KeyValue | undefined {
    return this.replica.kv.get(key);
  }

  localPage(from: string, end: string, limit: number): readonly KeyValue[] {
    return this.replica.kv.page(from, end, limit);
  }

  onLocalChanges(listener: (changedKeys: readonly string[] | null) => void): () => void {
    return this.replica.onAppliedKeys(listener);
  }
}

/** Maps a replica or relay failure to what the client may do: retry only when nothing was applied. */
export function asFrontError(err: unknown, isRead: boolean): FrontStoreError {
  if (err instanceof FrontStoreError) return err;
  if (err instanceof ServerError) {
    if (isRead || isRetryable(err.code)) {
      const what = err.code === "no_leader" || err.code === "not_leader" ? "no leader is known (an election is under way)" : err.message;
      return new FrontStoreError("retry", `${what}; the command was not applied, retry shortly`, { cause: err });
    }
    if (err.code === "bad_request") return new FrontStoreError("invalid", `ERR ${err.message}`, { cause: err });
    return new FrontStoreError("unknown", `the outcome of the write is unknown (${err.code}: ${err.message}); read the key before retrying a non-idempotent command`, { cause: err });
  }
  return new FrontStoreError(isRead ? "retry" : "unknown", isRead ? `the read failed (${(err as Error).message}); retry` : `the outcome of the write is unknown (${(err as Error).message}); read the key before retrying a non-idempotent command`, { cause: err });
}
