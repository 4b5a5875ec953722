// Option parsing of the Redis commands a session store sends that carry options, done as
// redis-server does it (t_string.c parseExtendedStringArgumentsOrReply, expire.c, db.c scanGeneric,
// networking.c helloCommand): same accepted forms, same checks in the same order, same error text.
// Pure: the caller passes the command's arguments (args[0] is the command name) and `nowMs`, read
// once per command, and gets a typed request or the error line to reply. Arity is the caller's
// check (wrongArityError in resp-errors.ts) and is assumed done.
import { parseRedisInteger } from "./decimal.js";

/** Redis's shared error replies that argument parsing produces. */
export const RESP_ERRORS = {
  syntax: "ERR syntax error",
  notInteger: "ERR value is not an integer or out of range",
  invalidCursor: "ERR invalid cursor",
  nxWithOthers: "ERR NX and XX, GT or LT options at the same time are not compatible",
  gtAndLt: "ERR GT and LT options at the same time are not compatible",
  protocolVersionNotInteger: "ERR Protocol version is not an integer or out of range",
  noProto: "NOPROTO unsupported protocol version",
  noAuth: "NOAUTH Authentication required.",
  wrongPass: "WRONGPASS invalid username-password pair or user is disabled.",
  helloNoAuth: "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
  wrongType: "WRONGTYPE Operation against a key holding the wrong kind of value",
  oom: "OOM command not allowed when used memory > 'maxmemory'.",
} as const;

/** "ERR invalid expire time in 'set' command" (the command name lower-cased, as Redis prints it). */
export function invalidExpireTimeError(command: string): string {
  return `ERR invalid expire time in '${command.toLowerCase()}' command`;
}

/** What a write does to a key's time to live. `at` is an absolute Unix ms (maybe in the past). */
export type RespExpiry = { kind: "clear" } | { kind: "keep" } | { kind: "at"; atMs: number };

/** A parse result: the request, or the error line to reply. */
export type RespParsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): RespParsed<T> => ({ ok: true, value });
const fail = <T>(error: string): RespParsed<T> => ({ ok: false, error });

/** Redis's getLongLongFromObject: the argument as a strict integer, or null. */
export function integerArg(arg: Uint8Array): number | null {
  return parseRedisInteger(arg, 0, arg.length);
}

function upper(arg: Uint8Array): string {
  let s = "";
  for (let i = 0; i < arg.length && i < 16; i++) {
    const c = arg[i] as number;
    s += String.fromCharCode(c >= 0x61 && c <= 0x7a ? c - 32 : c);
  }
  return arg.length > 16 ? `${s}\u0000` : s; // longer than any option: never equal to one
}

type TimeOption = "EX" | "PX" | "EXAT" | "PXAT";

/**
 * Redis's getExpireMillisecondsOrReply: a positive time in the option's unit → absolute ms. Kept
 * within safe integers (about 285 000 years), beyond which it is "invalid expire time" too.
 */
function expireAtMs(command: string, option: TimeOption, arg: Uint8Array, nowMs: number): RespParsed<number> {
  const n = integerArg(arg);
  if (n === null) return fail(RESP_ERRORS.notInteger);
  if (n <= 0) return fail(invalidExpireTimeError(command));
  const ms = option === "EX" || option === "EXAT" ? n * 1000 : n;
  const atMs = option === "EX" || option === "PX" ? ms + nowMs : ms;
  return Number.isSafeInteger(atMs) ? ok(atMs) : fail(invalidExpireTimeError(command));
}

/** SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]. */
export interface SetRequest {
  key: Uint8Array;
  value: Uint8Array;
  condition: "always" | "nx" | "xx";
  /** GET: reply with the old value. */
  get: boolean;
  /** Without EX/PX/EXAT/PXAT/KEEPTTL a SET clears any TTL. */
  expiry: RespExpiry;
}

