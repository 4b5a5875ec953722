// The wire error codes a node answers with, and which of them a client may retry. Written once,
// here, and imported by the server (errors.ts, http-status.ts) and the SDK (client/errors.ts), so
// the side that answers and the side that retries can never disagree.
//
// The rule: a request may be sent again only when it certainly did not take effect. A proposal that
// may have reached the log answers "unknown_outcome" whatever ended the wait (the node stopped, its
// storage failed, the deadline passed, a relay broke): the entry can still commit under the next
// leader. Only refusals that happened before the log are retryable, plus "proposal_dropped": the
// entry applied at the proposal's index has another term, so a newer leader replaced it and it can
// never apply.
import type { NodeId } from "../raft/types.js";

/** Every code a node's client API answers with. */
export type WireCode =
  | "not_leader"
  | "no_leader"
  | "unknown_outcome"
  | "proposal_dropped"
  | "overloaded"
  | "read_timeout"
  | "storage_failed"
  | "stopped"
  | "unauthenticated"
  | "bad_request"
  | "not_found"
  | "config_change_pending";

/** Codes of answers that prove the request had no effect (reads have none, so a read timeout is one). */
const RETRYABLE: ReadonlySet<string> = new Set<WireCode>([
  "not_leader", "no_leader", "proposal_dropped", "overloaded", "read_timeout", "config_change_pending",
]);

/** True when a client may send the same request again: it certainly did not take effect. */
export function isRetryable(code: string): boolean {
  return RETRYABLE.has(code);
}

/** An expected refusal or failure of a request, as the core returns it (the shell makes it an Error). */
export interface Refusal {
  readonly ok: false;
  readonly code: WireCode;
  readonly message: string;
  readonly leaderId?: NodeId;
}

/** Builds a refusal. */
export function refusal(code: WireCode, message: string, leaderId?: NodeId): Refusal {
  return leaderId === undefined ? { ok: false, code, message } : { ok: false, code, message, leaderId };
}
