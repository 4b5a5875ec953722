// The per-connection part of the RESP front that needs no store: authentication (AUTH, HELLO AUTH),
// the protocol version (HELLO 2|3), SELECT, CLIENT SETINFO|SETNAME|GETNAME|ID, PING, ECHO, QUIT,
// COMMAND, CONFIG GET, the arity check of every command, Redis's NOAUTH gate and its unknown-command
// error. Whatever is left is a data command, handed back to the runtime with its spec to run on the
// store. Pure: the token, the client id and the server facts are given; replies go to a RespWriter.
import { redisGlobMatch } from "./redis-glob.js";
import { RESP_ERRORS, parseHello } from "./resp-args.js";
import { RESP_COMMANDS, arityError, lookupCommand, writeCommandInfo, type RespCommandSpec } from "./resp-commands.js";
import { commandNameOf, unknownCommandError, unknownSubcommandError, wrongArityError } from "./resp-errors.js";
import type { RespRequestParser } from "./resp-parser.js";
import type { RespWriter } from "./resp-writer.js";

/** Facts and settings a session is given by the runtime. */
export interface RespSessionOptions {
  /** The password AUTH must present (user "default"); null: no authentication required. */
  authToken: Uint8Array | null;
  /** A second password (the cluster's admin token) that also authenticates and makes the connection admin (FLUSHDB); null: none. */
  adminToken?: Uint8Array | null;
  /** This connection's id (CLIENT ID, HELLO). */
  clientId: number;
  /** The Redis version reported to clients (they enable features by it). */
  serverVersion: string;
  /** SELECT accepts 0..databases-1 (Redis default 16). */
  databases: number;
  /** CONFIG GET answers: parameter → value (harmless constants; clients such as redis-benchmark ask). */
  config: ReadonlyMap<string, string>;
}

/** Redis defaults clients commonly ask CONFIG GET for; answered as constants. */
export const DEFAULT_CONFIG_ANSWERS: ReadonlyMap<string, string> = new Map([
  ["save", ""],
  ["appendonly", "no"],
  ["maxmemory", "0"],
  ["maxmemory-policy", "noeviction"],
  ["databases", "16"],
  ["timeout", "0"],
  ["proto-max-bulk-len", "1572864"],
  ["cluster-enabled", "no"],
]);

/** What happened to a command: answered here, answered and the connection must close, or a data command to run. */
export type RespSessionOutcome =
  | { kind: "replied" }
  | { kind: "close"; replied: boolean }
  | { kind: "data"; spec: RespCommandSpec };

const NO_PASSWORD_CONFIGURED = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
const DB_OUT_OF_RANGE = "ERR DB index is out of range";
const BAD_CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters.";
const decoder = new TextDecoder();

/** Constant-time comparison, so a token's bytes cannot be guessed from reply timing. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Redis's rule for client names and library info: printable ASCII, no spaces. */
function isPrintableToken(b: Uint8Array): boolean {
  for (const c of b) if (c < 0x21 || c > 0x7e) return false;
  return true;
}

/** One connection's session state; see the file comment. */
export class RespSession {
  protocol: 2 | 3 = 2;
  db = 0;
  clientName: Uint8Array | null = null;
  libName: string | null = null;
  libVersion: string | null = null;
  private authenticated: boolean;
  private admin = false;

  constructor(private readonly options: RespSessionOptions, private readonly parser: RespRequestParser) {
    this.authenticated = options.authToken === null;
    parser.setAuthRequired(!this.authenticated);
  }

  /** Whether the connection authenticated with the admin token (admin-only commands such as FLUSHDB). */
  get isAdmin(): boolean {
    return this.admin;
  }

  /** Whether the connection may run commands other than AUTH/HELLO/QUIT. */
  get isAuthenticated(): boolean {
    return this.authenticated;
  }

