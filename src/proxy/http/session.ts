// One client connection: reads request heads, hands each request to an Exchange, keeps the
// connection alive between requests, serves pipelined requests in order, and enforces the header
// (slowloris) and idle timeouts. Listeners are attached once; per-request work allocates little.
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import type net from "node:net";
import type { FrontendContext } from "./context.js";
import { CLOSE_LINGER_MS, DRAIN_IDLE_LINGER_MS, READ_AHEAD_BYTES_MAX } from "./context.js";
import { Exchange } from "./exchange.js";
import { BodyFramer } from "./body.js";
import { FAILED, HeadParser, NEED_MORE } from "./parser.js";
import { localResponse } from "./responses.js";
import { forwardedPrefix } from "./rewrite.js";
import type { ForwardedFacts } from "./rewrite.js";
import { BatchedWriter } from "../write-batch.js";

/** Bound on trailer bytes of a chunked body. */
const MAX_TRAILER_BYTES = 16 * 1024;
/** Response heads may be this large even when the frontend's request head bound is smaller. */
const RESPONSE_HEAD_BYTES_MIN = 16 * 1024;

const DEADLINE_NONE = 0;
const DEADLINE_HEADER = 1;
const DEADLINE_IDLE = 2;
const DEADLINE_LINGER = 3;

const S_IDLE = 0;
const S_EXCHANGE = 1;
const S_TUNNEL = 2;
const S_CLOSING = 3;
const S_CLOSED = 4;

