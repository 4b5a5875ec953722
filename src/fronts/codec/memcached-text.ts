// Incremental parser of memcached's text protocol (proto_text.c / proto_parser.c in memcached 1.6):
// "get k1 k2\r\n", "set k <flags> <exptime> <bytes> [noreply]\r\n<data>\r\n", and the rest of the
// classic commands. Returns commands in order, and client mistakes as the error line memcached
// sends, after which the connection goes on (memcached keeps it open) unless `close` says not.
//
// Staying in sync matters more than anything here: when a storage command is refused after its
// <bytes> count was read (bad key, value too large), the data block that follows is swallowed
// without buffering it, exactly as memcached's conn_swallow does, so it is not run as commands.
import { parseInt32, parseUint32, parseUnsigned } from "./decimal.js";
import { ByteStreamParser } from "./stream-parser.js";

/** Limits of one connection's text parser. */
export interface McTextLimits {
  /** memcached's KEY_MAX_LENGTH. */
  keyBytesMax: number;
  /** Largest value of a storage command (memcached's -I item size, 1 MiB by default). */
  valueBytesMax: number;
  /** Longest command line (memcached closes a connection sending 2048 bytes without a newline). */
  lineBytesMax: number;
  /** Longest get/gets/gat/gats line (memcached lets multigets run longer; here still bounded). */
  getLineBytesMax: number;
  /** Largest refused data block swallowed to stay in sync; beyond it the connection is closed. */
  swallowBytesMax: number;
}

export const DEFAULT_MC_TEXT_LIMITS: Readonly<McTextLimits> = {
  keyBytesMax: 250,
  valueBytesMax: 1024 * 1024,
  lineBytesMax: 2048,
  getLineBytesMax: 64 * 1024,
  swallowBytesMax: 64 * 1024 * 1024,
};

/** The storage commands, which carry a data block. */
export type McStoreMode = "set" | "add" | "replace" | "append" | "prepend" | "cas";

/** One parsed text command. Keys are raw bytes (validated: 1..250 bytes, no space or control byte). */
export type McTextCommand =
  /** get/gets (touchExptimeS null) and gat/gats (touchExptimeS set); withCas for gets/gats. */
  | { op: "get"; keys: Uint8Array[]; withCas: boolean; touchExptimeS: number | null }
  | { op: "store"; mode: McStoreMode; key: Uint8Array; flags: number; exptimeS: number; value: Uint8Array; casUnique: bigint | null; noreply: boolean }
  | { op: "delete"; key: Uint8Array; noreply: boolean }
  | { op: "touch"; key: Uint8Array; exptimeS: number; noreply: boolean }
  | { op: "incr" | "decr"; key: Uint8Array; delta: bigint; noreply: boolean }
  | { op: "version" }
  | { op: "stats"; args: string[] }
  | { op: "verbosity"; level: number; noreply: boolean }
  | { op: "flush_all"; delayS: number; noreply: boolean }
  | { op: "quit" };

/**
 * A command, or an error line to answer. `noreply`: the command asked for no reply (memcached then
 * sends no error either). `close`: the stream cannot continue; close after answering. `message`
 * null: close without a reply (memcached does so for an HTTP request line).
 */
export type McTextFrame =
  | { type: "command"; command: McTextCommand }
  | { type: "error"; message: string | null; noreply: boolean; close: boolean };

/** memcached's wording. */
export const MC_TEXT_ERRORS = {
  unknownCommand: "ERROR",
  badFormat: "CLIENT_ERROR bad command line format",
  badDataChunk: "CLIENT_ERROR bad data chunk",
  tooLarge: "SERVER_ERROR object too large for cache",
  invalidExptime: "CLIENT_ERROR invalid exptime argument",
  invalidDelta: "CLIENT_ERROR invalid numeric delta argument",
  deleteUsage: "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]",
  /** Not memcached's (it closes silently): a line over the limit. */
  lineTooLong: "CLIENT_ERROR line too long",
} as const;

const CR = 13;
const LF = 10;
const SPACE = 32;
/** memcached's shortest command: two letters and "\r\n". */
const COMMAND_BYTES_MIN = 4;

/** A storage command whose data block is still arriving. */
type PendingStore = Omit<Extract<McTextCommand, { op: "store" }>, "value"> & { valueBytes: number };

/** Parses one connection's text-protocol stream; see the file comment. */
export class McTextParser extends ByteStreamParser<McTextFrame> {
  private readonly limits: McTextLimits;
  private pending: PendingStore | null = null;

  constructor(limits: Partial<McTextLimits> = {}) {
    super();
    this.limits = { ...DEFAULT_MC_TEXT_LIMITS, ...limits };
  }

  protected parse(): McTextFrame | null {
    while (!this.failed) {
      if (this.swallowing()) return null;
      if (this.pending !== null) return this.parseDataBlock(this.pending);
      if (this.input.length === 0) return null;
      const frame = this.parseLine();
      if (frame !== "continue") return frame;
    }
    return null;
  }

