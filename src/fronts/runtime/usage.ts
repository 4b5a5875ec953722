// The fronts' bounds: how many keys and bytes their namespace holds, as counted by the sweeper's
// expiry index after each applied batch (sweeper.ts, on every node), plus what was proposed since.
// A write that would pass a bound is refused before it is proposed: RESP "-OOM command not allowed
// when used memory > 'maxmemory'.", memcached "SERVER_ERROR out of memory storing object" — never a
// crash. A proposed overwrite counts as a new key until it is applied, which errs on the side of refusing.
import { FrontStoreError } from "./front-store.js";

/** Marks an OOM refusal so each front words it its own way. */
export const OOM_MESSAGE = "OOM command not allowed when used memory > 'maxmemory'.";

/** Limits of the fronts' namespace. */
export interface UsageLimits {
  readonly maxKeys: number;
  readonly maxBytes: number;
}

/** Key and byte counts of the fronts' namespace. */
export class FrontUsage {
  keys = 0;
  bytes = 0;
  /** RESP databases: keys and keys with an expiry (INFO keyspace, without a scan per INFO). */
  databases: ReadonlyMap<number, { keys: number; expires: number }> = new Map();

  constructor(readonly limits: UsageLimits) {}

  /** The index's exact totals replace the running counts. */
  counted(keys: number, bytes: number, databases: ReadonlyMap<number, { keys: number; expires: number }> = new Map()): void {
    this.keys = keys;
    this.bytes = bytes;
    this.databases = databases;
  }

  /** Throws the OOM refusal when `addedKeys` more keys of `addedBytes` would pass a limit. */
  checkRoom(addedKeys: number, addedBytes: number): void {
    if (this.keys + addedKeys > this.limits.maxKeys || this.bytes + addedBytes > this.limits.maxBytes) {
      throw new FrontStoreError("oom", OOM_MESSAGE);
    }
    // Counted as if each were new: an overwrite is over-counted until its apply recounts.
    this.keys += addedKeys;
    this.bytes += addedBytes;
  }
}
