// The Redis commands the RESP front answers (issue 14), with redis-server's arity, flags and key
// positions: the runtime checks arity here before running a command (Redis's wording via
// wrongArityError), knows which commands write (forwarded to the leader, refused with -OOM when
// full), which need no AUTH, which are admin-only, and answers COMMAND / COMMAND INFO / COMMAND
// COUNT from this table in Redis 7's reply shape, which redis-cli reads for its hints.
import { wrongArityError } from "./resp-errors.js";
import type { RespWriter } from "./resp-writer.js";

/** One command's static description (Redis's command table entry, trimmed to what clients read). */
export interface RespCommandSpec {
  /** Lower case, as COMMAND replies it. */
  name: string;
  /** Redis arity: n = exactly n arguments (name included); -n = at least n. */
  arity: number;
  flags: readonly string[];
  /** First key, last key (-1: the last argument), step; 0,0,0 for no keys. */
  firstKey: number;
  lastKey: number;
  keyStep: number;
  /** Extra parity rule Redis checks in the command itself (MSET key value..., HSET key f v...). */
  pairsFrom?: number;
  /** Admin-only here (FLUSHDB): needs the admin token, not just the client token. */
  admin?: boolean;
}

function spec(name: string, arity: number, flags: string[], keys: [number, number, number] = [0, 0, 0], extra: Partial<RespCommandSpec> = {}): RespCommandSpec {
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], keyStep: keys[2], ...extra };
}

const ONE_KEY: [number, number, number] = [1, 1, 1];
const ALL_KEYS: [number, number, number] = [1, -1, 1];

/** The commands answered, keyed by upper-case name. */
export const RESP_COMMANDS: ReadonlyMap<string, RespCommandSpec> = new Map(
  [
    spec("ping", -1, ["fast", "stale"]),
    spec("echo", 2, ["fast"]),
    spec("quit", -1, ["allow_busy", "fast", "no_auth", "noscript", "loading", "stale"]),
    spec("auth", -2, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"]),
    spec("hello", -1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"]),
    spec("select", 2, ["loading", "stale", "fast"]),
    spec("client", -2, []),
    spec("info", -1, ["loading", "stale"]),
    spec("config", -2, []),
    spec("command", -1, ["loading", "stale"]),
    spec("dbsize", 1, ["readonly", "fast"]),
    spec("flushdb", -1, ["write"], [0, 0, 0], { admin: true }),
    spec("get", 2, ["readonly", "fast"], ONE_KEY),
    spec("set", -3, ["write", "denyoom"], ONE_KEY),
    spec("setex", 4, ["write", "denyoom"], ONE_KEY),
    spec("psetex", 4, ["write", "denyoom"], ONE_KEY),
    spec("setnx", 3, ["write", "denyoom", "fast"], ONE_KEY),
    spec("getdel", 2, ["write", "fast"], ONE_KEY),
    spec("getex", -2, ["write", "fast"], ONE_KEY),
    spec("mget", -2, ["readonly", "fast"], ALL_KEYS),
    spec("mset", -3, ["write", "denyoom"], [1, -1, 2], { pairsFrom: 1 }),
    spec("del", -2, ["write"], ALL_KEYS),
    spec("unlink", -2, ["write", "fast"], ALL_KEYS),
    spec("exists", -2, ["readonly", "fast"], ALL_KEYS),
    spec("expire", -3, ["write", "fast"], ONE_KEY),
    spec("pexpire", -3, ["write", "fast"], ONE_KEY),
    spec("expireat", -3, ["write", "fast"], ONE_KEY),
    spec("pexpireat", -3, ["write", "fast"], ONE_KEY),
    spec("ttl", 2, ["readonly", "fast"], ONE_KEY),
    spec("pttl", 2, ["readonly", "fast"], ONE_KEY),
    spec("persist", 2, ["write", "fast"], ONE_KEY),
    spec("incr", 2, ["write", "denyoom", "fast"], ONE_KEY),
    spec("incrby", 3, ["write", "denyoom", "fast"], ONE_KEY),
    spec("decr", 2, ["write", "denyoom", "fast"], ONE_KEY),
    spec("decrby", 3, ["write", "denyoom", "fast"], ONE_KEY),
    spec("type", 2, ["readonly", "fast"], ONE_KEY),
    spec("scan", -2, ["readonly"]),
    spec("keys", 2, ["readonly"]),
    spec("hset", -4, ["write", "denyoom", "fast"], ONE_KEY, { pairsFrom: 2 }),
    spec("hget", 3, ["readonly", "fast"], ONE_KEY),
    spec("hmget", -3, ["readonly", "fast"], ONE_KEY),
    spec("hgetall", 2, ["readonly"], ONE_KEY),
    spec("hdel", -3, ["write", "fast"], ONE_KEY),
    spec("hexists", 3, ["readonly", "fast"], ONE_KEY),
    spec("hincrby", 4, ["write", "denyoom", "fast"], ONE_KEY),
  ].map((s) => [s.name.toUpperCase(), s]),
);

/** The spec of a command by its upper-case name (commandNameOf), or undefined. */
export function lookupCommand(upperName: string): RespCommandSpec | undefined {
  return RESP_COMMANDS.get(upperName);
}

/** Redis's arity check plus the command's own pair rule: null when fine, else the error line. */
export function arityError(spec: RespCommandSpec, argc: number): string | null {
  const ok = spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity;
  if (!ok) return wrongArityError(spec.name);
  if (spec.pairsFrom !== undefined && (argc - spec.pairsFrom) % 2 !== 0) return wrongArityError(spec.name);
  return null;
}

/** Whether a command changes data (so it goes to the leader and is refused when the store is full). */
export function isWriteCommand(spec: RespCommandSpec): boolean {
  return spec.flags.includes("write");
}

/** One COMMAND INFO entry, Redis 7 shape: name, arity, flags, first, last, step, ACL categories, tips, key specs, subcommands. */
export function writeCommandInfo(w: RespWriter, spec: RespCommandSpec): void {
  w.array(10);
  w.bulk(spec.name);
  w.integer(spec.arity);
  w.set(spec.flags.length);
  for (const f of spec.flags) w.simple(f);
  w.integer(spec.firstKey);
  w.integer(spec.lastKey);
  w.integer(spec.keyStep);
  w.set(0);
  w.set(0);
  w.array(0);
  w.array(0);
}
