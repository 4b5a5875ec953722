// One request forwarded to a backend and its response forwarded back: routing, backend choice,
// connect (with retry on another backend), request body streaming with backpressure, response
// head rewrite, response body streaming, retries of idempotent requests, WebSocket tunnelling.
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import type { BackendEndpoint, BackendPool, FinishAttempt, AttemptOutcome } from "../types.js";
import {
  BODY_FAILED, BODY_MORE, BodyFramer, FRAMING_CHUNKED, FRAMING_CLOSE, FRAMING_LENGTH, FRAMING_NONE,
} from "./body.js";
import { DEFAULT_MAX_ATTEMPTS, READ_AHEAD_BYTES_MAX, RETRY_BODY_BYTES_MAX } from "./context.js";
import type { FrontendContext } from "./context.js";
import {
  FAILED, isIdempotentMethod, METHOD_CONNECT, METHOD_GET, METHOD_HEAD, NEED_MORE,
} from "./parser.js";
import type { HeadParser } from "./parser.js";
import { localResponse } from "./responses.js";
import { buildRequestHead, buildResponseHead } from "./rewrite.js";
import { hostWithoutPort, targetAuthority, targetPath } from "./router.js";
import type { ClientSession } from "./session.js";
import type { UpstreamConnection, UpstreamOwner } from "./upstream.js";
import { BATCH_BYTES_MAX } from "../write-batch.js";

const P_ROUTING = 0;
const P_CONNECTING = 1;
const P_WAITING = 2;
const P_STREAMING = 3;
const P_TUNNEL = 4;
const P_DONE = 5;

const DL_NONE = 0;
const DL_CONNECT = 1;
const DL_RESPONSE = 2;


/** One request/response through the proxy. */
export class Exchange implements UpstreamOwner {
  private readonly session: ClientSession;
  private readonly ctx: FrontendContext;
  private readonly startMs: number;
  private method = 0;
  private clientMinor = 1;
  private clientKeepAlive = true;
  private websocket = false;
  private outHead: Buffer | null = null;
  private readonly requestBody: BodyFramer;
  /** Request body done (fully read from the client). */
  requestDone = false;
  /** Body chunks read but not yet written to the current upstream connection. */
  private unsent: Buffer[] | null = null;
  private unsentBytes = 0;
  /** Every body chunk so far while the body fits the retry bound; null once it does not. */
  private retained: Buffer[] | null = null;
  private retainedOverflow = false;
  private retainedBytes = 0;

  private phase = P_ROUTING;
  private pool: BackendPool | null = null;
  private hashKey: string | undefined;
  private exclude: Set<string> | null = null;
  private attempts = 0;
  /** The pool's `retry.maxAttempts` (first try plus retries), set once the pool is known. */
  private maxAttempts = DEFAULT_MAX_ATTEMPTS;
  private backend: BackendEndpoint | null = null;
  private conn: UpstreamConnection | null = null;
  private finishAttempt: FinishAttempt | null = null;
  private attemptStartMs = 0;
  private timedOut = false;
  private deadlineKind = DL_NONE;
  private deadlineMs = 0;

  private readonly response: HeadParser;
  private readonly responseBody: BodyFramer;
  private responseStarted = false;
  private upstreamReusable = true;
  private keepClient = true;
  private status = 0;
  private upstreamPaused = false;
  /** Set when a write left bytes of the current upstream read buffer queued (see onUpstreamData). */
  private chunkHeld = false;

  constructor(session: ClientSession, startMs: number) {
    this.session = session;
    this.ctx = session.ctx;
    this.response = session.responseParser;
    this.requestBody = session.requestBody;
    this.responseBody = session.responseBody;
    this.startMs = startMs;
  }

