import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { test, type TestContext } from "node:test";
import { pino } from "pino";
import type {
  AttemptOutcome, BackendEndpoint, BackendPool, Frontend, FrontendSpec, ListenAddress, ProxyMetrics,
} from "../types.js";
import { createTcpFrontend } from "./frontend.js";

/** A round-robin pool over a fixed list that records every attempt outcome. */
class RecordingPool implements BackendPool {
  readonly name = "test";
  readonly hashOn = { kind: "none" } as const;
  readonly outcomes: Array<{ backendId: string; outcome: AttemptOutcome }> = [];
  /** The pool's `retry.maxAttempts`; unset means the frontend's default. */
  maxAttempts?: number;
  private next = 0;

  constructor(private readonly backends: BackendEndpoint[]) {}

  pick(_request: unknown, exclude?: ReadonlySet<string>): BackendEndpoint | null {
    for (let i = 0; i < this.backends.length; i++) {
      const backend = this.backends[(this.next + i) % this.backends.length]!;
      if (exclude?.has(backend.id)) continue;
      this.next = (this.next + i + 1) % this.backends.length;
      return backend;
    }
    return null;
  }

  begin(backendId: string): (outcome: AttemptOutcome) => void {
    return (outcome) => this.outcomes.push({ backendId, outcome });
  }

  tryAcquireRetry(): boolean {
    return true;
  }
}

class RecordingMetrics implements ProxyMetrics {
  opened = 0;
  closed = 0;
  readonly finished: Array<{ backendId: string | null; status: number }> = [];
  readonly bytes: Array<{ backendId: string; up: number; down: number }> = [];
  connectionOpened(): void {
    this.opened += 1;
  }
  connectionClosed(): void {
    this.closed += 1;
  }
  requestFinished(_frontend: string, backendId: string | null, status: number): void {
    this.finished.push({ backendId, status });
  }
  bytesTransferred(_frontend: string, backendId: string, up: number, down: number): void {
    this.bytes.push({ backendId, up, down });
  }
}

function spec(overrides: Partial<FrontendSpec> = {}): FrontendSpec {
  return {
    name: "tcp-test",
    listen: { host: "127.0.0.1", port: 0 },
    protocol: "tcp",
    pool: "test",
    timeouts: { headerMs: 1_000, idleMs: 5_000, connectMs: 1_000, responseMs: 1_000 },
    maxConnections: 100,
    maxHeaderBytes: 8_192,
    ...overrides,
  };
}

async function listen(t: TestContext, server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** A backend that echoes every byte and relays half-close, tracking its sockets for cleanup. */
async function echoBackend(t: TestContext, id: string): Promise<BackendEndpoint> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  t.after(() => sockets.forEach((s) => s.destroy()));
  return { id, host: "127.0.0.1", port: await listen(t, server), weight: 1 };
}

/** A port with nothing listening on it: bind an ephemeral port, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Harness {
  frontend: Frontend;
  address: ListenAddress;
  pool: RecordingPool;
  metrics: RecordingMetrics;
}

async function startFrontend(t: TestContext, backends: BackendEndpoint[], overrides: Partial<FrontendSpec> = {}): Promise<Harness> {
  const pool = new RecordingPool(backends);
  const metrics = new RecordingMetrics();
  const frontend = createTcpFrontend(spec(overrides), {
    pools: (name) => (name === "test" ? pool : undefined),
    metrics,
    logger: pino({ level: "silent" }),
  });
  const address = await frontend.listen();
  t.after(() => frontend.close(0));
  return { frontend, address, pool, metrics };
}

async function dial(t: TestContext, address: ListenAddress): Promise<Socket> {
  const socket = connect({ host: address.host, port: address.port, allowHalfOpen: true });
  socket.on("error", () => {});
  t.after(() => socket.destroy());
  await once(socket, "connect");
  return socket;
}

/** Reads from `socket` until it ends, returning everything received. */
async function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Resolves when `condition` holds, polling every few ms; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("bytes sent through the TCP frontend come back from an echo backend", async (t) => {
  const backend = await echoBackend(t, "a");
  const { address, metrics } = await startFrontend(t, [backend]);
  const client = await dial(t, address);
  const payload = patternChunk(0, 4 * 1024 * 1024);
  client.end(payload);
  const echoed = await readAll(client);
  assert.equal(echoed.length, payload.length);
  assert.ok(echoed.equals(payload));
  await waitFor(() => metrics.closed === 1, "the connection to be reported closed");
  assert.deepEqual(metrics.finished, [{ backendId: "a", status: 200 }]);
  assert.deepEqual(metrics.bytes, [{ backendId: "a", up: payload.length, down: payload.length }]);
});

