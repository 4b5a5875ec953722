// Deliberate bugs of the node core, switched on only by the simulators (never by the server), to
// show that a checker sees each production behaviour go wrong.

/** A deliberate bug of the node core. */
export type NodeMutant =
  /** A new leader keeps stale lease deadlines (caught by lease-early-expiry). */
  | "lease-no-promote"
  /** Keep-alives renew without confirming leadership by ReadIndex (caught by lease-early-expiry). */
  | "keepalive-without-readindex"
  /** Every message of a Ready (votes and acks included) leaves before its write is durable. */
  | "send-all-before-fsync"
  /** Storage compacts the log before the snapshot replacing it is durable: a crash loses entries. */
  | "snapshot-compacts-before-save"
  /** Stopping answers in-flight proposals with a retryable code although they may commit. */
  | "stop-answers-retry"
  /** A storage failure answers in-flight proposals with a retryable code although they may commit. */
  | "storage-failure-answers-retry";
