// Errors of the supervisor's shell. Problems of one instance (a user that does not exist, a port
// clash, a command that cannot start) are not thrown: they show in that instance's status as
// `failed` or `backoff` with a message. Only a call that cannot be carried out at all throws.

export type SupervisorErrorCode =
  /** `apply` got a desired set it cannot act on (duplicate ids, too many instances). */
  | "invalid_desired_set"
  /** `apply` after `stopAll`. */
  | "closed"
  /** `user` cannot be switched to (not root, no such user). */
  | "run_as";

export class SupervisorError extends Error {
  override readonly name = "SupervisorError";
  constructor(readonly code: SupervisorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}