  /**
   * Starts the exchange from a parsed head; `buf[bodyStart..]` holds the bytes read after it.
   * Returns the offset in `buf` where the next request starts, or -1 when all bytes were used.
   */
  start(buf: Buffer, bodyStart: number): number {
    const p = this.session.parser;
    this.method = p.method;
    this.clientMinor = p.versionMinor;
    this.clientKeepAlive = p.versionMinor === 1 ? !p.connClose : p.connKeepAlive && !p.connClose;
    if (p.method === METHOD_CONNECT) {
      this.finishLocal(405, "CONNECT is not supported by this proxy", false);
      return -1;
    }
    this.websocket = p.method === METHOD_GET && p.connUpgrade && p.upgradeWebsocket;
    this.requestBody.start(p.chunked ? FRAMING_CHUNKED : p.contentLength > 0 ? FRAMING_LENGTH : FRAMING_NONE, p.contentLength);
    let rest = -1;
    if (!this.requestBody.done) {
      const end = this.requestBody.advance(buf, bodyStart);
      if (end === BODY_FAILED) {
        this.failRequestBody();
        return -1;
      }
      const bodyEnd = end === BODY_MORE ? buf.length : end;
      if (bodyEnd > bodyStart) this.keepBody(buf.subarray(bodyStart, bodyEnd));
      rest = end === BODY_MORE ? -1 : end;
    } else rest = bodyStart < buf.length ? bodyStart : -1;
    this.requestDone = this.requestBody.done;

    const router = this.ctx.router;
    let poolName = router.catchAllPool;
    if (poolName === undefined) {
      const target = p.target();
      const host = hostWithoutPort(targetAuthority(target) ?? p.host());
      const path = targetPath(target);
      poolName = router.match(host, path);
      if (poolName === undefined) {
        this.finishLocal(404, `No route for host "${host}" and path "${path}" on frontend ${this.ctx.name}`, true);
        return rest;
      }
    }
    const pool = this.ctx.pools(poolName);
    if (pool === undefined) {
      this.finishLocal(503, `Frontend ${this.ctx.name} routes to pool ${poolName}, which is not configured`, true);
      return rest;
    }
    this.pool = pool;
    this.maxAttempts = pool.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const hashOn = pool.hashOn;
    if (hashOn.kind === "header") this.hashKey = p.findField(hashOn.name.toLowerCase());
    else if (hashOn.kind === "cookie") this.hashKey = cookieValue(p.findField("cookie"), hashOn.name);
    const facts = this.websocket ? { ...this.session.forwarded, websocket: true } : this.session.forwarded;
    this.outHead = buildRequestHead(p, facts, this.ctx.dropScratch);
    this.nextAttempt();
    return rest;
  }

  /** Keeps a body chunk for the current send and, within the bound, for a retry. */
  private keepBody(part: Buffer): void {
    // Parts are kept past the read callback (retry copy, queued writes): never a shared buffer.
    if (this.session.readsReuseBuffer) part = Buffer.from(part);
    if (!this.retainedOverflow) {
      this.retainedBytes += part.length;
      if (this.retainedBytes <= RETRY_BODY_BYTES_MAX) (this.retained ??= []).push(part);
      else {
        this.retained = null;
        this.retainedOverflow = true;
      }
    }
    if (this.phase === P_WAITING || this.phase === P_STREAMING) {
      // The part is ours (copied above when reads share a buffer): it may wait in the queue.
      if (!this.conn!.out.write(part)) this.session.pauseReading();
      return;
    }
    (this.unsent ??= []).push(part);
    this.unsentBytes += part.length;
    if (this.unsentBytes > READ_AHEAD_BYTES_MAX) this.session.pauseReading();
  }

  /** More request body bytes from the client; returns where the body ended in `chunk` or -1. */
  onClientBody(chunk: Buffer, start: number): number {
    const end = this.requestBody.advance(chunk, start);
    if (end === BODY_FAILED) {
      this.failRequestBody();
      return -1;
    }
    const bodyEnd = end === BODY_MORE ? chunk.length : end;
    if (bodyEnd > start) this.keepBody(chunk.subarray(start, bodyEnd));
    if (this.requestBody.done) this.requestDone = true;
    return end === BODY_MORE ? -1 : end;
  }

  private failRequestBody(): void {
    // The bytes after the framing error are never forwarded; the upstream sees a cut request.
    const reason = this.requestBody.error;
    this.dropUpstream();
    if (this.finishAttempt !== null) this.endAttempt("success");
    this.phase = P_DONE;
    this.ctx.metrics.requestFinished(this.ctx.name, this.backend?.id ?? null, 400, performance.now() - this.startMs);
    if (this.responseStarted) this.session.socket.destroy();
    else this.session.respondAndClose(400, `Bad request: ${reason}`);
  }

