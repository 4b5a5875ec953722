// Every side effect of a node core, injected by its shell: the server gives real storage, the TLS
// transport, setImmediate, performance.now and Math.random; the simulators give a storage model
// with simulated fsync latency, a simulated network, virtual time and a seeded generator. Storage
// answers through callbacks, not promises, so that a simulator can complete a write at a chosen
// virtual time inside its own event loop (a promise would settle only after the loop returned).
import type { Entry, HardState, LogIndex, Message, Snapshot } from "../raft/types.js";

/** What one Ready asks storage to write (the shape of storage/Storage.save's request). */
export interface SaveBatch {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  /** False when the write need not be synced before the Ready carries on (commit-only hard state). */
  readonly mustSync: boolean;
}

/** Completion of a storage call: null on success, the failure otherwise. */
export type StorageDone = (err: unknown) => void;

/** The node's durable log, asynchronous. Each call completes exactly once, in call order. */
export interface NodeStorage {
  /** Writes (and, when mustSync, syncs) a Ready's snapshot, entries and hard state. */
  save(batch: SaveBatch, done: StorageDone): void;
  /** Makes a snapshot the node took of its own state durable. */
  saveSnapshot(snapshot: Snapshot, done: StorageDone): void;
  /** Drops log entries up to `index`; only after a snapshot covering it is durable. */
  compact(index: LogIndex, done: StorageDone): void;
}

/** The few logging calls a core makes (pino's Logger satisfies it). */
export interface NodeLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Everything a core may do to the world beyond its own memory. */
export interface NodeEffects {
  readonly storage: NodeStorage;
  /** Hands messages to the transport (unreliable; never blocks). */
  send(messages: readonly Message[]): void;
  /** Monotonic milliseconds. */
  nowMs(): number;
  /** Runs `fn` soon, after the current call stack (the server: setImmediate). */
  soon(fn: () => void): void;
  /** An integer in 0..n-1, for Raft's election jitter. */
  randomInt(n: number): number;
  readonly logger: NodeLogger;
  /**
   * A broken invariant: the core has stopped and must not be trusted again. The server logs a fatal
   * line and exits (EXIT_INVARIANT_BROKEN); a simulator reports a violation. Never returns normally
   * into the core in a way the core relies on.
   */
  onFatal(err: unknown): void;
}
