// Broken invariants inside the Raft core throw RaftInvariantError: consensus must stop rather than
// continue from a state that could lose or fork committed data.

/** Thrown when an invariant of the Raft core is broken (a bug or corrupted input), never for an expected outcome. */
export class RaftInvariantError extends Error {
  override readonly name = "RaftInvariantError";
  readonly code = "raft_invariant";
}

/** Throws RaftInvariantError with `message` when `condition` is false. */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new RaftInvariantError(typeof message === "string" ? message : message());
}
