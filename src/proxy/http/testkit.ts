// Test helpers for the HTTP frontend: a static round-robin pool, a recording metrics sink, a
// frontend spec with short timeouts, and a raw-socket client that sends exact bytes.
import http from "node:http";
import net from "node:net";
import pino from "pino";
import type {
  AttemptOutcome, BackendEndpoint, BackendPool, FinishAttempt, Frontend, FrontendSpec, HashOn, PickRequest, ProxyMetrics,
} from "../types.js";
import { createHttpFrontend } from "./frontend.js";

/** A pool over a fixed list, round robin, with a recorded history of attempt outcomes. */
export class StaticPool implements BackendPool {
  readonly name: string;
  readonly hashOn: HashOn = { kind: "none" };
  backends: BackendEndpoint[];
  readonly outcomes: { backendId: string; outcome: AttemptOutcome }[] = [];
  retryTokens = 1000;
  /** The pool's `retry.maxAttempts`; unset means the frontend's default. */
  maxAttempts?: number;
  private next = 0;

  constructor(name: string, backends: { host?: string; port: number; id?: string }[]) {
    this.name = name;
    this.backends = backends.map((b, i) => ({ id: b.id ?? `b${i}`, host: b.host ?? "127.0.0.1", port: b.port, weight: 1 }));
  }

  pick(_request: PickRequest, exclude?: ReadonlySet<string>): BackendEndpoint | null {
    for (let i = 0; i < this.backends.length; i++) {
      const b = this.backends[(this.next + i) % this.backends.length]!;
      if (exclude?.has(b.id)) continue;
      this.next = (this.next + i + 1) % this.backends.length;
      return b;
    }
    return null;
  }

  begin(backendId: string): FinishAttempt {
    let done = false;
    return (outcome) => {
      if (done) throw new Error(`Cannot finish attempt on ${backendId} twice`);
      done = true;
      this.outcomes.push({ backendId, outcome });
    };
  }

  tryAcquireRetry(): boolean {
    if (this.retryTokens <= 0) return false;
    this.retryTokens--;
    return true;
  }
}

/** Metrics sink that records every call. */
export class RecordingMetrics implements ProxyMetrics {
  opened = 0;
  closed = 0;
  readonly requests: { backendId: string | null; status: number }[] = [];

  connectionOpened(): void {
    this.opened++;
  }

  connectionClosed(): void {
    this.closed++;
  }

  requestFinished(_frontend: string, backendId: string | null, status: number): void {
    this.requests.push({ backendId, status });
  }

  bytesTransferred(): void {}
}

/** A frontend spec for tests: ephemeral port, short timeouts, one catch-all route to "web". */
export function testSpec(overrides: Partial<FrontendSpec> = {}): FrontendSpec {
  return {
    name: "fe",
    listen: { host: "127.0.0.1", port: 0 },
    protocol: "http",
    routes: [{ pool: "web" }],
    timeouts: { headerMs: 2000, idleMs: 5000, connectMs: 1000, responseMs: 5000 },
    maxConnections: 1000,
    maxHeaderBytes: 8192,
    ...overrides,
  };
}

/** A silent logger. */
export const silentLogger = pino({ level: "silent" });

/** Sends raw bytes and collects everything until the server closes (or `untilMs` passes). */
export function rawExchange(port: number, data: Buffer | string, untilMs = 2000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: false });
    }, untilMs);
    socket.on("connect", () => socket.write(data));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err) => {
      clearTimeout(timer);
      if (chunks.length > 0) resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: true });
      else reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: true });
    });
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 2000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The part of node:test's context the helpers use to clean up. */
export interface TestCleanup {
  after(fn: () => Promise<void> | void): void;
}

/** Starts a frontend on an ephemeral port with a pool resolver over `pools`; closes it after the test. */
export async function startFrontend(
  t: TestCleanup,
  pools: Record<string, BackendPool>,
  overrides: Partial<FrontendSpec> = {},
): Promise<{ port: number; frontend: Frontend; metrics: RecordingMetrics }> {
  const metrics = new RecordingMetrics();
  const frontend = createHttpFrontend(testSpec(overrides), { pools: (name) => pools[name], metrics, logger: silentLogger });
  const addr = await frontend.listen();
  t.after(() => frontend.close(0));
  return { port: addr.port, frontend, metrics };
}

/** Starts a node:http backend; closes it (and its connections) after the test. */
export async function startHttpBackend(
  t: TestCleanup,
  handler: http.RequestListener,
): Promise<{ port: number; server: http.Server; connections: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { port: (server.address() as net.AddressInfo).port, server, connections: () => connections };
}

/**
 * Starts a raw TCP backend: `onData` gets every chunk of every connection (to answer with exact
 * bytes, or misbehave). Every connection and the listener are closed after the test.
 */
export async function startRawBackend(
  t: TestCleanup,
  onData: (socket: net.Socket, chunk: Buffer) => void,
): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("data", (chunk: Buffer) => onData(s, chunk));
    s.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

/** A port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** One request through node:http with an optional agent; collects the body. */
export function request(
  port: number,
  options: http.RequestOptions & { body?: string | Buffer } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