  /** Handles one command (args[0] is its name); writes the reply unless the outcome is "data". */
  handle(args: readonly Uint8Array[], w: RespWriter): RespSessionOutcome {
    const name = commandNameOf(args[0] as Uint8Array);
    // A browser tricked into posting to this port (cross-protocol scripting): hang up, as Redis does.
    if (name === "POST" || name === "HOST:") return { kind: "close", replied: false };
    // Redis's order (processCommand): existence, then arity, then the NOAUTH gate.
    const spec = lookupCommand(name);
    if (spec === undefined) {
      w.error(unknownCommandError(args));
      return { kind: "replied" };
    }
    const bad = arityError(spec, args.length);
    if (bad !== null) {
      w.error(bad);
      return { kind: "replied" };
    }
    if (!this.authenticated && !spec.flags.includes("no_auth")) {
      w.error(RESP_ERRORS.noAuth);
      return { kind: "replied" };
    }
    switch (name) {
      case "PING":
        if (args.length > 2) w.error(wrongArityError("ping"));
        else if (args.length === 2) w.bulk(args[1] as Uint8Array);
        else w.simple("PONG");
        return { kind: "replied" };
      case "ECHO":
        w.bulk(args[1] as Uint8Array);
        return { kind: "replied" };
      case "QUIT":
        w.simple("OK");
        return { kind: "close", replied: true };
      case "AUTH":
        return this.auth(args, w);
      case "HELLO":
        return this.hello(args, w);
      case "SELECT":
        return this.select(args, w);
      case "CLIENT":
        return this.client(args, w);
      case "COMMAND":
        return this.command(args, w);
      case "CONFIG":
        return this.config(args, w);
      default:
        return { kind: "data", spec };
    }
  }

  /** "client" or "admin" when the password is the client or the admin token of user "default", else null. */
  private checkPassword(username: Uint8Array, password: Uint8Array): "client" | "admin" | null {
    const token = this.options.authToken;
    const adminToken = this.options.adminToken ?? null;
    if (token === null || decoder.decode(username) !== "default") return null;
    if (adminToken !== null && sameBytes(password, adminToken)) return "admin";
    return sameBytes(password, token) ? "client" : null;
  }

  private auth(args: readonly Uint8Array[], w: RespWriter): RespSessionOutcome {
    if (args.length > 3) {
      w.error(RESP_ERRORS.syntax);
      return { kind: "replied" };
    }
    if (this.options.authToken === null) {
      w.error(NO_PASSWORD_CONFIGURED);
      return { kind: "replied" };
    }
    const username = args.length === 3 ? (args[1] as Uint8Array) : new TextEncoder().encode("default");
    const who = this.checkPassword(username, args[args.length - 1] as Uint8Array);
    if (who === null) {
      w.error(RESP_ERRORS.wrongPass);
      return { kind: "replied" };
    }
    this.becomeAuthenticated(who === "admin");
    w.simple("OK");
    return { kind: "replied" };
  }

  private becomeAuthenticated(admin: boolean): void {
    this.authenticated = true;
    this.admin = admin;
    this.parser.setAuthRequired(false);
  }

  private hello(args: readonly Uint8Array[], w: RespWriter): RespSessionOutcome {
    const parsed = parseHello(args);
    if (!parsed.ok) {
      w.error(parsed.error);
      return { kind: "replied" };
    }
    const { protocol, auth, clientName } = parsed.value;
    if (auth !== null) {
      const who = this.checkPassword(auth.username, auth.password);
      if (who === null) {
        w.error(RESP_ERRORS.wrongPass);
        return { kind: "replied" };
      }
      this.becomeAuthenticated(who === "admin");
    }
    if (!this.authenticated) {
      w.error(RESP_ERRORS.helloNoAuth);
      return { kind: "replied" };
    }
    if (clientName !== null) {
      if (!isPrintableToken(clientName)) {
        w.error(BAD_CLIENT_NAME);
        return { kind: "replied" };
      }
      this.clientName = clientName.length === 0 ? null : clientName;
    }
    if (protocol !== null) this.protocol = protocol;
    w.protocol = this.protocol;
    w.map(7);
    w.bulk("server");
    w.bulk("redis");
    w.bulk("version");
    w.bulk(this.options.serverVersion);
    w.bulk("proto");
    w.integer(this.protocol);
    w.bulk("id");
    w.integer(this.options.clientId);
    w.bulk("mode");
    w.bulk("standalone");
    w.bulk("role");
    w.bulk("master");
    w.bulk("modules");
    w.array(0);
    return { kind: "replied" };
  }

