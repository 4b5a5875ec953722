// memcached's binary protocol (protocol_binary.h, proto_bin.c), which PHP's memcached session
// handler uses by default and memjs only speaks. Every packet is a 24-byte header (magic, opcode,
// key length, extras length, data type, vbucket/status, total body length, opaque, CAS) and a body
// of extras, key and value. Requests are validated per opcode as memcached validates them: a packet
// whose lengths do not fit its opcode is answered "Invalid arguments" and the connection closed; an
// unknown opcode is answered "Unknown command" and its body skipped; a value over the limit is
// answered "Too large." and skipped, so the stream stays in sync. Bodies are checked against the
// limits from the header alone, before any of them is buffered.
import { ByteStreamParser } from "./stream-parser.js";
import { OutputBuffer } from "./output-buffer.js";

export const MC_BINARY_REQUEST_MAGIC = 0x80;
export const MC_BINARY_RESPONSE_MAGIC = 0x81;
export const MC_BINARY_HEADER_BYTES = 24;

/** The operations, each opcode mapped to one plus its quiet / key-returning variant. */
export type McBinaryOp =
  | "get" | "set" | "add" | "replace" | "delete" | "increment" | "decrement" | "quit" | "flush"
  | "noop" | "version" | "append" | "prepend" | "stat" | "verbosity" | "touch" | "gat";

interface OpcodeInfo {
  op: McBinaryOp;
  /** Quiet: answer only misses-are-silent gets / failures of writes (memcached's *Q opcodes). */
  quiet: boolean;
  /** GetK/GetKQ/GATK/GATKQ: the response carries the key. */
  returnsKey: boolean;
}

/** The opcodes this codec understands (memcached's protocol_binary_command). */
export const MC_BINARY_OPCODES: ReadonlyMap<number, OpcodeInfo> = new Map<number, OpcodeInfo>([
  [0x00, { op: "get", quiet: false, returnsKey: false }],
  [0x01, { op: "set", quiet: false, returnsKey: false }],
  [0x02, { op: "add", quiet: false, returnsKey: false }],
  [0x03, { op: "replace", quiet: false, returnsKey: false }],
  [0x04, { op: "delete", quiet: false, returnsKey: false }],
  [0x05, { op: "increment", quiet: false, returnsKey: false }],
  [0x06, { op: "decrement", quiet: false, returnsKey: false }],
  [0x07, { op: "quit", quiet: false, returnsKey: false }],
  [0x08, { op: "flush", quiet: false, returnsKey: false }],
  [0x09, { op: "get", quiet: true, returnsKey: false }],
  [0x0a, { op: "noop", quiet: false, returnsKey: false }],
  [0x0b, { op: "version", quiet: false, returnsKey: false }],
  [0x0c, { op: "get", quiet: false, returnsKey: true }],
  [0x0d, { op: "get", quiet: true, returnsKey: true }],
  [0x0e, { op: "append", quiet: false, returnsKey: false }],
  [0x0f, { op: "prepend", quiet: false, returnsKey: false }],
  [0x10, { op: "stat", quiet: false, returnsKey: false }],
  [0x11, { op: "set", quiet: true, returnsKey: false }],
  [0x12, { op: "add", quiet: true, returnsKey: false }],
  [0x13, { op: "replace", quiet: true, returnsKey: false }],
  [0x14, { op: "delete", quiet: true, returnsKey: false }],
  [0x15, { op: "increment", quiet: true, returnsKey: false }],
  [0x16, { op: "decrement", quiet: true, returnsKey: false }],
  [0x17, { op: "quit", quiet: true, returnsKey: false }],
  [0x18, { op: "flush", quiet: true, returnsKey: false }],
  [0x19, { op: "append", quiet: true, returnsKey: false }],
  [0x1a, { op: "prepend", quiet: true, returnsKey: false }],
  [0x1b, { op: "verbosity", quiet: false, returnsKey: false }],
  [0x1c, { op: "touch", quiet: false, returnsKey: false }],
  [0x1d, { op: "gat", quiet: false, returnsKey: false }],
  [0x1e, { op: "gat", quiet: true, returnsKey: false }],
  [0x23, { op: "gat", quiet: false, returnsKey: true }],
  [0x24, { op: "gat", quiet: true, returnsKey: true }],
]);