/** Parses SET's options (Redis 7: NX and GET may be combined). */
export function parseSet(args: readonly Uint8Array[], nowMs: number): RespParsed<SetRequest> {
  let condition: SetRequest["condition"] = "always";
  let get = false;
  let keepTtl = false;
  let time: { option: TimeOption; arg: Uint8Array } | null = null;
  for (let j = 3; j < args.length; j++) {
    const opt = upper(args[j] as Uint8Array);
    const next = args[j + 1];
    if (opt === "NX" && condition !== "xx") condition = "nx";
    else if (opt === "XX" && condition !== "nx") condition = "xx";
    else if (opt === "GET") get = true;
    else if (opt === "KEEPTTL" && time === null) keepTtl = true;
    else if ((opt === "EX" || opt === "PX" || opt === "EXAT" || opt === "PXAT") && !keepTtl && (time === null || time.option === opt) && next !== undefined) {
      time = { option: opt, arg: next };
      j++;
    } else return fail(RESP_ERRORS.syntax);
  }
  let expiry: RespExpiry = keepTtl ? { kind: "keep" } : { kind: "clear" };
  if (time !== null) {
    const at = expireAtMs("set", time.option, time.arg, nowMs);
    if (!at.ok) return fail(at.error);
    expiry = { kind: "at", atMs: at.value };
  }
  return ok({ key: args[1] as Uint8Array, value: args[2] as Uint8Array, condition, get, expiry });
}

/** SETEX key seconds value / PSETEX key milliseconds value. */
export function parseSetex(args: readonly Uint8Array[], nowMs: number): RespParsed<SetRequest> {
  const command = upper(args[0] as Uint8Array);
  const at = expireAtMs(command, command === "PSETEX" ? "PX" : "EX", args[2] as Uint8Array, nowMs);
  if (!at.ok) return fail(at.error);
  return ok({ key: args[1] as Uint8Array, value: args[3] as Uint8Array, condition: "always", get: false, expiry: { kind: "at", atMs: at.value } });
}

/** GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]: `expiry` null leaves the TTL alone. */
export function parseGetex(args: readonly Uint8Array[], nowMs: number): RespParsed<{ key: Uint8Array; expiry: RespExpiry | null }> {
  let persist = false;
  let time: { option: TimeOption; arg: Uint8Array } | null = null;
  for (let j = 2; j < args.length; j++) {
    const opt = upper(args[j] as Uint8Array);
    const next = args[j + 1];
    if (opt === "PERSIST" && time === null) persist = true;
    else if ((opt === "EX" || opt === "PX" || opt === "EXAT" || opt === "PXAT") && !persist && (time === null || time.option === opt) && next !== undefined) {
      time = { option: opt, arg: next };
      j++;
    } else return fail(RESP_ERRORS.syntax);
  }
  let expiry: RespExpiry | null = persist ? { kind: "clear" } : null;
  if (time !== null) {
    const at = expireAtMs("getex", time.option, time.arg, nowMs);
    if (!at.ok) return fail(at.error);
    expiry = { kind: "at", atMs: at.value };
  }
  return ok({ key: args[1] as Uint8Array, expiry });
}

/** EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX] [XX] [GT] [LT]. */
export interface ExpireRequest {
  key: Uint8Array;
  /** Absolute Unix ms; at or before now means "delete the key now" (Redis does so). */
  atMs: number;
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
}

