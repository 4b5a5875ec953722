// One operation vocabulary for both memcached protocols, so the runtime has a single executor: a
// text command or a binary request becomes an McOperation, with the protocol differences made
// explicit here rather than in the executor: binary set/add/replace/append/prepend/delete compare
// the header's CAS when it is non-zero (text has a separate `cas` command); binary incr/decr create a
// missing counter with `initial` unless the expiration is 0xffffffff (text never creates one).
import { MC_BINARY_NO_AUTOVIVIFY_EXPTIME, type McBinaryRequest } from "./memcached-binary.js";
import type { McStoreMode, McTextCommand } from "./memcached-text.js";

/** What to do, whichever protocol asked. Exptimes are memcached seconds (see memcachedDeadline). */
export type McOperation =
  | { op: "get"; keys: Uint8Array[]; touchExptimeS: number | null }
  | { op: "store"; mode: Exclude<McStoreMode, "cas">; key: Uint8Array; flags: number; exptimeS: number; value: Uint8Array; casUnique: bigint | null }
  | { op: "delete"; key: Uint8Array; casUnique: bigint | null }
  | { op: "touch"; key: Uint8Array; exptimeS: number }
  | { op: "incr" | "decr"; key: Uint8Array; delta: bigint; create: { initial: bigint; exptimeS: number } | null }
  | { op: "flush"; delayS: number }
  | { op: "version" }
  | { op: "stats"; group: string | null }
  | { op: "verbosity"; level: number }
  | { op: "noop" }
  | { op: "quit" };

/** A text command as an operation. */
export function operationOfText(c: McTextCommand): McOperation {
  switch (c.op) {
    case "get":
      return { op: "get", keys: c.keys, touchExptimeS: c.touchExptimeS };
    case "store":
      return c.mode === "cas"
        ? { op: "store", mode: "set", key: c.key, flags: c.flags, exptimeS: c.exptimeS, value: c.value, casUnique: c.casUnique }
        : { op: "store", mode: c.mode, key: c.key, flags: c.flags, exptimeS: c.exptimeS, value: c.value, casUnique: null };
    case "delete":
      return { op: "delete", key: c.key, casUnique: null };
    case "touch":
      return { op: "touch", key: c.key, exptimeS: c.exptimeS };
    case "incr":
    case "decr":
      return { op: c.op, key: c.key, delta: c.delta, create: null };
    case "flush_all":
      return { op: "flush", delayS: c.delayS };
    case "stats":
      return { op: "stats", group: c.args[0] ?? null };
    case "verbosity":
      return { op: "verbosity", level: c.level };
    case "version":
    case "quit":
      return { op: c.op };
  }
}

/** A binary request as an operation. */
export function operationOfBinary(r: McBinaryRequest): McOperation {
  const casUnique = r.cas === 0n ? null : r.cas;
  switch (r.op) {
    case "get":
      return { op: "get", keys: [r.key], touchExptimeS: null };
    case "gat":
      return { op: "get", keys: [r.key], touchExptimeS: r.exptimeS };
    case "set":
    case "add":
    case "replace":
      // memcached turns any of these into a plain CAS store when the header's CAS is non-zero
      // (process_bin_update: NREAD_CAS), even an add: a missing key then answers "Not found".
      return { op: "store", mode: casUnique === null ? r.op : "set", key: r.key, flags: r.flags, exptimeS: r.exptimeS, value: r.value, casUnique };
    case "append":
    case "prepend":
      return { op: "store", mode: r.op, key: r.key, flags: 0, exptimeS: 0, value: r.value, casUnique };
    case "delete":
      return { op: "delete", key: r.key, casUnique };
    case "touch":
      return { op: "touch", key: r.key, exptimeS: r.exptimeS };
    case "increment":
    case "decrement":
      return {
        op: r.op === "increment" ? "incr" : "decr",
        key: r.key,
        delta: r.delta,
        create: r.exptimeS === MC_BINARY_NO_AUTOVIVIFY_EXPTIME ? null : { initial: r.initial, exptimeS: r.exptimeS },
      };
    case "flush":
      return { op: "flush", delayS: r.exptimeS };
    case "stat":
      return { op: "stats", group: r.key.length === 0 ? null : new TextDecoder().decode(r.key) };
    case "verbosity":
      return { op: "verbosity", level: r.level };
    case "version":
    case "noop":
    case "quit":
      return { op: r.op };
  }
}
