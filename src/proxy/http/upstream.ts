// Connections to backends and the per-backend pool of idle keep-alive connections. Listeners are
// attached once per socket and dispatch to the current owner (the exchange using it), so reuse
// costs no listener churn. An idle connection that receives bytes or closes is discarded.
import { Buffer } from "node:buffer";
import net from "node:net";
import type { BackendEndpoint } from "../types.js";
import { BatchedWriter } from "../write-batch.js";

/** Size of the reusable read buffer of an upstream connection. */
const READ_BUFFER_BYTES = 64 * 1024;

/** What a connection reports to the exchange that currently owns it. */
export interface UpstreamOwner {
  onUpstreamConnect(conn: UpstreamConnection): void;
  /**
   * Bytes from the backend. `chunk` lives in the connection's reusable read buffer: return true
   * when it may still be referenced after the call (a queued write), so a fresh buffer is used next.
   */
  onUpstreamData(conn: UpstreamConnection, chunk: Buffer): boolean;
  onUpstreamEnd(conn: UpstreamConnection): void;
  onUpstreamClose(conn: UpstreamConnection, error: Error | null): void;
  onUpstreamDrain(conn: UpstreamConnection): void;
  /** A batched write left the socket over its high-water mark; onUpstreamDrain follows. */
  onUpstreamFull(conn: UpstreamConnection): void;
}

/** One TCP connection to a backend. */
export class UpstreamConnection {
  readonly socket: net.Socket;
  readonly backendId: string;
  /** Idle-pool key: the address, so pools that share a server also share its connections. */
  readonly key: string;
  owner: UpstreamOwner | null = null;
  /** Every write to the backend goes through here (batched or at once, always in order). */
  readonly out: BatchedWriter;
  connected = false;
  closed = false;
  /** Requests completed on this connection; a reused connection may have been closed by the peer. */
  requestsServed = 0;
  idleSinceMs = 0;
  private error: Error | null = null;
  private readBuffer: Buffer;
  private readBufferHeld = false;
  private readonly pool: UpstreamPool;

  constructor(backend: BackendEndpoint, pool: UpstreamPool) {
    this.backendId = backend.id;
    this.key = addressKey(backend);
    this.pool = pool;
    // Reads land in a reusable buffer through `onread`: no per-read allocation and no Readable
    // stream machinery on the response path.
    this.readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket = net.connect({
      host: backend.host,
      port: backend.port,
      noDelay: true,
      onread: {
        buffer: () => this.nextReadBuffer(),
        callback: (bytes: number, buf: Uint8Array) => this.onRead(bytes, buf as Buffer),
      },
    });
    this.socket = socket;
    this.out = new BatchedWriter(socket, () => this.owner?.onUpstreamFull(this));
    socket.on("connect", () => {
      this.connected = true;
      this.owner?.onUpstreamConnect(this);
    });
    socket.on("end", () => {
      if (this.owner !== null) this.owner.onUpstreamEnd(this);
      else this.destroy();
    });
    socket.on("drain", () => this.owner?.onUpstreamDrain(this));
    socket.on("error", (err: Error) => {
      this.error = err;
    });
    socket.on("close", () => {
      this.closed = true;
      this.pool.forget(this);
      const owner = this.owner;
      this.owner = null;
      owner?.onUpstreamClose(this, this.error);
    });
  }

  /** Returns true to keep reading (false would pause the socket). */
  private onRead(bytes: number, buf: Buffer): boolean {
    const owner = this.owner;
    if (owner === null) {
      this.destroy(); // Bytes on an idle connection: the framing is off, never reuse it.
      return true;
    }
    if (owner.onUpstreamData(this, buf.subarray(0, bytes))) this.readBufferHeld = true;
    return true;
  }

  private nextReadBuffer(): Buffer {
    if (this.readBufferHeld) {
      this.readBufferHeld = false;
      this.readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    }
    return this.readBuffer;
  }

  /** Closes the connection at once; the owner still gets onUpstreamClose. */
  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }
}

function addressKey(backend: BackendEndpoint): string {
  return `${backend.host}:${backend.port}`;
}

/** Per-backend stacks of idle connections, bounded in count and idle time. */
export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  /** Idle stacks by endpoint object: one lookup per request, no address string built. */
  private readonly stacks = new WeakMap<BackendEndpoint, UpstreamConnection[]>();
  private idleCount = 0;
  maxIdlePerBackend: number;
  idleTimeoutMs: number;

  constructor(maxIdlePerBackend: number, idleTimeoutMs: number) {
    this.maxIdlePerBackend = maxIdlePerBackend;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  /** An idle connection to `backend`, or a new one (connecting; check `connected`). */
  acquire(backend: BackendEndpoint, owner: UpstreamOwner): UpstreamConnection {
    let stack = this.stacks.get(backend);
    if (stack === undefined) {
      stack = this.stackFor(addressKey(backend));
      this.stacks.set(backend, stack);
    }
    if (stack.length > 0) {
      const conn = stack.pop()!;
      this.idleCount--;
      conn.owner = owner;
      return conn;
    }
    const conn = new UpstreamConnection(backend, this);
    conn.owner = owner;
    return conn;
  }

  /** Returns a connection whose last exchange ended cleanly; beyond the bound it is closed. */
  release(conn: UpstreamConnection, nowMs: number): void {
    conn.owner = null;
    conn.requestsServed++;
    if (conn.closed) return;
    const stack = this.stackFor(conn.key);
    if (stack.length >= this.maxIdlePerBackend) {
      conn.destroy();
      return;
    }
    conn.idleSinceMs = nowMs;
    stack.push(conn);
    this.idleCount++;
  }

  /** The idle stack of an address, created on first use. */
  private stackFor(key: string): UpstreamConnection[] {
    let stack = this.idle.get(key);
    if (stack === undefined) {
      stack = [];
      this.idle.set(key, stack);
    }
    return stack;
  }

  /** Removes a closed connection from its idle stack. */
  forget(conn: UpstreamConnection): void {
    const stack = this.idle.get(conn.key);
    if (stack === undefined) return;
    const i = stack.indexOf(conn);
    if (i >= 0) {
      stack.splice(i, 1);
      this.idleCount--;
    }
  }

  /** Closes connections idle for longer than the idle timeout. */
  sweep(nowMs: number): void {
    if (this.idleCount === 0) return;
    for (const stack of this.idle.values()) {
      // Oldest first: the stack is pushed in release order.
      while (stack.length > 0 && nowMs - stack[0]!.idleSinceMs >= this.idleTimeoutMs) {
        const conn = stack.shift()!;
        this.idleCount--;
        conn.destroy();
      }
    }
  }

  /** Closes every idle connection. */
  closeAll(): void {
    for (const stack of this.idle.values()) {
      for (const conn of stack.splice(0)) conn.destroy();
    }
    this.idleCount = 0;
  }

  /** Number of idle connections (for tests and metrics). */
  size(): number {
    return this.idleCount;
  }
}
