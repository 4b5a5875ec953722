// The memcached front's TCP listener. A connection speaks the text or the binary protocol, decided
// from its first byte (as memcached does); operations run one after another in arrival order, and a
// batch's replies leave in one socket write. No authentication (memcached has none in text mode):
// bind it to a private address; flush_all is refused unless fronts.memcached.allowFlushAll is set.
//
// Store failures: "retry" → `SERVER_ERROR temporary failure: ...` / binary status 0x86 (nothing was
// applied: resend); "oom" → `SERVER_ERROR out of memory storing object` / 0x82; "unknown" →
// `SERVER_ERROR outcome unknown: ...` / 0x84.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { MC_BINARY_STATUS, McBinaryParser, binaryResponseWanted, writeBinaryCounter, writeBinaryError, writeBinaryGetHit, writeBinaryGetMiss, writeBinaryResponse } from "../codec/memcached-binary.js";
import type { McBinaryRequest } from "../codec/memcached-binary.js";
import { operationOfBinary, operationOfText } from "../codec/memcached-ops.js";
import type { McOperation } from "../codec/memcached-ops.js";
import { McTextParser } from "../codec/memcached-text.js";
import type { McTextCommand } from "../codec/memcached-text.js";
import { McTextWriter, memcachedProtocolOf } from "../codec/memcached-text-writer.js";
import type { McTextReply } from "../codec/memcached-text-writer.js";
import { OutputBuffer } from "../codec/output-buffer.js";
import { FrontStoreError, type FrontCommandObserver } from "./front-store.js";
import type { McExecutor, McResult } from "./mc-executor.js";
import { TcpFront, endAfterReplies, resumeWhenDrained, writeReplies } from "./tcp-front.js";

/** The memcached version reported (clients only print it). */
export const MC_SERVER_VERSION = "1.6.21";
const FLUSH_BYTES = 64 * 1024;
/** Connections per front at most. */
export const MC_CONNECTIONS_MAX = 10_000;

/** Options of the memcached front. */
export interface McFrontOptions {
  readonly host: string;
  readonly port: number;
  readonly executor: McExecutor;
  readonly logger: Logger;
  /** Told of every data command and its outcome (for metrics). */
  readonly onCommand?: FrontCommandObserver;
}

/** A running memcached listener. */
export class McFront extends TcpFront {
  readonly startedMs = Date.now();

  constructor(private readonly o: McFrontOptions) {
    super({ host: o.host, port: o.port, logger: o.logger, protocol: "memcached", listenKey: "fronts.memcached.listen", connectionsMax: MC_CONNECTIONS_MAX, refusal: "SERVER_ERROR Too many open connections\r\n" });
  }

  protected serve(socket: Socket): void {
    new McConnection(socket, this.o, this).start();
  }
}

type DataOp = Exclude<McOperation, { op: "version" | "stats" | "verbosity" | "noop" | "quit" }>;

class McConnection {
  private readonly out = new OutputBuffer();
  private readonly text = new McTextWriter(this.out);
  private parser: McTextParser | McBinaryParser | null = null;
  private busy = false;
  private closing = false;

  constructor(private readonly socket: Socket, private readonly o: McFrontOptions, private readonly front: McFront) {}