/** Strips the IPv4-mapped prefix so X-Forwarded-For shows "10.0.0.1", not "::ffff:10.0.0.1". */
function plainIp(address: string | undefined): string {
  if (address === undefined) return "unknown";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** A client connection to an HTTP frontend. */
export class ClientSession {
  readonly socket: net.Socket;
  readonly ctx: FrontendContext;
  /**
   * Reads land in a buffer shared by many connections (see accept.ts): whatever must outlive the
   * read callback (pipelined bytes, body parts, tunnel bytes) is copied.
   */
  readonly readsReuseBuffer: boolean;
  readonly clientIp: string;
  readonly parser: HeadParser;
  /** Reused by every exchange of this connection for the upstream response head. */
  readonly responseParser: HeadParser;
  /** Reused by every exchange of this connection: request and response body framing. */
  readonly requestBody = new BodyFramer(MAX_TRAILER_BYTES);
  readonly responseBody = new BodyFramer(MAX_TRAILER_BYTES);
  /** What the balancer sees of each request; one object per connection, its hashKey set per pick. */
  readonly pickRequest: { readonly clientIp: string; hashKey: string | undefined };
  /** X-Forwarded-* facts of this connection (for requests that are not upgrades). */
  readonly forwarded: ForwardedFacts;
  exchange: Exchange | null = null;
  /** Every write to the client goes through here (batched or at once, always in order). */
  readonly out: BatchedWriter;
  private state = S_IDLE;
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  private deadlineKind = DEADLINE_NONE;
  private deadlineMs = 0;
  private processing = false;
  private clientEnded = false;
  private paused = false;
  /** When the connection last became idle (accept time before the first request). */
  private idleSinceMs: number;
  private readonly onClosed: (session: ClientSession) => void;

  constructor(socket: net.Socket, ctx: FrontendContext, onClosed: (session: ClientSession) => void, readsReuseBuffer = false) {
    this.socket = socket;
    this.ctx = ctx;
    this.readsReuseBuffer = readsReuseBuffer;
    this.onClosed = onClosed;
    this.clientIp = plainIp(socket.remoteAddress);
    this.parser = new HeadParser(true, ctx.maxHeaderBytes);
    this.responseParser = new HeadParser(false, Math.max(ctx.maxHeaderBytes, RESPONSE_HEAD_BYTES_MIN));
    this.pickRequest = { clientIp: this.clientIp, hashKey: undefined };
    this.forwarded = { clientIp: this.clientIp, proto: ctx.proto, prefix: forwardedPrefix(this.clientIp, ctx.proto), websocket: false };
    this.out = new BatchedWriter(socket, () => this.exchange?.onClientFull());
    socket.setNoDelay(true);
    this.idleSinceMs = performance.now();
    this.setDeadline(DEADLINE_HEADER, this.idleSinceMs + ctx.timeouts.headerMs);
    if (!readsReuseBuffer) socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.onEnd());
    socket.on("drain", () => {
      if (this.exchange !== null) this.exchange.onClientDrain();
      else if (this.pending !== null) this.processInput();
    });
    socket.on("error", (err: Error) => {
      ctx.logger.debug({ err, frontend: ctx.name }, "client connection error");
    });
    socket.on("close", () => this.onClose());
  }

  /** True when no request is in progress and no partial head is buffered. */
  isIdle(): boolean {
    return this.state === S_IDLE && this.pending === null && !this.parser.hasPartialHead();
  }

  private setDeadline(kind: number, atMs: number): void {
    this.deadlineKind = kind;
    this.deadlineMs = atMs;
  }

  /** Called by the frontend's sweeper. */
  onTick(nowMs: number): void {
    if (this.exchange !== null) this.exchange.onTick(nowMs);
    if (this.deadlineKind === DEADLINE_NONE || nowMs < this.deadlineMs) return;
    const kind = this.deadlineKind;
    this.deadlineKind = DEADLINE_NONE;
    if (kind === DEADLINE_HEADER && this.parser.hasPartialHead()) {
      this.respondAndClose(408, "Request head not received in time");
      this.ctx.metrics.requestFinished(this.ctx.name, null, 408, this.ctx.timeouts.headerMs);
    } else if (kind === DEADLINE_LINGER) this.socket.destroy();
    else this.close();
  }

  /** Bytes from the client ('data' event, or the shared read buffer's callback). */
  onData(chunk: Buffer): void {
    if (this.state === S_TUNNEL) {
      this.exchange!.tunnelFromClient(this.readsReuseBuffer ? Buffer.from(chunk) : chunk);
      return;
    }
    if (this.state >= S_CLOSING) return;
    if (this.state === S_EXCHANGE) {
      const ex = this.exchange!;
      if (!ex.requestDone) {
        const end = ex.onClientBody(chunk, 0);
        if (end < 0 || end >= chunk.length) return;
        this.stash(chunk, end, false);
      } else this.stash(chunk, 0, false);
      return;
    }
    if (this.pending === null) this.consume(chunk, 0, false);
    else {
      this.stash(chunk, 0, false);
      this.processInput();
    }
  }

  /**
   * Keeps unprocessed input (pipelined requests) until the current exchange ends. `owned`: nothing
   * else will overwrite `chunk` (otherwise, with a shared read buffer, it is copied).
   */
  private stash(chunk: Buffer, offset: number, owned: boolean): void {
    if (this.pending === null) {
      this.pending = owned || !this.readsReuseBuffer ? chunk : Buffer.from(chunk.subarray(offset));
      this.pendingOffset = this.pending === chunk ? offset : 0;
    } else {
      this.pending = Buffer.concat([this.pending.subarray(this.pendingOffset), chunk.subarray(offset)]);
      this.pendingOffset = 0;
    }
    if (this.pending.length - this.pendingOffset > READ_AHEAD_BYTES_MAX) this.pauseReading();
  }

  /** Pauses reading from the client (backpressure). */
  pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Resumes reading from the client. */
  resumeReading(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Parses and dispatches stashed input while no exchange is running. */
  private processInput(): void {
    if (this.pending === null) return;
    const buf = this.pending;
    const off = this.pendingOffset;
    this.pending = null;
    this.consume(buf, off, true);
  }

  /**
   * Parses and dispatches requests from `buf[off..]` while no exchange is running; what is left
   * is stashed. `owned` as in stash().
   */
  private consume(buf: Buffer, off: number, owned: boolean): void {
    if (this.processing) {
      this.stash(buf, off, owned);
      return;
    }
    this.processing = true;
    try {
      // A client that does not read its responses gets no more of them (and, through the
      // read-ahead bound, is not read from either) until its socket drains.
      while (this.state === S_IDLE && off >= 0 && off < buf.length) {
        if (this.out.needsDrain) {
          this.stash(buf, off, owned);
          break;
        }
        const now = performance.now();
        if (this.deadlineKind !== DEADLINE_HEADER) this.setDeadline(DEADLINE_HEADER, now + this.ctx.timeouts.headerMs);
        const headEnd = this.parser.feed(buf, off);
        if (headEnd === NEED_MORE) break;
        if (headEnd === FAILED) {
          this.respondAndClose(this.parser.errorStatus, `Bad request: ${this.parser.errorReason}`);
          this.ctx.metrics.requestFinished(this.ctx.name, null, this.parser.errorStatus, 0);
          break;
        }
        this.deadlineKind = DEADLINE_NONE;
        this.state = S_EXCHANGE;
        const ex = new Exchange(this, now);
        this.exchange = ex;
        off = ex.start(buf, headEnd);
        // Still in the exchange: keep the rest (pipelined requests) for when it ends.
        if (this.state === S_EXCHANGE && off >= 0 && off < buf.length) this.stash(buf, off, owned);
      }
    } finally {
      this.processing = false;
    }
  }

  /** Called by the exchange when its response is complete (or it answered locally). */
  exchangeDone(keepAlive: boolean, nowMs: number): void {
    this.exchange = null;
    if (this.state !== S_EXCHANGE) return;
    if (!keepAlive || this.clientEnded) {
      this.close();
      return;
    }
    this.state = S_IDLE;
    this.parser.reset();
    this.idleSinceMs = nowMs;
    // A response that promised keep-alive just before a drain began: the client may be sending its
    // next request right now, so it gets the drain linger instead of an immediate close.
    const idleMs = this.ctx.draining ? DRAIN_IDLE_LINGER_MS : this.ctx.timeouts.idleMs;
    this.setDeadline(DEADLINE_IDLE, this.idleSinceMs + idleMs);
    this.resumeReading();
    if (this.pending !== null) this.processInput();
  }

  /**
   * The frontend is draining: an idle connection closes now, or DRAIN_IDLE_LINGER_MS after it
   * became idle, so a request the client sent just before seeing the close is still served.
   * Busy connections close after their current response (which says Connection: close).
   */
  drain(nowMs: number): void {
    if (!this.isIdle()) return;
    if (nowMs - this.idleSinceMs >= DRAIN_IDLE_LINGER_MS) this.close();
    else this.setDeadline(DEADLINE_IDLE, this.idleSinceMs + DRAIN_IDLE_LINGER_MS);
  }

  /** Switches to raw byte forwarding after a 101 response; returns the bytes read ahead. */
  becomeTunnel(): Buffer | null {
    this.state = S_TUNNEL;
    this.deadlineKind = DEADLINE_NONE;
    const rest = this.pending === null ? null : this.pending.subarray(this.pendingOffset);
    this.pending = null;
    this.resumeReading();
    return rest;
  }

  /** Writes a local response and closes the connection after it. */
  respondAndClose(status: number, body: string): void {
    if (this.state >= S_CLOSING) return;
    this.out.writeNow(localResponse(status, body, true));
    this.close();
  }

  /** Half-closes after pending writes; the client gets a short linger to close its side. */
  close(): void {
    if (this.state >= S_CLOSING) return;
    this.state = S_CLOSING;
    this.pending = null;
    const ex = this.exchange;
    this.exchange = null;
    ex?.abort();
    this.resumeReading();
    if (this.socket.destroyed) return;
    this.out.end();
    this.setDeadline(DEADLINE_LINGER, performance.now() + CLOSE_LINGER_MS);
  }

  private onEnd(): void {
    this.clientEnded = true;
    if (this.state === S_TUNNEL) {
      this.exchange?.tunnelClientEnded();
      return;
    }
    if (this.state === S_CLOSING) {
      this.socket.destroy();
      return;
    }
    if (this.state === S_EXCHANGE && this.exchange !== null && !this.exchange.requestDone) {
      // The client stopped in the middle of its request body: nothing sensible can follow.
      this.socket.destroy();
      return;
    }
    if (this.state === S_IDLE) this.close();
  }

  private onClose(): void {
    if (this.state === S_CLOSED) return;
    this.state = S_CLOSED;
    this.deadlineKind = DEADLINE_NONE;
    const ex = this.exchange;
    this.exchange = null;
    ex?.abort();
    this.onClosed(this);
  }
}