  private close(message: string | null): Extract<McTextFrame, { type: "error" }> {
    this.failed = true;
    this.pending = null;
    this.input.consume(this.input.length);
    return { type: "error", message, noreply: false, close: true };
  }

  private parseDataBlock(pending: PendingStore): McTextFrame | null {
    const n = pending.valueBytes;
    if (this.input.length < n + 2) return null;
    this.pending = null;
    const terminated = this.input.at(n) === CR && this.input.at(n + 1) === LF;
    const value = terminated ? this.input.copy(0, n) : null;
    this.input.consume(n + 2);
    if (value === null) return { type: "error", message: MC_TEXT_ERRORS.badDataChunk, noreply: pending.noreply, close: false };
    const { valueBytes: _, ...rest } = pending;
    return { type: "command", command: { ...rest, value } };
  }

  /** Whether the line at the front is a get-family command, which may run longer. */
  private isGetLine(): boolean {
    return this.input.startsWithAscii("get ") || this.input.startsWithAscii("gets ") ||
      this.input.startsWithAscii("gat ") || this.input.startsWithAscii("gats ");
  }

  /** One command line; "continue" when it only started a data block read (nothing to answer yet). */
  private parseLine(): McTextFrame | "continue" | null {
    const { lineBytesMax, getLineBytesMax } = this.limits;
    const lf = this.input.indexOf(LF, 0, Math.max(lineBytesMax, getLineBytesMax));
    const lineBytes = lf === -1 ? this.input.length : lf + 1;
    // Decided only past the smaller limit, when the 5-byte "gets " prefix has surely arrived, so
    // the outcome does not depend on how the line was split into chunks.
    if (lineBytes > Math.min(lineBytesMax, getLineBytesMax) && lineBytes > (this.isGetLine() ? getLineBytesMax : lineBytesMax)) {
      return this.close(MC_TEXT_ERRORS.lineTooLong);
    }
    if (lf === -1) return null;
    const end = lf > 0 && this.input.at(lf - 1) === CR ? lf - 1 : lf;
    const line = this.input.view(0, end);
    let frame: McTextFrame | "continue";
    if (lf + 1 < COMMAND_BYTES_MIN) frame = this.error(MC_TEXT_ERRORS.badFormat);
    else frame = this.dispatch(line, tokenize(line));
    this.input.consume(lf + 1);
    return frame;
  }

  private error(message: string, noreply = false): Extract<McTextFrame, { type: "error" }> {
    return { type: "error", message, noreply, close: false };
  }

  private command(command: McTextCommand): McTextFrame {
    return { type: "command", command };
  }

  private dispatch(line: Uint8Array, tokens: Token[]): McTextFrame | "continue" {
    const name = tokens[0] !== undefined && tokens[0].start === 0 ? tokenText(line, tokens[0]) : "";
    const last = tokens[tokens.length - 1];
    const noreply = tokens.length > 1 && last !== undefined && tokenText(line, last) === "noreply";
    const text = (i: number) => (tokens[i] === undefined ? "" : tokenText(line, tokens[i] as Token));
    switch (name) {
      case "get":
      case "gets":
        return tokens.length < 2 ? this.error(MC_TEXT_ERRORS.badFormat) : this.parseGet(line, tokens.slice(1), name === "gets", null);
      case "gat":
      case "gats": {
        if (tokens.length < 3) return this.error(MC_TEXT_ERRORS.badFormat);
        const exptime = parseInt32(text(1));
        if (exptime === null) return this.error(MC_TEXT_ERRORS.invalidExptime);
        return this.parseGet(line, tokens.slice(2), name === "gats", exptime);
      }
      case "set":
      case "add":
      case "replace":
      case "append":
      case "prepend":
      case "cas":
        return this.parseStorage(line, tokens, name, noreply);
      case "delete": {
        const key = tokens.length >= 2 ? this.key(line, tokens[1] as Token) : null;
        if (key === null) return this.error(MC_TEXT_ERRORS.badFormat, noreply);
        // Old PHP clients send "delete <key> 0"; memcached accepted a 0 hold time and nothing else.
        const extra = tokens.length - 2 - (noreply ? 1 : 0);
        if (extra > 1 || (extra === 1 && text(2) !== "0")) return this.error(MC_TEXT_ERRORS.deleteUsage, noreply);
        return this.command({ op: "delete", key, noreply });
      }
      case "touch": {
        const key = tokens.length >= 3 ? this.key(line, tokens[1] as Token) : null;
        if (key === null) return this.error(MC_TEXT_ERRORS.badFormat, noreply);
        const exptimeS = parseInt32(text(2));
        if (exptimeS === null) return this.error(MC_TEXT_ERRORS.invalidExptime, noreply);
        return this.command({ op: "touch", key, exptimeS, noreply });
      }
      case "incr":
      case "decr": {
        const key = tokens.length >= 3 ? this.key(line, tokens[1] as Token) : null;
        if (key === null) return this.error(MC_TEXT_ERRORS.badFormat, noreply);
        const delta = parseUnsigned(text(2));
        if (delta === null) return this.error(MC_TEXT_ERRORS.invalidDelta, noreply);
        return this.command({ op: name, key, delta, noreply });
      }
      case "version":
        return this.command({ op: "version" });
      case "stats":
        return this.command({ op: "stats", args: tokens.slice(1).map((t) => tokenText(line, t)) });
      case "verbosity": {
        const level = parseUint32(text(1));
        if (level === null) return this.error(MC_TEXT_ERRORS.badFormat, noreply);
        return this.command({ op: "verbosity", level, noreply });
      }
      case "flush_all": {
        let delayS = 0;
        if (tokens.length !== (noreply ? 2 : 1)) {
          const parsed = parseInt32(text(1));
          if (parsed === null) return this.error(MC_TEXT_ERRORS.invalidExptime, noreply);
          delayS = parsed;
        }
        return this.command({ op: "flush_all", delayS, noreply });
      }
      case "quit":
        return this.command({ op: "quit" });
      default:
        // An HTTP request sent to the cache port: memcached hangs up without answering.
        if (tokens.length > 1 && text(tokens.length - 1).startsWith("HTTP/")) return this.close(null);
        return this.error(MC_TEXT_ERRORS.unknownCommand, noreply);
    }
  }

