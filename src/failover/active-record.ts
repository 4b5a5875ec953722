// The active role of a service as a store record: key /phalanx/active/<service>, attached to the
// holder node's lease, so it vanishes when that lease runs out at the leader. Acquiring is a txn
// "the key has no version (it is absent) → put it on the holder's lease"; the holder's lease being
// gone makes the key absent, because the leader removes a lease's keys in the same entry that
// expires it. The fencing token is the store revision of the put that created the key: revisions
// only grow, and every acquisition is a new put, so a later holder always has a larger token.
// Pure: builds commands and reads results; the shell sends them through the store.
import type { Command, KeyValue, LeaseId, Revision, TxnResult } from "../kv/store.js";

/** Prefix of the active-role keys. */
export const ACTIVE_PREFIX = "/phalanx/active/";

/** Prefix of planned-switchover requests: `phalanx failover SERVICE --to NODE` writes one. */
export const SWITCHOVER_PREFIX = "/phalanx/switchover/";

/** Most bytes of a service name in an active key (the store's key limit leaves room for it). */
export const MAX_SERVICE_NAME_BYTES = 253;

/** The key of `service`'s active role. */
export function activeKey(service: string): string {
  return `${ACTIVE_PREFIX}${service}`;
}

/** The key of `service`'s switchover request. */
export function switchoverKey(service: string): string {
  return `${SWITCHOVER_PREFIX}${service}`;
}

/** A planned switchover: the next promotion of the service prefers node `to`. */
export interface SwitchoverRequest {
  readonly to: number;
  readonly requestedAtMs: number;
}

/** The request's stored bytes. */
export function encodeSwitchover(r: SwitchoverRequest): Uint8Array {
  return encoder.encode(JSON.stringify(r));
}

/** Reads a stored switchover request; null when absent or not one. */
export function decodeSwitchover(kv: KeyValue | undefined): SwitchoverRequest | null {
  if (kv === undefined || kv.version === 0) return null;
  try {
    const r = JSON.parse(decoder.decode(kv.value)) as Record<string, unknown>;
    return typeof r.to === "number" && typeof r.requestedAtMs === "number" ? { to: r.to, requestedAtMs: r.requestedAtMs } : null;
  } catch {
    return null;
  }
}

/** What the record says: who holds the role and on which lease. */
export interface ActiveRecord {
  readonly service: string;
  /** The node id of the holder. */
  readonly node: number;
  /** The holder node's lease; the key is attached to it. */
  readonly leaseId: LeaseId;
  /** When the leader chose this holder, on the leader's clock (for `phalanx service`). */
  readonly promotedAtMs: number;
}

/** The active role as read from the store: the record and its fencing token. */
export interface ActiveHolder {
  readonly record: ActiveRecord;
  /** The store revision that created the key: the fencing token of this holder. */
  readonly token: Revision;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The record's stored bytes. */
export function encodeActiveRecord(r: ActiveRecord): Uint8Array {
  return encoder.encode(JSON.stringify(r));
}

/** Reads a stored active key; null when it is not an active record (never written by Phalanx). */
export function decodeActiveHolder(kv: KeyValue): ActiveHolder | null {
  if (kv.version === 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(kv.value));
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const r = parsed as Record<string, unknown>;
  if (typeof r.service !== "string" || typeof r.node !== "number" || typeof r.leaseId !== "number" || typeof r.promotedAtMs !== "number") return null;
  return { record: { service: r.service, node: r.node, leaseId: r.leaseId, promotedAtMs: r.promotedAtMs }, token: tokenOf(kv) };
}

/** The fencing token of a stored active key: the revision of the put that created it. */
export function tokenOf(kv: KeyValue): Revision {
  return kv.createRevision;
}

/** The txn that gives `record.node` the active role if nobody holds it; the failure branch reads the holder. */
export function acquireCommand(record: ActiveRecord): Command {
  const key = activeKey(record.service);
  return {
    type: "txn",
    compares: [{ key, target: "version", op: "=", value: 0 }],
    success: [{ type: "put", key, value: encodeActiveRecord(record), lease: record.leaseId }],
    failure: [{ type: "range", key }],
  };
}

/** The answer to an acquire: the new token, or who holds the role. */
export type AcquireOutcome =
  | { readonly ok: true; readonly token: Revision }
  | { readonly ok: false; readonly holder: ActiveHolder | null };

/** Reads the result of acquireCommand(). */
export function acquireOutcome(result: TxnResult): AcquireOutcome {
  if (result.succeeded) return { ok: true, token: result.revision };
  const read = result.responses[0];
  const kv = read !== undefined && read.type === "range" ? read.kvs[0] : undefined;
  return { ok: false, holder: kv === undefined ? null : decodeActiveHolder(kv) };
}

/**
 * The txn that gives the role up (planned switchover, service removed): delete the key only if it
 * is still this holder's generation (createRevision = token), so a late release never removes a
 * successor's record. Call it only once every instance has stopped acting.
 */
export function releaseCommand(service: string, token: Revision): Command {
  const key = activeKey(service);
  return { type: "txn", compares: [{ key, target: "createRevision", op: "=", value: token }], success: [{ type: "delete", key }], failure: [] };
}
