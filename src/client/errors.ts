// Errors the SDK raises: one class, with the server's code when there was an answer. Which server
// codes are safe to retry is decided in one place shared with the server (../node/outcome.ts).
import { isRetryable } from "../node/outcome.js";

/** A request failed: `code` is the server's phalanx_code, or "unavailable" when no node answered. */
export class PhalanxError extends Error {
  override readonly name = "PhalanxError";
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The SDK's own code for a connection that was refused before the request was sent. */
const NEVER_SENT = "unavailable_before_send";

/** True when the failed request certainly did not take effect: never sent, or a retryable server refusal. */
export function isSafeToRetry(err: PhalanxError): boolean {
  return err.code === NEVER_SENT || isRetryable(err.code);
}