/** Response status codes (protocol_binary_response_status). */
export const MC_BINARY_STATUS = {
  ok: 0x0000,
  keyNotFound: 0x0001,
  keyExists: 0x0002,
  valueTooLarge: 0x0003,
  invalidArguments: 0x0004,
  notStored: 0x0005,
  nonNumeric: 0x0006,
  authError: 0x0008,
  unknownCommand: 0x0081,
  outOfMemory: 0x0082,
  notSupported: 0x0083,
  internalError: 0x0084,
  busy: 0x0085,
  temporaryFailure: 0x0086,
} as const;

/** memcached's message bodies for error statuses (write_bin_error). */
export const MC_BINARY_STATUS_TEXT: ReadonlyMap<number, string> = new Map([
  [MC_BINARY_STATUS.keyNotFound, "Not found"],
  [MC_BINARY_STATUS.keyExists, "Data exists for key."],
  [MC_BINARY_STATUS.valueTooLarge, "Too large."],
  [MC_BINARY_STATUS.invalidArguments, "Invalid arguments"],
  [MC_BINARY_STATUS.notStored, "Not stored."],
  [MC_BINARY_STATUS.nonNumeric, "Non-numeric server-side value for incr or decr"],
  [MC_BINARY_STATUS.authError, "Auth failure."],
  [MC_BINARY_STATUS.unknownCommand, "Unknown command"],
  [MC_BINARY_STATUS.outOfMemory, "Out of memory"],
  [MC_BINARY_STATUS.temporaryFailure, "Temporary failure"],
]);

/** Increment/decrement: an expiration of all ones means "do not create a missing counter". */
export const MC_BINARY_NO_AUTOVIVIFY_EXPTIME = 0xffffffff;

/** One request, decoded. Fields an opcode does not carry are 0 / empty. */
export interface McBinaryRequest {
  opcode: number;
  op: McBinaryOp;
  quiet: boolean;
  returnsKey: boolean;
  opaque: number;
  cas: bigint;
  key: Uint8Array;
  value: Uint8Array;
  /** set/add/replace. */
  flags: number;
  /** set/add/replace, touch/gat, flush (delay), increment/decrement (0xffffffff: do not create). Unsigned seconds. */
  exptimeS: number;
  /** increment/decrement. */
  delta: bigint;
  initial: bigint;
  /** verbosity. */
  level: number;
}

/**
 * A request or an error to answer with a response packet of `status` (echoing opcode and opaque).
 * `close`: close after answering. `status` null: close without answering (bad magic: not our protocol).
 */
export type McBinaryFrame =
  | { type: "request"; request: McBinaryRequest }
  | { type: "error"; opcode: number; opaque: number; status: number | null; close: boolean };

/** Limits of one connection's binary parser. */
export interface McBinaryLimits {
  keyBytesMax: number;
  valueBytesMax: number;
  /** Largest body skipped (unknown opcode, value too large) to stay in sync; beyond it, close. */
  swallowBytesMax: number;
}

export const DEFAULT_MC_BINARY_LIMITS: Readonly<McBinaryLimits> = {
  keyBytesMax: 250,
  valueBytesMax: 1024 * 1024,
  swallowBytesMax: 64 * 1024 * 1024,
};

interface Header {
  opcode: number;
  keyBytes: number;
  extrasBytes: number;
  bodyBytes: number;
  opaque: number;
  cas: bigint;
}

/** Whether a packet's lengths fit its operation (proto_bin.c dispatch_bin_command). */
function shapeIsValid(op: McBinaryOp, h: Header): boolean {
  const { keyBytes: k, extrasBytes: e, bodyBytes: b } = h;
  switch (op) {
    case "version":
    case "noop":
    case "quit":
      return e === 0 && k === 0 && b === 0;
    case "flush":
      return k === 0 && b === e && (e === 0 || e === 4);
    case "set":
    case "add":
    case "replace":
      return e === 8 && k !== 0 && b >= k + 8;
    case "get":
    case "delete":
      return e === 0 && k > 0 && b === k;
    case "increment":
    case "decrement":
      return e === 20 && k > 0 && b === k + 20;
    case "append":
    case "prepend":
      return e === 0 && k > 0;
    case "stat":
      return e === 0 && b === k;
    case "verbosity":
      return e === 4 && k === 0 && b === 4;
    case "touch":
    case "gat":
      return e === 4 && k > 0 && b === k + 4;
  }
}

