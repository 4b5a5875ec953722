// Errors of a node's runtime that reach clients. One class per condition; the HTTP layer maps
// `code` to a status (http-status.ts), the CLI maps it to an exit code. The codes themselves and
// which are retryable live in ../node/outcome.ts, shared with the SDK.
import type { NodeId } from "../raft/types.js";
import type { WireCode } from "../node/outcome.js";
import { isRetryable as isRetryableCode } from "../node/outcome.js";

/** Codes a client can act on. "unknown_outcome": the write may or may not have happened. */
export type ServerErrorCode = WireCode;

/** An expected failure of a client request, with what the client should do next in the message. */
export class ServerError extends Error {
  override readonly name = "ServerError";
  constructor(
    readonly code: ServerErrorCode,
    message: string,
    readonly details: { leaderId?: NodeId; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

/** True when a client may safely send the same request again (it certainly did not take effect). */
export function isRetryable(code: ServerErrorCode): boolean {
  return isRetryableCode(code);
}
