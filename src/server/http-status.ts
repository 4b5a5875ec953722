// The one place where errors become HTTP statuses (the CLI maps statuses to exit codes).
import type { KvErrorCode } from "../kv/store.js";
import type { ServerErrorCode } from "./errors.js";

const SERVER: Record<ServerErrorCode, number> = {
  not_leader: 503,
  no_leader: 503,
  unknown_outcome: 504,
  proposal_dropped: 503,
  overloaded: 429,
  read_timeout: 503,
  storage_failed: 500,
  stopped: 503,
  unauthenticated: 401,
  bad_request: 400,
  not_found: 404,
  config_change_pending: 409,
};

/** HTTP status of a server error code. */
export function statusOfServerError(code: ServerErrorCode): number {
  return SERVER[code];
}

/** HTTP status of a KV error code: missing things 404, compacted/future revisions 400 (etcd: OutOfRange), the rest 400. */
export function statusOfKvError(code: KvErrorCode): number {
  if (code === "lease_not_found") return 404;
  if (code === "too_many_leases" || code === "too_many_watchers") return 429;
  if (code === "lease_exists") return 409;
  return 400;
}