  private nextAttempt(): void {
    const pool = this.pool!;
    const request = this.session.pickRequest;
    request.hashKey = this.hashKey;
    const backend = pool.pick(request, this.exclude ?? undefined);
    if (backend === null) {
      const what = this.attempts === 0 ? "no healthy backend" : `no other healthy backend after ${this.attempts} failed attempts`;
      this.finishLocal(503, `Frontend ${this.ctx.name}: ${what} in pool ${pool.name}`, this.requestDone);
      return;
    }
    this.attempts++;
    this.backend = backend;
    this.timedOut = false;
    this.attemptStartMs = this.attempts === 1 ? this.startMs : performance.now();
    this.finishAttempt = pool.begin(backend.id, this.attemptStartMs);
    this.phase = P_CONNECTING;
    const conn = this.ctx.upstreams.acquire(backend, this);
    this.conn = conn;
    if (conn.connected) this.sendRequest(this.attemptStartMs);
    else {
      this.deadlineKind = DL_CONNECT;
      this.deadlineMs = this.attemptStartMs + this.ctx.timeouts.connectMs;
    }
  }

  private sendRequest(nowMs: number): void {
    const out = this.conn!.out;
    this.phase = P_WAITING;
    this.deadlineKind = DL_RESPONSE;
    this.deadlineMs = nowMs + this.ctx.timeouts.responseMs;
    const unsent = this.unsent;
    if (unsent === null || unsent.length === 0) out.queue(this.outHead!);
    else if (this.unsentBytes <= BATCH_BYTES_MAX) {
      out.queue(this.outHead!);
      for (const part of unsent) out.queue(part);
    } else {
      out.writeNow(this.outHead!);
      for (const part of unsent) out.writeNow(part);
    }
    this.unsent = null;
    this.unsentBytes = 0;
    if (!this.requestDone) this.session.resumeReading();
  }

  onUpstreamConnect(conn: UpstreamConnection): void {
    if (conn !== this.conn || this.phase !== P_CONNECTING) return;
    this.sendRequest(performance.now());
  }

  onUpstreamData(conn: UpstreamConnection, chunk: Buffer): boolean {
    if (conn !== this.conn) return false;
    this.chunkHeld = false;
    if (this.phase === P_TUNNEL) {
      if (!this.writeDirect(chunk)) this.pauseUpstream();
    } else if (this.phase === P_STREAMING) this.forwardBody(chunk, 0);
    else if (this.phase === P_WAITING) this.onResponseHeadBytes(chunk, 0);
    return this.chunkHeld;
  }

  private onResponseHeadBytes(chunk: Buffer, start: number): void {
    const r = this.response;
    for (;;) {
      const headEnd = r.feed(chunk, start);
      if (headEnd === NEED_MORE) return;
      if (headEnd === FAILED) {
        this.upstreamFailed("http_5xx", `Invalid response from backend ${this.backend!.id}: ${r.errorReason}`);
        return;
      }
      const status = r.statusCode;
      if (status >= 200 || status === 101) {
        this.onResponseHead(chunk, headEnd);
        return;
      }
      // 1xx interim response (100 Continue, 103 Early Hints): pass it on, wait for the final one.
      // It has no body, so framing fields in it (RFC 9110 §8.6 forbids them) can only mislead a client.
      if (r.contentLength !== -1 || r.chunked) {
        this.upstreamFailed("http_5xx", `Invalid response from backend ${this.backend!.id}: framing field in a ${status} response`);
        return;
      }
      this.writeChunk(this.rawHead(chunk, headEnd));
      this.responseStarted = true;
      r.reset();
      start = headEnd;
      if (start >= chunk.length) return;
    }
  }