/** Parses one connection's binary-protocol stream; see the file comment. */
export class McBinaryParser extends ByteStreamParser<McBinaryFrame> {
  private readonly limits: McBinaryLimits;
  /** The header of the packet whose body is awaited. */
  private header: Header | null = null;

  constructor(limits: Partial<McBinaryLimits> = {}) {
    super();
    this.limits = { ...DEFAULT_MC_BINARY_LIMITS, ...limits };
  }

  protected parse(): McBinaryFrame | null {
    if (this.failed) return null;
    if (this.swallowing()) return null;
    if (this.header === null) {
      if (this.input.length < MC_BINARY_HEADER_BYTES) return null;
      const frame = this.parseHeader();
      if (frame !== null) return frame;
    }
    const h = this.header as Header | null;
    if (h === null || this.input.length < h.bodyBytes) return null;
    this.header = null;
    const frame: McBinaryFrame = { type: "request", request: this.decodeBody(h) };
    this.input.consume(h.bodyBytes);
    return frame;
  }

  /** Reads and checks the header; an error frame, or null with `this.header` set. */
  private parseHeader(): McBinaryFrame | null {
    const v = this.input.view(0, MC_BINARY_HEADER_BYTES);
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    const h: Header = {
      opcode: dv.getUint8(1),
      keyBytes: dv.getUint16(2),
      extrasBytes: dv.getUint8(4),
      bodyBytes: dv.getUint32(8),
      opaque: dv.getUint32(12),
      cas: dv.getBigUint64(16),
    };
    if (dv.getUint8(0) !== MC_BINARY_REQUEST_MAGIC) return this.close(h, null);
    this.input.consume(MC_BINARY_HEADER_BYTES);
    const { unknownCommand, invalidArguments, valueTooLarge } = MC_BINARY_STATUS;
    if (h.keyBytes + h.extrasBytes > h.bodyBytes) return this.close(h, unknownCommand);
    const info = MC_BINARY_OPCODES.get(h.opcode);
    if (info === undefined) return this.skip(h, unknownCommand);
    if (h.keyBytes > this.limits.keyBytesMax || !shapeIsValid(info.op, h)) return this.close(h, invalidArguments);
    const valueBytes = h.bodyBytes - h.keyBytes - h.extrasBytes;
    if (valueBytes > this.limits.valueBytesMax) return this.skip(h, valueTooLarge);
    this.header = h;
    return null;
  }

  private close(h: Header, status: number | null): McBinaryFrame {
    this.failed = true;
    this.input.consume(this.input.length);
    return { type: "error", opcode: h.opcode, opaque: h.opaque, status, close: true };
  }

  /** Answers `status` and skips the body unbuffered (or closes when it is too big to skip). */
  private skip(h: Header, status: number): McBinaryFrame {
    if (h.bodyBytes > this.limits.swallowBytesMax) return this.close(h, status);
    this.swallowRemaining = h.bodyBytes;
    return { type: "error", opcode: h.opcode, opaque: h.opaque, status, close: false };
  }

  private decodeBody(h: Header): McBinaryRequest {
    const info = MC_BINARY_OPCODES.get(h.opcode) as OpcodeInfo;
    const extras = this.input.view(0, h.extrasBytes);
    const dv = new DataView(extras.buffer, extras.byteOffset, extras.byteLength);
    const request: McBinaryRequest = {
      opcode: h.opcode,
      ...info,
      opaque: h.opaque,
      cas: h.cas,
      key: this.input.copy(h.extrasBytes, h.extrasBytes + h.keyBytes),
      value: this.input.copy(h.extrasBytes + h.keyBytes, h.bodyBytes),
      flags: 0,
      exptimeS: 0,
      delta: 0n,
      initial: 0n,
      level: 0,
    };
    switch (info.op) {
      case "set":
      case "add":
      case "replace":
        request.flags = dv.getUint32(0);
        request.exptimeS = dv.getUint32(4);
        break;
      case "increment":
      case "decrement":
        request.delta = dv.getBigUint64(0);
        request.initial = dv.getBigUint64(8);
        request.exptimeS = dv.getUint32(16);
        break;
      case "touch":
      case "gat":
        request.exptimeS = dv.getUint32(0);
        break;
      case "flush":
        if (h.extrasBytes === 4) request.exptimeS = dv.getUint32(0);
        break;
      case "verbosity":
        request.level = dv.getUint32(0);
        break;
      default:
        break;
    }
    return request;
  }
}