  start(): void {
    this.socket.on("data", (chunk: Buffer) => {
      if (this.parser === null) this.parser = memcachedProtocolOf(chunk[0] as number) === "binary" ? new McBinaryParser() : new McTextParser();
      this.parser.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    this.socket.pause();
    try {
      while (!this.closing) {
        const parser = this.parser as McTextParser | McBinaryParser;
        const more = parser instanceof McTextParser ? await this.textStep(parser) : await this.binaryStep(parser);
        if (!more) break;
        if (this.out.length >= FLUSH_BYTES) this.flush();
      }
      if (!this.closing) this.flush();
    } catch (err) {
      this.o.logger.error({ err }, "memcached connection failed on an unexpected error: closing it");
      this.socket.destroy();
    } finally {
      this.busy = false;
      // A client that sends but does not read: stop reading until its replies have drained.
      if (!this.closing) resumeWhenDrained(this.socket);
    }
  }

  // ---------------------------------------------------------------------------------------- text

  private async textStep(parser: McTextParser): Promise<boolean> {
    const frame = parser.next();
    if (frame === null) return false;
    if (frame.type === "error") {
      if (frame.message !== null && !frame.noreply) this.out.utf8(`${frame.message}\r\n`);
      if (frame.close || frame.message === null) this.closeAfterFlush();
      return !this.closing;
    }
    await this.textCommand(frame.command);
    return !this.closing;
  }

  private async textCommand(c: McTextCommand): Promise<void> {
    const op = operationOfText(c);
    const noreply = "noreply" in c && c.noreply;
    const reply = (line: McTextReply) => {
      if (!noreply) this.text.line(line);
    };
    switch (op.op) {
      case "version":
        return this.text.version(MC_SERVER_VERSION);
      case "stats":
        // Only the general group is kept; memcached answers ERROR for a group it does not know.
        if (op.group !== null) return this.text.line("ERROR");
        this.stats((name, value) => this.text.stat(name, value));
        return this.text.end();
      case "verbosity":
        return reply("OK");
      case "quit":
        return this.closeAfterFlush();
      case "noop":
        return;
      default:
        break;
    }
    let r: McResult;
    try {
      r = await this.runData(op as DataOp);
    } catch (err) {
      if (!(err instanceof FrontStoreError)) throw err;
      return reply(textErrorOf(err));
    }
    switch (r.kind) {
      case "hits":
        for (const h of r.hits) this.text.value(h.key, h.flags, h.value, c.op === "get" && c.withCas ? h.cas : null);
        return this.text.end();
      case "status":
        return reply(TEXT_STATUS[r.status]);
      case "counter":
        if (!noreply) this.text.counter(r.value);
        return;
      case "non_numeric":
        return reply("CLIENT_ERROR cannot increment or decrement non-numeric value");
      case "flush_refused":
        return reply(`CLIENT_ERROR ${r.message}`);
    }
  }

  // -------------------------------------------------------------------------------------- binary

  private async binaryStep(parser: McBinaryParser): Promise<boolean> {
    const frame = parser.next();
    if (frame === null) return false;
    if (frame.type === "error") {
      if (frame.status === null) {
        this.closeAfterFlush();
        return false;
      }
      writeBinaryError(this.out, frame.opcode, frame.opaque, frame.status);
      if (frame.close) this.closeAfterFlush();
      return !this.closing;
    }
    await this.binaryRequest(frame.request);
    return !this.closing;
  }

  private async binaryRequest(req: McBinaryRequest): Promise<void> {
    const op = operationOfBinary(req);
    const ok = (cas = 0n) => {
      if (binaryResponseWanted(req, MC_BINARY_STATUS.ok)) writeBinaryResponse(this.out, { opcode: req.opcode, opaque: req.opaque, cas });
    };
    const fail = (status: number) => {
      if (binaryResponseWanted(req, status)) writeBinaryError(this.out, req.opcode, req.opaque, status);
    };
    switch (op.op) {
      case "version":
        return writeBinaryResponse(this.out, { opcode: req.opcode, opaque: req.opaque, value: new TextEncoder().encode(MC_SERVER_VERSION) });
      case "stats": {
        if (op.group !== null) return fail(MC_BINARY_STATUS.keyNotFound);
        const enc = new TextEncoder();
        this.stats((name, value) => writeBinaryResponse(this.out, { opcode: req.opcode, opaque: req.opaque, key: enc.encode(name), value: enc.encode(String(value)) }));
        return writeBinaryResponse(this.out, { opcode: req.opcode, opaque: req.opaque });
      }
      case "verbosity":
      case "noop":
        return ok();
      case "quit":
        ok();
        return this.closeAfterFlush();
      default:
        break;
    }
    let r: McResult;
    try {
      r = await this.runData(op as DataOp);
    } catch (err) {
      if (!(err instanceof FrontStoreError)) throw err;
      return fail(BINARY_ERROR[err.kind]);
    }
    switch (r.kind) {
      case "hits": {
        const hit = r.hits[0];
        if (hit !== undefined) writeBinaryGetHit(this.out, req, hit);
        else if (binaryResponseWanted(req, MC_BINARY_STATUS.keyNotFound)) writeBinaryGetMiss(this.out, req);
        return;
      }
      case "status": {
        if (r.status === "stored" || r.status === "deleted" || r.status === "touched" || r.status === "ok") return ok(r.cas ?? 0n);
        if (r.status === "exists") return fail(MC_BINARY_STATUS.keyExists);
        if (r.status === "not_found") return fail(MC_BINARY_STATUS.keyNotFound);
        // not_stored: memcached's binary add answers "exists", replace "not found", append/prepend "not stored".
        return fail(req.op === "add" ? MC_BINARY_STATUS.keyExists : req.op === "replace" ? MC_BINARY_STATUS.keyNotFound : MC_BINARY_STATUS.notStored);
      }
      case "counter":
        if (binaryResponseWanted(req, MC_BINARY_STATUS.ok)) writeBinaryCounter(this.out, req, r.value, r.cas);
        return;
      case "non_numeric":
        return fail(MC_BINARY_STATUS.nonNumeric);
      case "flush_refused":
        return fail(MC_BINARY_STATUS.notSupported);
    }
  }

  // -------------------------------------------------------------------------------------- shared

  /** Runs a data operation, telling the observer its outcome (the result kind or status, or the failure kind). */
  private async runData(op: DataOp): Promise<McResult> {
    const command = op.op !== "store" ? op.op : op.casUnique !== null ? "cas" : op.mode;
    try {
      const r = await this.o.executor.run(op);
      this.o.onCommand?.("memcached", command, r.kind === "status" ? r.status : r.kind === "hits" ? (r.hits.length > 0 ? "hit" : "miss") : r.kind);
      return r;
    } catch (err) {
      this.o.onCommand?.("memcached", command, err instanceof FrontStoreError ? err.kind : "bug");
      throw err;
    }
  }

  private stats(stat: (name: string, value: string | number) => void): void {
    const usage = this.o.executor.usage();
    stat("pid", process.pid);
    stat("uptime", Math.floor((Date.now() - this.front.startedMs) / 1000));
    stat("time", Math.floor(Date.now() / 1000));
    stat("version", MC_SERVER_VERSION);
    stat("curr_connections", this.front.connections);
    stat("curr_items", usage.keys);
    stat("bytes", usage.bytes);
  }

  private flush(): void {
    writeReplies(this.socket, this.out.take());
  }

  private closeAfterFlush(): void {
    this.closing = true;
    endAfterReplies(this.socket, this.out.take());
  }
}

const TEXT_STATUS = {
  stored: "STORED",
  not_stored: "NOT_STORED",
  exists: "EXISTS",
  not_found: "NOT_FOUND",
  deleted: "DELETED",
  touched: "TOUCHED",
  ok: "OK",
} as const satisfies Record<string, McTextReply>;

const BINARY_ERROR = {
  retry: MC_BINARY_STATUS.temporaryFailure,
  oom: MC_BINARY_STATUS.outOfMemory,
  unknown: MC_BINARY_STATUS.internalError,
  invalid: MC_BINARY_STATUS.invalidArguments,
} as const;

/** The text-protocol line of a store failure. */
export function textErrorOf(err: FrontStoreError): McTextReply {
  switch (err.kind) {
    case "retry":
      return `SERVER_ERROR temporary failure: ${err.message}`;
    case "oom":
      return "SERVER_ERROR out of memory storing object";
    case "unknown":
      return `SERVER_ERROR outcome unknown: ${err.message}`;
    case "invalid":
      return `SERVER_ERROR ${err.message.replace(/^ERR /, "")}`;
  }
}