  private onResponseHead(chunk: Buffer, headEnd: number): void {
    const r = this.response;
    const status = r.statusCode;
    this.status = status;
    this.deadlineKind = DL_NONE;
    if (status === 101) {
      if (!this.websocket) {
        this.upstreamFailed("http_5xx", `Backend ${this.backend!.id} switched protocols without an upgrade request`);
        return;
      }
      this.startTunnel(chunk, headEnd);
      return;
    }
    if ((status === 502 || status === 503) && this.canRetry()) {
      this.endAttempt("http_5xx");
      this.dropUpstream();
      this.retry();
      return;
    }
    let framing: number;
    if (this.method === METHOD_HEAD || status === 204 || status === 304) framing = FRAMING_NONE;
    else if (r.chunked) framing = FRAMING_CHUNKED;
    else if (r.contentLength >= 0) framing = r.contentLength === 0 ? FRAMING_NONE : FRAMING_LENGTH;
    else framing = FRAMING_CLOSE;
    if (r.chunked && this.clientMinor === 0) {
      this.upstreamFailed("http_5xx", `Backend ${this.backend!.id} sent a chunked response to an HTTP/1.0 request`);
      return;
    }
    this.upstreamReusable = framing !== FRAMING_CLOSE && (r.versionMinor === 1 ? !r.connClose : r.connKeepAlive && !r.connClose);
    this.keepClient = this.clientKeepAlive && framing !== FRAMING_CLOSE && !this.ctx.draining && this.requestDone;
    const newHead = buildResponseHead(r, this.keepClient, this.clientMinor, this.ctx.dropScratch);
    this.responseBody.start(framing, r.contentLength);
    const end = this.responseBody.advance(chunk, headEnd);
    if (end === BODY_FAILED) {
      this.upstreamFailed("http_5xx", `Invalid chunked body from backend ${this.backend!.id}: ${this.responseBody.error}`);
      return;
    }
    const bodyEnd = end === BODY_MORE ? chunk.length : end;
    if (bodyEnd < chunk.length) this.upstreamReusable = false; // Bytes beyond the response: framing doubt.
    this.responseStarted = true;
    this.phase = P_STREAMING;
    let ok: boolean;
    if (newHead === null) {
      if (r.head !== chunk) {
        // The head spanned several reads: it sits in the parser's buffer (rawHead copies it), the
        // body in this chunk.
        this.writeOwn(this.rawHead(chunk, headEnd));
        ok = bodyEnd === headEnd || this.writeChunk(chunk.subarray(headEnd, bodyEnd));
      } else ok = this.writeChunk(r.headStart === 0 && bodyEnd === chunk.length ? chunk : chunk.subarray(r.headStart, bodyEnd));
    } else if (bodyEnd - headEnd <= BATCH_BYTES_MAX) {
      ok = this.writeOwn(bodyEnd === headEnd ? newHead : Buffer.concat([newHead, chunk.subarray(headEnd, bodyEnd)]));
    } else {
      this.writeOwn(newHead);
      ok = this.writeDirect(chunk.subarray(headEnd, bodyEnd));
    }
    if (this.responseBody.done) this.complete();
    else if (!ok) this.pauseUpstream();
  }

  /**
   * The unchanged response head. When it spanned several reads it lives in the parser's reusable
   * buffer, so it is copied: a queued write must not see that buffer change.
   */
  private rawHead(chunk: Buffer, headEnd: number): Buffer {
    const r = this.response;
    if (r.head === chunk) return chunk.subarray(r.headStart, headEnd);
    return Buffer.from(r.head.subarray(r.headStart, r.headEnd));
  }

  private forwardBody(chunk: Buffer, start: number): void {
    const end = this.responseBody.advance(chunk, start);
    if (end === BODY_FAILED) {
      this.upstreamFailed("http_5xx", `Invalid chunked body from backend ${this.backend!.id}: ${this.responseBody.error}`);
      return;
    }
    const bodyEnd = end === BODY_MORE ? chunk.length : end;
    if (bodyEnd < chunk.length) this.upstreamReusable = false;
    const ok = bodyEnd === start || this.writeChunk(bodyEnd === chunk.length && start === 0 ? chunk : chunk.subarray(start, bodyEnd));
    if (this.responseBody.done) this.complete();
    else if (!ok) this.pauseUpstream();
  }

  /**
   * Writes bytes that point into the upstream connection's read buffer: small ones are copied and
   * batched (see write-batch.ts), larger ones written at once.
   */
  private writeChunk(data: Buffer): boolean {
    if (data.length > BATCH_BYTES_MAX) return this.writeDirect(data);
    this.session.out.queue(Buffer.from(data));
    return true;
  }

  /** Writes at once; when `data` stays queued it still points into the read buffer (chunkHeld). */
  private writeDirect(data: Buffer): boolean {
    const ok = this.session.out.writeNow(data);
    if (this.session.socket.writableLength > 0) this.chunkHeld = true;
    return ok;
  }

  /** Writes a buffer of our own (nothing else points into it), batched. */
  private writeOwn(data: Buffer): boolean {
    this.session.out.queue(data);
    return true;
  }

