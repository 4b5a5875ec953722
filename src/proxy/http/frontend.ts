// The HTTP/1.1 (and HTTPS) frontend: a listener whose connections are ClientSessions. Parses
// framing itself over plain sockets (node:http is too slow for a proxy's hot path), keeps
// idle upstream connections per backend, drives every timeout from one coarse sweeper, and
// drains gracefully on close().
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import type pino from "pino";
import type { Frontend, FrontendSpec, ListenAddress, PoolResolver, ProxyMetrics } from "../types.js";
import { newDropScratch, UPSTREAM_IDLE_PER_BACKEND_MAX } from "./context.js";
import type { FrontendContext } from "./context.js";
import { adoptWithSharedReads } from "./accept.js";
import { Router } from "./router.js";
import { ClientSession } from "./session.js";
import { UpstreamPool } from "./upstream.js";

/** Idle upstream connections are closed after this, below common backend keep-alive timeouts (Node's is 5 s). */
const UPSTREAM_IDLE_TIMEOUT_MS = 4000;
/**
 * Bytes queued towards a client before write() reports backpressure. Above the 16 KiB default so a
 * 64 KiB response body does not pause and resume its upstream socket on every read; still a small
 * bound per connection.
 */
const CLIENT_WRITE_HIGH_WATER_BYTES = 256 * 1024;
/** Bounds of the sweeper period: a quarter of the shortest timeout, within these. */
const SWEEP_INTERVAL_MS_MIN = 5;
const SWEEP_INTERVAL_MS_MAX = 250;

/** What the HTTP frontend needs from the runtime. */
export interface HttpFrontendDeps {
  readonly pools: PoolResolver;
  readonly metrics: ProxyMetrics;
  readonly logger: pino.Logger;
}

/** Error raised when a frontend cannot start (bad TLS files, port in use). */
export class HttpFrontendError extends Error {
  override readonly name = "HttpFrontendError";
  readonly code: string;

  constructor(code: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.code = code;
  }
}

function sweepIntervalMs(spec: FrontendSpec): number {
  const t = spec.timeouts;
  const shortest = Math.min(t.headerMs, t.idleMs, t.connectMs, t.responseMs);
  return Math.max(SWEEP_INTERVAL_MS_MIN, Math.min(SWEEP_INTERVAL_MS_MAX, Math.floor(shortest / 4)));
}

function readTls(spec: FrontendSpec): { cert: Buffer; key: Buffer } {
  if (spec.tls === undefined) {
    throw new HttpFrontendError("tls_missing", `Cannot start frontend ${spec.name}: protocol https needs tls.certFile and tls.keyFile`);
  }
  try {
    return { cert: readFileSync(spec.tls.certFile), key: readFileSync(spec.tls.keyFile) };
  } catch (err) {
    throw new HttpFrontendError("tls_unreadable", `Cannot read TLS files of frontend ${spec.name}: ${(err as Error).message}`, err);
  }
}

class HttpFrontend implements Frontend {
  readonly name: string;
  private spec: FrontendSpec;
  private readonly ctx: FrontendContext;
  private readonly server: net.Server;
  private readonly sessions = new Set<ClientSession>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweepMs = 0;
  private closing: Promise<void> | null = null;
  private onSessionsEmpty: (() => void) | null = null;