  private select(args: readonly Uint8Array[], w: RespWriter): RespSessionOutcome {
    const text = decoder.decode(args[1] as Uint8Array);
    const n = /^-?[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n) || n > 2147483647 || n < -2147483648) w.error(RESP_ERRORS.notInteger);
    else if (n < 0 || n >= this.options.databases) w.error(DB_OUT_OF_RANGE);
    else {
      this.db = n;
      w.simple("OK");
    }
    return { kind: "replied" };
  }

  private client(args: readonly Uint8Array[], w: RespWriter): RespSessionOutcome {
    const sub = commandNameOf(args[1] as Uint8Array);
    const arity = (n: number) => {
      if (args.length === n) return true;
      w.error(`ERR wrong number of arguments for 'client|${sub.toLowerCase()}' command`);
      return false;
    };
    if (sub === "ID") {
      if (arity(2)) w.integer(this.options.clientId);
    } else if (sub === "GETNAME") {
      if (arity(2)) {
        if (this.clientName === null) w.null();
        else w.bulk(this.clientName);
      }
    } else if (sub === "SETNAME") {
      if (arity(3)) {
        const name = args[2] as Uint8Array;
        if (!isPrintableToken(name)) w.error(BAD_CLIENT_NAME);
        else {
          this.clientName = name.length === 0 ? null : name;
          w.simple("OK");
        }
      }
    } else if (sub === "SETINFO") {
      if (arity(4)) {
        const attr = commandNameOf(args[2] as Uint8Array);
        const value = args[3] as Uint8Array;
        if (attr !== "LIB-NAME" && attr !== "LIB-VER") w.error(`ERR Unrecognized option '${decoder.decode(args[2] as Uint8Array)}'`);
        else if (!isPrintableToken(value) && value.length > 0) w.error(`ERR ${attr.toLowerCase()} cannot contain spaces, newlines or special characters.`);
        else {
          if (attr === "LIB-NAME") this.libName = decoder.decode(value);
          else this.libVersion = decoder.decode(value);
          w.simple("OK");
        }
      }
    } else {
      w.error(unknownSubcommandError("client", args[1] as Uint8Array));
    }
    return { kind: "replied" };
  }

  private command(args: readonly Uint8Array[], w: RespWriter): RespSessionOutcome {
    const sub = args.length > 1 ? commandNameOf(args[1] as Uint8Array) : "";
    if (args.length === 1) {
      w.array(RESP_COMMANDS.size);
      for (const spec of RESP_COMMANDS.values()) writeCommandInfo(w, spec);
    } else if (sub === "COUNT") {
      w.integer(RESP_COMMANDS.size);
    } else if (sub === "INFO") {
      w.array(args.length - 2);
      for (const a of args.slice(2)) {
        const spec = lookupCommand(commandNameOf(a));
        if (spec === undefined) w.nullArray();
        else writeCommandInfo(w, spec);
      }
    } else if (sub === "DOCS") {
      // No documentation to give; an empty map is a valid answer redis-cli accepts.
      w.map(0);
    } else {
      w.error(unknownSubcommandError("command", args[1] as Uint8Array));
    }
    return { kind: "replied" };
  }

  private config(args: readonly Uint8Array[], w: RespWriter): RespSessionOutcome {
    const sub = commandNameOf(args[1] as Uint8Array);
    if (sub !== "GET") {
      w.error(sub === "SET" || sub === "RESETSTAT" || sub === "REWRITE" ? `ERR CONFIG ${sub} is not supported: configure Phalanx in its node config` : unknownSubcommandError("config", args[1] as Uint8Array));
      return { kind: "replied" };
    }
    if (args.length < 3) {
      w.error("ERR wrong number of arguments for 'config|get' command");
      return { kind: "replied" };
    }
    const matches: [string, string][] = [];
    for (const [param, value] of this.options.config) {
      if (args.slice(2).some((p) => redisGlobMatch(p, new TextEncoder().encode(param), true)) && !matches.some(([k]) => k === param)) matches.push([param, value]);
    }
    w.map(matches.length);
    for (const [param, value] of matches) {
      w.bulk(param);
      w.bulk(value);
    }
    return { kind: "replied" };
  }
}