/** A response packet's fields; absent parts are empty. */
export interface McBinaryResponse {
  opcode: number;
  status?: number;
  opaque: number;
  cas?: bigint;
  extras?: Uint8Array;
  key?: Uint8Array;
  value?: Uint8Array;
}

/** Writes one response packet. */
export function writeBinaryResponse(out: OutputBuffer, r: McBinaryResponse): void {
  const extras = r.extras?.length ?? 0;
  const key = r.key?.length ?? 0;
  const value = r.value?.length ?? 0;
  out.byte(MC_BINARY_RESPONSE_MAGIC);
  out.byte(r.opcode);
  out.u16(key);
  out.byte(extras);
  out.byte(0); // data type: raw bytes
  out.u16(r.status ?? MC_BINARY_STATUS.ok);
  out.u32(extras + key + value);
  out.u32(r.opaque);
  out.u64(r.cas ?? 0n);
  if (r.extras !== undefined) out.bytes(r.extras);
  if (r.key !== undefined) out.bytes(r.key);
  if (r.value !== undefined) out.bytes(r.value);
}

const encoder = new TextEncoder();

/** An error response with memcached's message for `status` as its body. */
export function writeBinaryError(out: OutputBuffer, opcode: number, opaque: number, status: number): void {
  const text = MC_BINARY_STATUS_TEXT.get(status) ?? "";
  writeBinaryResponse(out, { opcode, opaque, status, value: encoder.encode(text) });
}

/** A get/gat hit: 4 bytes of flags as extras, the key for GetK/GATK, the value. */
export function writeBinaryGetHit(out: OutputBuffer, req: McBinaryRequest, hit: { flags: number; cas: bigint; value: Uint8Array }): void {
  const extras = new Uint8Array(4);
  new DataView(extras.buffer).setUint32(0, hit.flags >>> 0);
  writeBinaryResponse(out, { opcode: req.opcode, opaque: req.opaque, cas: hit.cas, extras, value: hit.value, ...(req.returnsKey ? { key: req.key } : {}) });
}

/** An increment/decrement result: the new value as 8 bytes. */
export function writeBinaryCounter(out: OutputBuffer, req: McBinaryRequest, value: bigint, cas: bigint): void {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setBigUint64(0, value);
  writeBinaryResponse(out, { opcode: req.opcode, opaque: req.opaque, cas, value: body });
}

/** A get/gat miss (non-quiet opcodes only: quiet misses get no response): GetK/GATK echo the key, others say "Not found". */
export function writeBinaryGetMiss(out: OutputBuffer, req: McBinaryRequest): void {
  if (req.returnsKey) writeBinaryResponse(out, { opcode: req.opcode, opaque: req.opaque, status: MC_BINARY_STATUS.keyNotFound, key: req.key });
  else writeBinaryError(out, req.opcode, req.opaque, MC_BINARY_STATUS.keyNotFound);
}

/**
 * Whether a request's outcome gets a response packet (memcached's quiet rules): quiet gets answer
 * hits only (a miss is silent); other quiet commands answer failures only; QuitQ closes silently.
 * Non-quiet requests are always answered.
 */
export function binaryResponseWanted(req: Pick<McBinaryRequest, "op" | "quiet">, status: number): boolean {
  if (!req.quiet) return true;
  if (req.op === "quit") return false;
  if (req.op === "get" || req.op === "gat") return status !== MC_BINARY_STATUS.keyNotFound;
  return status !== MC_BINARY_STATUS.ok;
}
