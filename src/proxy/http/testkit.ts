// Test helpers for the HTTP frontend: a static round-robin pool, a recording metrics sink, a
// frontend spec with short timeouts, and a raw-socket client that sends exact bytes.
import net from "node:net";
import pino from "pino";
import type {
  AttemptOutcome, BackendEndpoint, BackendPool, FinishAttempt, FrontendSpec, HashOn, PickRequest, ProxyMetrics,
} from "../types.js";

/** A pool over a fixed list, round robin, with a recorded history of attempt outcomes. */
export class StaticPool implements BackendPool {
  readonly name: string;
  readonly hashOn: HashOn = { kind: "none" };
  backends: BackendEndpoint[];
  readonly outcomes: { backendId: string; outcome: AttemptOutcome }[] = [];
  retryTokens = 1000;
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
