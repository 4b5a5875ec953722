// The one place where outcomes become HTTP statuses and the gRPC codes etcd's JSON gateway puts in
// error bodies (`code`), so that tools written for etcd read our errors the same way. The API
// (http-api.ts, watch-stream.ts) uses only the names below, never a number; the CLI maps statuses
// to exit codes.
import type { KvErrorCode } from "../kv/store.js";
import type { ServerErrorCode } from "./errors.js";

/** HTTP statuses the client API answers with. */
export const HTTP = {
  ok: 200,
  badRequest: 400,
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  conflict: 409,
  payloadTooLarge: 413,
  tooManyRequests: 429,
  internalError: 500,
  unavailable: 503,
  gatewayTimeout: 504,
} as const;

/** gRPC status codes (google.golang.org/grpc/codes), as etcd's gateway reports them. */
export const GRPC = {
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  alreadyExists: 6,
  permissionDenied: 7,
  resourceExhausted: 8,
  failedPrecondition: 9,
  outOfRange: 11,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
} as const;

/** How one kind of failure is reported: HTTP status, gRPC code, and the `phalanx_code` clients switch on. */
export interface ErrorStatus {
  readonly http: number;
  readonly grpc: number;
}

/** A request body the gateway cannot parse (bad JSON, wrong shape, too large). */
export const BAD_REQUEST: ErrorStatus = { http: HTTP.badRequest, grpc: GRPC.invalidArgument };
/** A request body over the API's size limit. */
export const PAYLOAD_TOO_LARGE: ErrorStatus = { http: HTTP.payloadTooLarge, grpc: GRPC.invalidArgument };
/** A caller that is authenticated but may not do this (internal key, admin route with the client token). */
export const PERMISSION_DENIED: ErrorStatus = { http: HTTP.forbidden, grpc: GRPC.permissionDenied };
/** A bug or an unexpected failure inside the node (details only in the node's log). */
export const INTERNAL_ERROR: ErrorStatus = { http: HTTP.internalError, grpc: GRPC.internal };
/** A keep-alive of a lease that no longer exists (etcd: NotFound). */
export const LEASE_NOT_FOUND: ErrorStatus = { http: HTTP.notFound, grpc: GRPC.notFound };

const SERVER: Record<ServerErrorCode, ErrorStatus> = {
  not_leader: { http: HTTP.unavailable, grpc: GRPC.unavailable },
  no_leader: { http: HTTP.unavailable, grpc: GRPC.unavailable },
  unknown_outcome: { http: HTTP.gatewayTimeout, grpc: GRPC.deadlineExceeded },
  proposal_dropped: { http: HTTP.unavailable, grpc: GRPC.unavailable },
  overloaded: { http: HTTP.tooManyRequests, grpc: GRPC.resourceExhausted },
  read_timeout: { http: HTTP.unavailable, grpc: GRPC.unavailable },
  storage_failed: { http: HTTP.internalError, grpc: GRPC.internal },
  stopped: { http: HTTP.unavailable, grpc: GRPC.unavailable },
  unauthenticated: { http: HTTP.unauthorized, grpc: GRPC.unauthenticated },
  bad_request: BAD_REQUEST,
  not_found: { http: HTTP.notFound, grpc: GRPC.notFound },
  config_change_pending: { http: HTTP.conflict, grpc: GRPC.failedPrecondition },
};

/** Status of a server error code. */
export function statusOfServerError(code: ServerErrorCode): ErrorStatus {
  return SERVER[code];
}

/**
 * Status of a KV error code, as etcd reports it: missing lease 404/NotFound, compacted or future
 * revision 400/OutOfRange, bounds 429/ResourceExhausted, existing lease 409/FailedPrecondition,
 * everything else (invalid keys, ranges, values) 400/InvalidArgument.
 */
export function statusOfKvError(code: KvErrorCode): ErrorStatus {
  switch (code) {
    case "lease_not_found":
      return LEASE_NOT_FOUND;
    case "too_many_leases":
    case "too_many_watchers":
      return { http: HTTP.tooManyRequests, grpc: GRPC.resourceExhausted };
    case "lease_exists":
      return { http: HTTP.conflict, grpc: GRPC.failedPrecondition };
    case "no_leader":
      return { http: HTTP.unavailable, grpc: GRPC.unavailable };
    case "compacted":
    case "future_revision":
      return { http: HTTP.badRequest, grpc: GRPC.outOfRange };
    default:
      return BAD_REQUEST;
  }
}

/** The body of an error answer in etcd's gateway shape, plus Phalanx's own code. */
export function errorBody(status: ErrorStatus, phalanxCode: string, message: string, extra: Readonly<Record<string, string | undefined>> = {}): Record<string, unknown> {
  return { error: message, message, code: status.grpc, phalanx_code: phalanxCode, ...extra };
}