const INT64_MAX_MS_FROM_S = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** Parses the EXPIRE family: options first, then the time, as Redis checks them. */
export function parseExpire(args: readonly Uint8Array[], nowMs: number): RespParsed<ExpireRequest> {
  const command = upper(args[0] as Uint8Array);
  const flags = { nx: false, xx: false, gt: false, lt: false };
  for (let j = 3; j < args.length; j++) {
    const opt = upper(args[j] as Uint8Array);
    if (opt === "NX") flags.nx = true;
    else if (opt === "XX") flags.xx = true;
    else if (opt === "GT") flags.gt = true;
    else if (opt === "LT") flags.lt = true;
    else return fail(`ERR Unsupported option ${new TextDecoder().decode((args[j] as Uint8Array).subarray(0, 128))}`);
  }
  if (flags.nx && (flags.xx || flags.gt || flags.lt)) return fail(RESP_ERRORS.nxWithOthers);
  if (flags.gt && flags.lt) return fail(RESP_ERRORS.gtAndLt);
  const n = integerArg(args[2] as Uint8Array);
  if (n === null) return fail(RESP_ERRORS.notInteger);
  const seconds = command === "EXPIRE" || command === "EXPIREAT";
  if (seconds && Math.abs(n) > INT64_MAX_MS_FROM_S) return fail(invalidExpireTimeError(command));
  const ms = seconds ? n * 1000 : n;
  const atMs = command === "EXPIRE" || command === "PEXPIRE" ? ms + nowMs : ms;
  if (!Number.isSafeInteger(atMs)) return fail(invalidExpireTimeError(command));
  return ok({ key: args[1] as Uint8Array, atMs, ...flags });
}

/** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. */
export interface ScanRequest {
  cursor: bigint;
  match: Uint8Array | null;
  /** A hint of how many keys to return (Redis default 10). */
  count: number;
  type: string | null;
}

const DEFAULT_SCAN_COUNT = 10;

/** Parses SCAN (args[1] is the cursor, an unsigned 64-bit decimal as Redis's strtoull check). */
export function parseScan(args: readonly Uint8Array[]): RespParsed<ScanRequest> {
  const cursorText = new TextDecoder().decode(args[1] as Uint8Array);
  if (!/^[0-9]{1,20}$/.test(cursorText) || BigInt(cursorText) > 0xffffffffffffffffn) return fail(RESP_ERRORS.invalidCursor);
  const request: ScanRequest = { cursor: BigInt(cursorText), match: null, count: DEFAULT_SCAN_COUNT, type: null };
  for (let j = 2; j < args.length; j += 2) {
    const opt = upper(args[j] as Uint8Array);
    const value = args[j + 1];
    if (value === undefined) return fail(RESP_ERRORS.syntax);
    if (opt === "COUNT") {
      const n = integerArg(value);
      if (n === null) return fail(RESP_ERRORS.notInteger);
      if (n < 1) return fail(RESP_ERRORS.syntax);
      request.count = n;
    } else if (opt === "MATCH") {
      request.match = value;
    } else if (opt === "TYPE") {
      request.type = new TextDecoder().decode(value).toLowerCase();
    } else return fail(RESP_ERRORS.syntax);
  }
  return ok(request);
}

/** HELLO [protover [AUTH username password] [SETNAME clientname]]. */
export interface HelloRequest {
  /** null: keep the connection's protocol. */
  protocol: 2 | 3 | null;
  auth: { username: Uint8Array; password: Uint8Array } | null;
  clientName: Uint8Array | null;
}

/** Parses HELLO; the caller then checks AUTH (WRONGPASS) and that the client is authenticated (helloNoAuth). */
export function parseHello(args: readonly Uint8Array[]): RespParsed<HelloRequest> {
  const request: HelloRequest = { protocol: null, auth: null, clientName: null };
  let j = 1;
  if (args.length >= 2) {
    const version = integerArg(args[j++] as Uint8Array);
    if (version === null) return fail(RESP_ERRORS.protocolVersionNotInteger);
    if (version !== 2 && version !== 3) return fail(RESP_ERRORS.noProto);
    request.protocol = version;
  }
  for (; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = upper(args[j] as Uint8Array);
    if (opt === "AUTH" && more >= 2) {
      request.auth = { username: args[j + 1] as Uint8Array, password: args[j + 2] as Uint8Array };
      j += 2;
    } else if (opt === "SETNAME" && more >= 1) {
      request.clientName = args[j + 1] as Uint8Array;
      j++;
    } else {
      return fail(`ERR Syntax error in HELLO option '${new TextDecoder().decode((args[j] as Uint8Array).subarray(0, 128))}'`);
    }
  }
  return ok(request);
}
