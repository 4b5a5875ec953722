// The TCP (L4) frontend: accepts connections on one address and splices each to a backend of one
// pool. The spec in force at accept time governs a connection for its whole life, so `update`
// changes the pool, timeouts and bound for new connections without touching established ones.
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import type { Frontend, FrontendSpec, ListenAddress, PoolResolver, ProxyMetrics } from "../types.js";
import { TcpConnection, type ConnectionContext } from "./connection.js";
import { TcpListenError } from "./errors.js";

/** What a TCP frontend needs from the proxy runtime. */
export interface TcpFrontendDeps {
  readonly pools: PoolResolver;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
}

/** At most one warning per reason in this interval; the rest are counted and summarised. */
export const WARN_INTERVAL_MS = 5_000;

type WarnReason = "no_backend" | "connect_failed" | "max_connections";

/** Creates a TCP frontend for `spec` (protocol "tcp", with a pool). Call `listen()` to start it. */
export function createTcpFrontend(spec: FrontendSpec, deps: TcpFrontendDeps): Frontend {
  return new TcpFrontend(spec, deps);
}

class TcpFrontend implements Frontend {
  readonly name: string;
  private spec: FrontendSpec;
  private readonly server: Server;
  private readonly connections = new Set<TcpConnection>();
  private readonly lastWarnMs = new Map<WarnReason, number>();
  private readonly suppressedWarns = new Map<WarnReason, number>();
  private onIdle: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  constructor(spec: FrontendSpec, private readonly deps: TcpFrontendDeps) {
    checkSpec(spec);
    this.name = spec.name;
    this.spec = spec;
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) =>
      this.accept(client),
    );
  }

  listen(): Promise<ListenAddress> {
    const { host, port } = this.spec.listen;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(new TcpListenError(this.name, `${host}:${port}`, error));
      this.server.once("error", onError);
      this.server.listen(port, host, () => {
        this.server.removeListener("error", onError);
        this.server.on("error", (error) => this.deps.logger.error({ err: error, frontend: this.name }, "TCP frontend server error"));
        const bound = this.server.address() as AddressInfo;
        this.deps.logger.info({ frontend: this.name, address: `${bound.address}:${bound.port}` }, "TCP frontend listening");
        resolve({ host: bound.address, port: bound.port });
      });
    });
  }

  update(spec: FrontendSpec): void {
    checkSpec(spec);
    assert.equal(spec.name, this.name, `Cannot update frontend ${this.name}: the new spec is named ${spec.name}`);
    const moved = spec.listen.host !== this.spec.listen.host || spec.listen.port !== this.spec.listen.port;
    assert.ok(!moved, `Cannot update frontend ${this.name}: the listen address is fixed, replace the frontend to move it`);
    this.spec = spec;
  }

  close(graceMs: number): Promise<void> {
    this.closing ??= this.drain(graceMs);
    return this.closing;
  }

  private async drain(graceMs: number): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.connections.size > 0) {
      const idle = new Promise<void>((resolve) => (this.onIdle = resolve));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([idle, graceOver]);
      clearTimeout(timer);
      if (this.connections.size > 0) {
        this.deps.logger.warn({ frontend: this.name, connections: this.connections.size, graceMs }, "TCP frontend closing connections still open after the grace period");
        for (const connection of this.connections) connection.destroy();
        await idle;
      }
    }
    await serverClosed;
  }

  private accept(client: Socket): void {
    const { spec } = this;
    if (this.closing !== null) {
      client.destroy();
      return;
    }
    if (this.connections.size >= spec.maxConnections) {
      client.destroy();
      this.warn("max_connections", `the frontend holds its maximum of ${spec.maxConnections} connections`);
      return;
    }
    const context: ConnectionContext = {
      frontend: this.name,
      pool: spec.pool === undefined ? undefined : this.deps.pools(spec.pool),
      connectMs: spec.timeouts.connectMs,
      idleMs: spec.timeouts.idleMs,
      metrics: this.deps.metrics,
      logger: this.deps.logger,
      onUnreachable: (reason, detail) => this.warn(reason, detail),
    };
    const connection = new TcpConnection(client, context, (done) => this.forget(done));
    this.connections.add(connection);
    connection.start();
  }

  private forget(connection: TcpConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.onIdle !== null) this.onIdle();
  }

  private warn(reason: WarnReason, detail: string): void {
    const nowMs = performance.now();
    const lastMs = this.lastWarnMs.get(reason);
    if (lastMs !== undefined && nowMs - lastMs < WARN_INTERVAL_MS) {
      this.suppressedWarns.set(reason, (this.suppressedWarns.get(reason) ?? 0) + 1);
      return;
    }
    const suppressed = this.suppressedWarns.get(reason) ?? 0;
    this.lastWarnMs.set(reason, nowMs);
    this.suppressedWarns.set(reason, 0);
    this.deps.logger.warn({ frontend: this.name, reason, suppressed }, `TCP frontend closed a client connection: ${detail}`);
  }
}

function checkSpec(spec: FrontendSpec): void {
  assert.equal(spec.protocol, "tcp", `Cannot create TCP frontend ${spec.name}: its protocol is ${spec.protocol}`);
  assert.ok(spec.pool !== undefined, `Cannot create TCP frontend ${spec.name}: it names no pool`);
  assert.ok(spec.maxConnections > 0, `Cannot create TCP frontend ${spec.name}: maxConnections must be positive`);
}