  /** A batched write left the client's socket over its high-water mark. */
  onClientFull(): void {
    if (this.phase === P_STREAMING || this.phase === P_TUNNEL) this.pauseUpstream();
  }

  onUpstreamFull(conn: UpstreamConnection): void {
    if (conn === this.conn && !this.requestDone) this.session.pauseReading();
  }

  private pauseUpstream(): void {
    if (!this.upstreamPaused && this.conn !== null) {
      this.upstreamPaused = true;
      this.conn.socket.pause();
    }
  }

  /** The client's socket drained: resume what was paused for it. */
  onClientDrain(): void {
    if (this.upstreamPaused && this.conn !== null) {
      this.upstreamPaused = false;
      this.conn.socket.resume();
    }
  }

  onUpstreamDrain(conn: UpstreamConnection): void {
    if (conn === this.conn && !this.requestDone) this.session.resumeReading();
    if (conn === this.conn && this.phase === P_TUNNEL) this.session.resumeReading();
  }

  onUpstreamEnd(conn: UpstreamConnection): void {
    if (conn !== this.conn) return;
    if (this.phase === P_STREAMING && this.responseBody.framing === FRAMING_CLOSE) {
      this.responseBody.done = true;
      this.upstreamReusable = false;
      this.complete();
      return;
    }
    if (this.phase === P_TUNNEL) {
      this.session.out.end();
      return;
    }
    // Anything else is handled when the socket closes (it closes right after this).
  }

  onUpstreamClose(conn: UpstreamConnection, error: Error | null): void {
    if (conn !== this.conn) return;
    this.conn = null;
    this.upstreamPaused = false;
    if (this.phase === P_TUNNEL) {
      this.phase = P_DONE;
      this.session.socket.destroy();
      return;
    }
    if (this.phase === P_DONE) return;
    if (this.phase === P_CONNECTING) {
      this.endAttempt(this.timedOut ? "timeout" : "connect_error");
      this.ctx.logger.debug({ err: error, backend: this.backend?.id, frontend: this.ctx.name }, "upstream connect failed");
      if (this.attempts < this.maxAttempts) {
        this.excludeCurrent();
        this.nextAttempt();
      } else this.finishLocal(502, `Frontend ${this.ctx.name}: could not connect to a backend of pool ${this.pool!.name} after ${this.attempts} attempts`, this.requestDone);
      return;
    }
    this.upstreamFailed(this.timedOut ? "timeout" : "reset", `Backend ${this.backend?.id ?? "?"} closed the connection before the response was complete`);
  }

  /** The upstream failed after the request was sent: retry, answer 502/504, or cut the client. */
  private upstreamFailed(outcome: AttemptOutcome, reason: string): void {
    this.endAttempt(outcome);
    this.dropUpstream();
    if (!this.responseStarted && outcome !== "timeout" && this.canRetry()) {
      this.retry();
      return;
    }
    if (this.responseStarted) {
      // Part of the response is out: the only honest signal left is to cut the connection.
      this.phase = P_DONE;
      this.ctx.metrics.requestFinished(this.ctx.name, this.backend?.id ?? null, this.status || 502, performance.now() - this.startMs);
      this.session.socket.destroy();
      return;
    }
    const status = outcome === "timeout" ? 504 : 502;
    this.ctx.logger.debug({ frontend: this.ctx.name, backend: this.backend?.id, reason }, "upstream failed");
    this.finishLocal(status, `Frontend ${this.ctx.name}: ${reason}`, this.requestDone, this.backend?.id ?? null);
  }

  private canRetry(): boolean {
    return isIdempotentMethod(this.method) && this.requestDone && !this.retainedOverflow &&
      !this.responseStarted && this.attempts < this.maxAttempts && this.pool!.tryAcquireRetry();
  }

  private retry(): void {
    this.excludeCurrent();
    this.unsent = this.retained === null ? null : this.retained.slice();
    this.unsentBytes = this.retainedBytes;
    this.response.reset();
    this.nextAttempt();
  }

  private excludeCurrent(): void {
    if (this.exclude === null) this.exclude = new Set();
    if (this.backend !== null) this.exclude.add(this.backend.id);
  }

  private endAttempt(outcome: AttemptOutcome, nowMs = performance.now()): void {
    const finish = this.finishAttempt;
    if (finish === null) return;
    this.finishAttempt = null;
    finish(outcome, nowMs - this.attemptStartMs);
  }