test("a client's half-close reaches the backend and the backend's reply still reaches the client", async (t) => {
  let backendSawEnd = false;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => {
      backendSawEnd = true;
      // Reply only after the client's FIN: this is what half-close exists for.
      socket.end(`got ${Buffer.concat(chunks).toString()}`);
    });
  });
  const backend = { id: "a", host: "127.0.0.1", port: await listen(t, server), weight: 1 };
  const { address } = await startFrontend(t, [backend]);
  const client = await dial(t, address);
  client.end("question");
  const reply = await readAll(client);
  assert.equal(backendSawEnd, true);
  assert.equal(reply.toString(), "got question");
});

test("a backend that speaks first (a banner) reaches the client before it sends anything", async (t) => {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.write("220 ready\r\n");
    socket.pipe(socket);
  });
  const backend = { id: "a", host: "127.0.0.1", port: await listen(t, server), weight: 1 };
  const { address } = await startFrontend(t, [backend]);
  const client = await dial(t, address);
  const [banner] = (await once(client, "data")) as [Buffer];
  assert.equal(banner.toString(), "220 ready\r\n");
  client.end("QUIT\r\n");
  assert.equal((await readAll(client)).toString(), "QUIT\r\n");
});

test("a slow reader makes the frontend stop reading from the backend, and every byte still arrives in order", async (t) => {
  const chunkBytes = 1024 * 1024;
  const totalBytes = 32 * chunkBytes;
  let sentBytes = 0;
  const server = createServer((socket) => {
    socket.on("error", () => {});
    const pump = (): void => {
      while (sentBytes < totalBytes) {
        const chunk = patternChunk(sentBytes, chunkBytes);
        sentBytes += chunk.length;
        if (!socket.write(chunk)) {
          socket.once("drain", pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  const backend = { id: "a", host: "127.0.0.1", port: await listen(t, server), weight: 1 };
  const { address } = await startFrontend(t, [backend]);
  const client = await dial(t, address);
  client.pause();
  // Wait until the backend is blocked: its count stops moving for a while.
  let lastSent = -1;
  let stillPolls = 0;
  await waitFor(() => {
    stillPolls = sentBytes === lastSent ? stillPolls + 1 : 0;
    lastSent = sentBytes;
    return stillPolls >= 20 || sentBytes >= totalBytes;
  }, "the backend to be blocked by backpressure");
  // Kernel socket buffers on loopback hold tens of MiB; without backpressure the frontend would
  // have read all 32 MiB into memory (it stalls near 11 MiB here).
  assert.ok(sentBytes < totalBytes, `the backend sent all ${sentBytes} bytes to a client that reads nothing`);
  // Reading again resumes the flow; bytes must not be lost or overwritten on the way.
  let receivedBytes = 0;
  for await (const chunk of client) {
    const bytes = chunk as Buffer;
    for (let i = 0; i < bytes.length; i += 512) {
      if (bytes[i] !== patternByte(receivedBytes + i)) assert.fail(`Byte ${receivedBytes + i} differs from what the backend sent`);
    }
    receivedBytes += bytes.length;
  }
  assert.equal(receivedBytes, totalBytes);
});

/** The byte the pattern holds at `offset`: it changes every KiB, so a misplaced block shows. */
function patternByte(offset: number): number {
  return Math.floor(offset / 1024) % 251;
}

function patternChunk(offset: number, bytes: number): Buffer {
  const chunk = Buffer.allocUnsafe(bytes);
  for (let at = 0; at < bytes; at += 1024) chunk.fill(patternByte(offset + at), at, at + 1024);
  return chunk;
}

test("a refused connect is reported and the connection fails over to another backend", async (t) => {
  const dead = { id: "dead", host: "127.0.0.1", port: await closedPort(), weight: 1 };
  const live = await echoBackend(t, "live");
  const { address, pool } = await startFrontend(t, [dead, live]);
  const client = await dial(t, address);
  client.end("ping");
  assert.equal((await readAll(client)).toString(), "ping");
  await waitFor(() => pool.outcomes.length === 2, "both attempts to be reported");
  assert.deepEqual(pool.outcomes, [
    { backendId: "dead", outcome: "connect_error" },
    { backendId: "live", outcome: "success" },
  ]);
});

test("the pool's maxAttempts bounds the backends tried: 5 gets past four refusing ones", async (t) => {
  const dead = await Promise.all([0, 1, 2, 3].map(async (i) => ({ id: `dead${i}`, host: "127.0.0.1", port: await closedPort(), weight: 1 })));
  const live = await echoBackend(t, "live");
  const { address, pool } = await startFrontend(t, [...dead, live]);
  pool.maxAttempts = 5;
  const client = await dial(t, address);
  client.end("ping");
  assert.equal((await readAll(client)).toString(), "ping");
  await waitFor(() => pool.outcomes.length === 5, "five attempts to be reported");
  assert.deepEqual(pool.outcomes.map((o) => o.outcome), ["connect_error", "connect_error", "connect_error", "connect_error", "success"]);
});

test("with maxAttempts 1 a refused connect is not retried on another backend", async (t) => {
  const dead = { id: "dead", host: "127.0.0.1", port: await closedPort(), weight: 1 };
  const live = await echoBackend(t, "live");
  const { address, pool, metrics } = await startFrontend(t, [dead, live]);
  pool.maxAttempts = 1;
  const client = await dial(t, address);
  assert.equal((await readAll(client)).length, 0);
  await waitFor(() => metrics.closed === 1, "the connection to be reported closed");
  assert.deepEqual(metrics.finished, [{ backendId: null, status: 502 }]);
  assert.deepEqual(pool.outcomes, [{ backendId: "dead", outcome: "connect_error" }]);
});

test("with no healthy backend the client connection is closed at once", async (t) => {
  const { address, metrics } = await startFrontend(t, []);
  const client = await dial(t, address);
  const received = await readAll(client);
  assert.equal(received.length, 0);
  await waitFor(() => metrics.closed === 1, "the connection to be reported closed");
  assert.deepEqual(metrics.finished, [{ backendId: null, status: 503 }]);
});

test("when every backend refuses, the client is closed and the failure is reported as 502", async (t) => {
  const dead = { id: "dead", host: "127.0.0.1", port: await closedPort(), weight: 1 };
  const { address, metrics, pool } = await startFrontend(t, [dead]);
  const client = await dial(t, address);
  assert.equal((await readAll(client)).length, 0);
  await waitFor(() => metrics.closed === 1, "the connection to be reported closed");
  assert.deepEqual(metrics.finished, [{ backendId: null, status: 502 }]);
  assert.deepEqual(pool.outcomes, [{ backendId: "dead", outcome: "connect_error" }]);
});

test("connections beyond maxConnections are refused while the others keep working", async (t) => {
  const backend = await echoBackend(t, "a");
  const { address } = await startFrontend(t, [backend], { maxConnections: 1 });
  const first = await dial(t, address);
  first.write("one");
  await once(first, "data");
  const second = await dial(t, address);
  assert.equal((await readAll(second)).length, 0);
  first.end("two");
  assert.equal((await readAll(first)).toString(), "two");
});

test("an idle connection is closed after idleMs", async (t) => {
  const backend = await echoBackend(t, "a");
  const { address, pool } = await startFrontend(t, [backend], {
    timeouts: { headerMs: 1_000, idleMs: 100, connectMs: 1_000, responseMs: 1_000 },
  });
  const client = await dial(t, address);
  client.write("hello");
  const received = await readAll(client);
  assert.equal(received.toString(), "hello");
  await waitFor(() => pool.outcomes.length === 1, "the attempt to be reported");
});

test("update() sends new connections to the new pool while an established one stays on its backend", async (t) => {
  const first = await echoBackend(t, "first");
  const second = await echoBackend(t, "second");
  const pools = new Map([["one", new RecordingPool([first])], ["two", new RecordingPool([second])]]);
  const frontend = createTcpFrontend(spec({ pool: "one" }), {
    pools: (name) => pools.get(name),
    metrics: new RecordingMetrics(),
    logger: pino({ level: "silent" }),
  });
  const address = await frontend.listen();
  t.after(() => frontend.close(0));
  const established = await dial(t, address);
  established.write("a");
  await once(established, "data");
  frontend.update(spec({ pool: "two" }));
  const fresh = await dial(t, address);
  fresh.end("b");
  assert.equal((await readAll(fresh)).toString(), "b");
  established.end("c");
  assert.equal((await readAll(established)).toString(), "c");
  assert.deepEqual(pools.get("one")!.outcomes.map((o) => o.backendId), ["first"]);
  assert.deepEqual(pools.get("two")!.outcomes.map((o) => o.backendId), ["second"]);
  assert.throws(() => frontend.update(spec({ pool: "two", listen: { host: "127.0.0.1", port: address.port + 1 } })), /listen address is fixed/);
});

test("close() stops accepting, waits for an in-flight connection, then resolves", async (t) => {
  const backend = await echoBackend(t, "a");
  const { frontend, address } = await startFrontend(t, [backend]);
  const client = await dial(t, address);
  client.write("before");
  await once(client, "data");
  let closed = false;
  const closing = frontend.close(10_000).then(() => (closed = true));
  // New connections are refused once closing started.
  const refused = connect({ host: address.host, port: address.port });
  const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
  assert.equal(error.code, "ECONNREFUSED");
  // The in-flight connection still works and close() waits for it.
  client.write("during");
  await once(client, "data");
  assert.equal(closed, false);
  client.end();
  await readAll(client);
  await closing;
  assert.equal(closed, true);
});

test("close() destroys connections still open after the grace period", async (t) => {
  const backend = await echoBackend(t, "a");
  const { frontend, address } = await startFrontend(t, [backend]);
  const client = await dial(t, address);
  client.write("x");
  await once(client, "data");
  const clientEnded = once(client, "end");
  await frontend.close(50);
  await clientEnded;
});
