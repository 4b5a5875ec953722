// One client connection through the TCP frontend: pick a backend, connect (failing over to another
// backend when a connect fails), splice bytes both ways, then report the outcome once.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { BackendEndpoint, BackendPool, FinishAttempt, ProxyMetrics } from "../types.js";
import { connectBackend } from "./connect.js";
import { BackendRelay } from "./relay.js";
import { spliceSockets, type SpliceEnd } from "./splice.js";

/** Backends tried for one client connection before giving up, when the pool sets no `maxAttempts`. */
export const DEFAULT_CONNECT_ATTEMPTS = 3;

/**
 * Status reported to `ProxyMetrics.requestFinished` for an L4 connection: spliced (200), every
 * connect failed (502), no healthy backend (503). TCP has no status; these mirror the HTTP meanings.
 */
export const TCP_STATUS = { spliced: 200, connectFailed: 502, noBackend: 503 } as const;

/** What a connection needs from its frontend; read once at accept, so updates affect new ones only. */
export interface ConnectionContext {
  readonly frontend: string;
  /** undefined when the frontend names a pool that does not exist (reported as no backend). */
  readonly pool: BackendPool | undefined;
  readonly connectMs: number;
  readonly idleMs: number;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** Called when no backend could be reached, for throttled logging by the frontend. */
  readonly onUnreachable: (reason: "no_backend" | "connect_failed", detail: string) => void;
}

/** A proxied connection; `onClose` runs once after the client and backend sockets are both gone. */
export class TcpConnection {
  private readonly startedMs = performance.now();
  private upstream: Socket | null = null;
  private finished = false;

  constructor(
    private readonly client: Socket,
    private readonly ctx: ConnectionContext,
    private readonly onClose: (connection: TcpConnection) => void,
  ) {}

  /** Starts connecting; the client socket stays paused until a backend is connected. */
  start(): void {
    const { client, ctx } = this;
    ctx.metrics.connectionOpened(ctx.frontend);
    client.on("error", () => {
      // Reported through "close" (hadError); without a listener the error would crash the process.
    });
    client.setTimeout(ctx.idleMs, () => this.destroy());
    void this.connectAndSplice();
  }

  /** Closes both sockets now (idle timeout, frontend shutdown). */
  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }

  private async connectAndSplice(): Promise<void> {
    const { client, ctx } = this;
    const { pool } = ctx;
    const tried = new Set<string>();
    let lastError = "";
    const maxAttempts = pool?.maxAttempts ?? DEFAULT_CONNECT_ATTEMPTS;
    while (pool !== undefined && tried.size < maxAttempts) {
      const backend = pool.pick({ clientIp: client.remoteAddress ?? "" }, tried);
      if (backend === null) break;
      tried.add(backend.id);
      const finish = pool.begin(backend.id);
      const attemptStartMs = performance.now();
      const relay = new BackendRelay();
      const result = await connectBackend(backend, ctx.connectMs, relay.onread);
      const latencyMs = performance.now() - attemptStartMs;
      if (result.ok) {
        if (client.destroyed) {
          // The client left while we were connecting: the backend did nothing wrong.
          result.socket.destroy();
          finish("success", latencyMs);
          this.finish(backend, TCP_STATUS.spliced);
          return;
        }
        this.splice(backend, result.socket, relay, finish);
        return;
      }
      finish(result.timedOut ? "timeout" : "connect_error", latencyMs);
      lastError = result.error.message;
      if (client.destroyed) break;
    }
    if (tried.size === 0) {
      const why = pool === undefined ? "the pool does not exist" : `pool ${pool.name} has no healthy backend`;
      ctx.onUnreachable("no_backend", why);
      this.closeUnreachable(TCP_STATUS.noBackend);
    } else {
      ctx.onUnreachable("connect_failed", lastError);
      this.closeUnreachable(TCP_STATUS.connectFailed);
    }
  }

  private splice(backend: BackendEndpoint, upstream: Socket, relay: BackendRelay, finish: FinishAttempt): void {
    this.upstream = upstream;
    spliceSockets(this.client, upstream, relay, this.ctx.idleMs, (end: SpliceEnd) => {
      finish(end, performance.now() - this.startedMs);
      this.finish(backend, TCP_STATUS.spliced);
    });
  }

  private closeUnreachable(status: number): void {
    if (this.client.destroyed) {
      this.finish(null, status);
      return;
    }
    this.client.once("close", () => this.finish(null, status));
    this.client.destroy();
  }

  private finish(backend: BackendEndpoint | null, status: number): void {
    if (this.finished) return;
    this.finished = true;
    const { ctx } = this;
    const durationMs = performance.now() - this.startedMs;
    if (backend !== null && this.upstream !== null) {
      ctx.metrics.bytesTransferred(ctx.frontend, backend.id, this.client.bytesRead, this.upstream.bytesRead);
    }
    ctx.metrics.requestFinished(ctx.frontend, backend?.id ?? null, status, durationMs);
    ctx.metrics.connectionClosed(ctx.frontend);
    this.onClose(this);
  }
}