  constructor(spec: FrontendSpec, deps: HttpFrontendDeps) {
    if (spec.protocol !== "http" && spec.protocol !== "https") {
      throw new HttpFrontendError("bad_protocol", `Cannot create HTTP frontend ${spec.name}: protocol is ${spec.protocol}`);
    }
    this.name = spec.name;
    this.spec = spec;
    this.ctx = {
      name: spec.name,
      proto: spec.protocol,
      router: new Router(spec.routes ?? []),
      timeouts: spec.timeouts,
      maxHeaderBytes: spec.maxHeaderBytes,
      pools: deps.pools,
      metrics: deps.metrics,
      logger: deps.logger,
      upstreams: new UpstreamPool(UPSTREAM_IDLE_PER_BACKEND_MAX, UPSTREAM_IDLE_TIMEOUT_MS),
      draining: false,
      dropScratch: newDropScratch(),
    };
    const onSocket = (socket: net.Socket): void => this.accept(socket);
    if (spec.protocol === "https") {
      const server = tls.createServer({
        ...readTls(spec), allowHalfOpen: true, handshakeTimeout: spec.timeouts.headerMs, highWaterMark: CLIENT_WRITE_HIGH_WATER_BYTES,
      });
      server.on("secureConnection", onSocket);
      server.on("tlsClientError", (err: Error) => deps.logger.debug({ err, frontend: spec.name }, "TLS handshake failed"));
      this.server = server;
    } else {
      // Paused on accept: accept() moves the socket to shared-buffer reads before anything is read.
      this.server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true, highWaterMark: CLIENT_WRITE_HIGH_WATER_BYTES }, onSocket);
    }
    this.server.maxConnections = spec.maxConnections;
    this.server.on("error", (err: Error) => deps.logger.error({ err, frontend: spec.name }, "frontend listener error"));
  }

  private accept(raw: net.Socket): void {
    // The server's own bound does not see adopted sockets (accept.ts): this one does.
    if (this.sessions.size >= this.spec.maxConnections) {
      raw.destroy();
      return;
    }
    this.ctx.metrics.connectionOpened(this.name);
    const onClosed = (s: ClientSession): void => this.sessionClosed(s);
    let session: ClientSession | null = null;
    const adopted = this.spec.protocol === "http" ? adoptWithSharedReads(raw, CLIENT_WRITE_HIGH_WATER_BYTES, (chunk) => session!.onData(chunk)) : null;
    if (adopted !== null) session = new ClientSession(adopted, this.ctx, onClosed, true);
    else {
      session = new ClientSession(raw, this.ctx, onClosed);
      if (raw.isPaused()) raw.resume();
    }
    this.sessions.add(session);
    // Accepted while draining (it was already queued): serve the request it brings, then close.
    if (this.ctx.draining) session.drain(performance.now());
  }

  private sessionClosed(session: ClientSession): void {
    if (!this.sessions.delete(session)) return;
    this.ctx.metrics.connectionClosed(this.name);
    if (this.sessions.size === 0) this.onSessionsEmpty?.();
  }

  private startSweeper(): void {
    this.sweepMs = sweepIntervalMs(this.spec);
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = setInterval(() => this.sweep(), this.sweepMs);
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const session of this.sessions) session.onTick(now);
    this.ctx.upstreams.sweep(now);
  }

  listen(): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new HttpFrontendError(err.code ?? "listen_failed",
          `Cannot listen on ${this.spec.listen.host}:${this.spec.listen.port} for frontend ${this.name}: ${err.message}`, err));
      };
      this.server.once("error", onError);
      this.server.listen(this.spec.listen.port, this.spec.listen.host, () => {
        this.server.off("error", onError);
        this.startSweeper();
        const addr = this.server.address() as net.AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  update(spec: FrontendSpec): void {
    const tlsChanged = spec.protocol === "https" &&
      (spec.tls?.certFile !== this.spec.tls?.certFile || spec.tls?.keyFile !== this.spec.tls?.keyFile);
    this.spec = spec;
    this.ctx.router = new Router(spec.routes ?? []);
    this.ctx.timeouts = spec.timeouts;
    this.ctx.maxHeaderBytes = spec.maxHeaderBytes;
    this.server.maxConnections = spec.maxConnections;
    // Re-read certificates on every update so a renewed file at the same path is picked up too.
    if (spec.protocol === "https" && this.server instanceof tls.Server) {
      try {
        this.server.setSecureContext(readTls(spec));
      } catch (err) {
        if (tlsChanged) throw err;
        this.ctx.logger.warn({ err, frontend: this.name }, "keeping the previous TLS certificate");
      }
    }
    if (this.sweeper !== null && sweepIntervalMs(spec) !== this.sweepMs) this.startSweeper();
  }

  close(graceMs: number): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.ctx.draining = true;
    this.closing = new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(graceTimer);
        if (this.sweeper !== null) clearInterval(this.sweeper);
        this.sweeper = null;
        this.ctx.upstreams.closeAll();
        resolve();
      };
      const graceTimer = setTimeout(() => {
        for (const session of this.sessions) session.socket.destroy();
      }, Math.max(0, graceMs));
      graceTimer.unref();
      let listenerClosed = false;
      const maybeDone = (): void => {
        if (listenerClosed && this.sessions.size === 0) finish();
      };
      this.onSessionsEmpty = maybeDone;
      this.server.close(() => {
        listenerClosed = true;
        maybeDone();
      });
      const now = performance.now();
      for (const session of this.sessions) session.drain(now);
    });
    return this.closing;
  }
}

/** Creates an HTTP or HTTPS frontend for `spec`; call listen() to start it. */
export function createHttpFrontend(spec: FrontendSpec, deps: HttpFrontendDeps): Frontend {
  return new HttpFrontend(spec, deps);
}