  /** Closes the current upstream connection without reporting its close back here. */
  private dropUpstream(): void {
    const conn = this.conn;
    if (conn === null) return;
    this.conn = null;
    this.upstreamPaused = false;
    conn.owner = null;
    conn.destroy();
  }

  private complete(): void {
    this.phase = P_DONE;
    this.deadlineKind = DL_NONE;
    const status = this.status;
    const now = performance.now();
    this.endAttempt(status >= 500 ? "http_5xx" : "success", now);
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) {
      if (this.upstreamReusable && this.requestDone) {
        if (this.upstreamPaused) conn.socket.resume();
        this.ctx.upstreams.release(conn, now);
      } else {
        conn.owner = null;
        conn.destroy();
      }
    }
    this.upstreamPaused = false;
    this.response.reset();
    this.ctx.metrics.requestFinished(this.ctx.name, this.backend!.id, status, now - this.startMs);
    // A response that ends before its request body does: the rest of the body cannot be skipped
    // safely, so the client connection closes.
    this.session.exchangeDone(this.keepClient && this.requestDone, now);
  }

  /** Answers locally (no backend reached, or a failure before any response byte). */
  private finishLocal(status: number, body: string, keepAlive: boolean, backendId: string | null = null): void {
    this.phase = P_DONE;
    this.deadlineKind = DL_NONE;
    const keep = keepAlive && this.clientKeepAlive && this.requestDone && !this.ctx.draining;
    const now = performance.now();
    this.ctx.metrics.requestFinished(this.ctx.name, backendId, status, now - this.startMs);
    if (!keep) {
      this.session.respondAndClose(status, body);
      return;
    }
    this.writeOwn(localResponse(status, body, false, this.method === METHOD_HEAD));
    this.session.exchangeDone(true, now);
  }

  private startTunnel(chunk: Buffer, headEnd: number): void {
    const r = this.response;
    this.phase = P_TUNNEL;
    this.endAttempt("success");
    this.ctx.metrics.requestFinished(this.ctx.name, this.backend!.id, 101, performance.now() - this.startMs);
    // Not batched: a tunnel may be destroyed in this same turn, which would drop queued bytes.
    const head = buildResponseHead(r, true, this.clientMinor, this.ctx.dropScratch) ?? this.rawHead(chunk, headEnd);
    this.writeDirect(head);
    if (headEnd < chunk.length) this.writeDirect(chunk.subarray(headEnd));
    r.reset();
    const early = this.session.becomeTunnel();
    if (early !== null && early.length > 0) this.conn!.out.writeNow(early);
  }

  /** Client bytes while tunnelling. */
  tunnelFromClient(chunk: Buffer): void {
    const conn = this.conn;
    if (conn === null) return;
    if (!conn.out.writeNow(chunk)) this.session.pauseReading();
  }

  /** The client half-closed a tunnel. */
  tunnelClientEnded(): void {
    this.conn?.out.end();
  }

  /** Timeouts driven by the frontend's sweeper. */
  onTick(nowMs: number): void {
    if (this.deadlineKind === DL_NONE || nowMs < this.deadlineMs) return;
    const kind = this.deadlineKind;
    this.deadlineKind = DL_NONE;
    if (kind === DL_CONNECT && this.phase === P_CONNECTING) {
      // Closing the socket reports a connect failure; the attempt moves to another backend.
      this.timedOut = true;
      this.conn?.destroy();
    } else if (kind === DL_RESPONSE && this.phase === P_WAITING) {
      this.timedOut = true;
      this.upstreamFailed("timeout", `Backend ${this.backend!.id} did not answer within ${this.ctx.timeouts.responseMs} ms`);
    }
  }

  /** The client went away or the session is closing: release everything. */
  abort(): void {
    if (this.phase === P_DONE) return;
    this.phase = P_DONE;
    this.deadlineKind = DL_NONE;
    if (this.finishAttempt !== null) {
      // The client left; not the backend's fault.
      this.endAttempt("success");
      this.ctx.metrics.requestFinished(this.ctx.name, this.backend?.id ?? null, 499, performance.now() - this.startMs);
    }
    this.dropUpstream();
  }
}

/** The value of cookie `name` in a Cookie header, or undefined. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