  private parseGet(line: Uint8Array, keyTokens: Token[], withCas: boolean, touchExptimeS: number | null): McTextFrame {
    const keys: Uint8Array[] = [];
    for (const t of keyTokens) {
      const key = this.key(line, t);
      if (key === null) return this.error(MC_TEXT_ERRORS.badFormat);
      keys.push(key);
    }
    return this.command({ op: "get", keys, withCas, touchExptimeS });
  }

  /** "<cmd> <key> <flags> <exptime> <bytes> [cas unique] [noreply]", checked in memcached's order. */
  private parseStorage(line: Uint8Array, tokens: Token[], mode: McStoreMode, noreply: boolean): McTextFrame | "continue" {
    const text = (i: number) => (tokens[i] === undefined ? "" : tokenText(line, tokens[i] as Token));
    if (tokens.length < 5) return this.error(MC_TEXT_ERRORS.badFormat, noreply);
    const valueBytes = parseInt32(text(4));
    // Without a byte count the data block cannot be skipped; memcached then reads it as commands too.
    if (valueBytes === null || valueBytes < 0) return this.error(MC_TEXT_ERRORS.badFormat, noreply);
    const key = this.key(line, tokens[1] as Token);
    const flags = parseUint32(text(2));
    const exptimeS = parseInt32(text(3));
    const casUnique = mode === "cas" ? parseUnsigned(text(5)) : null;
    let refusal: string | null = null;
    if (key === null || flags === null || exptimeS === null || (mode === "cas" && casUnique === null)) refusal = MC_TEXT_ERRORS.badFormat;
    else if (valueBytes > this.limits.valueBytesMax) refusal = MC_TEXT_ERRORS.tooLarge;
    if (refusal !== null) {
      if (valueBytes + 2 > this.limits.swallowBytesMax) return { ...this.close(refusal), noreply };
      this.swallowRemaining = valueBytes + 2;
      return this.error(refusal, noreply);
    }
    this.pending = { op: "store", mode, key: key as Uint8Array, flags: flags as number, exptimeS: exptimeS as number, casUnique, noreply, valueBytes };
    return "continue";
  }

  /** A copy of a key token, or null when it is too long or holds a control byte. */
  private key(line: Uint8Array, t: Token): Uint8Array | null {
    const n = t.end - t.start;
    if (n === 0 || n > this.limits.keyBytesMax) return null;
    for (let i = t.start; i < t.end; i++) {
      const c = line[i] as number;
      if (c <= SPACE || c === 0x7f) return null;
    }
    return line.slice(t.start, t.end);
  }
}

interface Token {
  start: number;
  end: number;
}

/** Space-separated tokens (runs of spaces collapse, as memcached's tokenizer does). */
function tokenize(line: Uint8Array): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === SPACE) {
      i++;
      continue;
    }
    const start = i;
    while (i < line.length && line[i] !== SPACE) i++;
    tokens.push({ start, end: i });
  }
  return tokens;
}

/** A token as a latin1 string (commands and numbers are ASCII; anything else just fails to match). */
function tokenText(line: Uint8Array, t: Token): string {
  let s = "";
  for (let i = t.start; i < t.end; i++) s += String.fromCharCode(line[i] as number);
  return s;
}
