// Errors the SDK raises: one class, with the server's code when there was an answer.

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

/** Codes after which the same request may be sent again without risk of applying it twice. */
const RETRYABLE = new Set(["not_leader", "no_leader", "proposal_dropped", "overloaded", "read_timeout", "stopped", "config_change_pending", "unavailable_before_send"]);

/** True when the failed request certainly did not take effect. */
export function isSafeToRetry(err: PhalanxError): boolean {
  return RETRYABLE.has(err.code);
}
