// The demo's client: steady GET requests through the balancers, the way a real client of a
// cluster behaves: it knows every node's address and, when one fails (connection refused or reset,
// a 5xx, a timeout), retries on the next address after a short pause, within a budget. A request
// counts as failed only when its whole budget ran out without an answer.
import { Agent, fetch } from "undici";

/** Retry policy of one request. */
export const DEMO_CLIENT_RETRY = {
  /** Time for one attempt. */
  attemptTimeoutMs: 1000,
  /** Pause before the next address. */
  pauseMs: 100,
  /** A request that got no answer within this long counts as failed. */
  budgetMs: 10_000,
} as const;

/** What one stream of requests saw. */
export interface TrafficTally {
  requests: number;
  failed: number;
  /** Requests that needed more than one attempt (and then succeeded). */
  retried: number;
  /** Answers per instance port. */
  byPort: Map<number, number>;
  /** The last answer's body. */
  last: Record<string, unknown> | null;
  /** Last error seen (for the summary). */
  lastError: string | null;
}

/** A stream of requests spread over `addresses`, `ratePerSec` at most, until stopped. */
export class Traffic {
  readonly tally: TrafficTally = { requests: 0, failed: 0, retried: 0, byPort: new Map(), last: null, lastError: null };
  private running = true;
  private next = 0;
  private readonly done: Promise<void>;
  private readonly dispatcher = new Agent({ keepAliveTimeout: 2000, connections: 4 });

  constructor(private readonly addresses: readonly string[], ratePerSec: number, workers = 2) {
    const gapMs = Math.max(0, Math.round((1000 * workers) / ratePerSec));
    this.done = Promise.all(Array.from({ length: workers }, () => this.work(gapMs))).then(() => undefined);
  }

  /** Stops sending; resolves once requests in flight have ended. */
  async stop(): Promise<TrafficTally> {
    this.running = false;
    await this.done;
    await this.dispatcher.close();
    return this.tally;
  }

  private async work(gapMs: number): Promise<void> {
    while (this.running) {
      await this.request();
      if (gapMs > 0 && this.running) await new Promise((r) => setTimeout(r, gapMs));
    }
  }

  private async request(): Promise<void> {
    const start = Date.now();
    this.tally.requests++;
    for (let attempt = 0; ; attempt++) {
      const address = this.addresses[this.next++ % this.addresses.length]!;
      try {
        const res = await fetch(`http://${address}/`, { dispatcher: this.dispatcher, signal: AbortSignal.timeout(DEMO_CLIENT_RETRY.attemptTimeoutMs) });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`${address} answered ${res.status}`);
        const body = JSON.parse(text) as Record<string, unknown>;
        if (typeof body.port === "number") this.tally.byPort.set(body.port, (this.tally.byPort.get(body.port) ?? 0) + 1);
        this.tally.last = body;
        if (attempt > 0) this.tally.retried++;
        return;
      } catch (err) {
        this.tally.lastError = `${address}: ${errorText(err)}`;
      }
      if (Date.now() - start + DEMO_CLIENT_RETRY.pauseMs > DEMO_CLIENT_RETRY.budgetMs) {
        this.tally.failed++;
        return;
      }
      await new Promise((r) => setTimeout(r, DEMO_CLIENT_RETRY.pauseMs));
    }
  }
}

function errorText(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
