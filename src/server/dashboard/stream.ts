// The dashboard's live stream (server-sent events). One hub per node builds the state once and
// sends it to every open page: at once when an applied batch touches the cluster's keys
// (/phalanx/: services, nodes, events, alerts, members) or the leader changes, coalesced so that at
// most one build runs at a time, and otherwise every DASHBOARD_TICK_MS so ages and counters move.
// New events of the event log also go out one by one as "feed" messages. A page that reads slower
// than we write skips states until its socket drains (each state is complete, so none is owed).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Replica } from "../replica.js";
import { localEvents } from "../services/routes.js";
import type { DashboardState } from "./state.js";

/** Longest time between two states sent to a page. */
export const DASHBOARD_TICK_MS = 1000;
/** Shortest time between two states built on changes (a burst of applies makes one). */
export const DASHBOARD_MIN_INTERVAL_MS = 100;
/** Most pages one node streams to at once; more are refused with 503. */
export const MAX_DASHBOARD_STREAMS = 32;
/** Keys whose changes are worth a new state at once. */
const WATCHED_PREFIX = "/phalanx/";

interface Page {
  readonly res: ServerResponse;
  /** False while the socket has not drained the last write. */
  writable: boolean;
}

/** The server-sent event hub of one node. */
export class DashboardStream {
  private readonly pages = new Set<Page>();
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private building = false;
  private again = false;
  private lastBuiltMs = 0;
  private lastSeq = 0;
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly o: { replica: Replica; build: () => Promise<DashboardState>; logger: Logger }) {}

  /** Serves one page's stream until it goes away. */
  async serve(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.pages.size >= MAX_DASHBOARD_STREAMS) {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "5" });
      res.end(JSON.stringify({ error: `This node already streams to ${MAX_DASHBOARD_STREAMS} dashboards: close one, or open the dashboard on another node` }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no", connection: "keep-alive" });
    res.write("retry: 1000\n\n");
    const page: Page = { res, writable: true };
    res.on("drain", () => (page.writable = true));
    // Fires when the page's socket goes away or the node ends the stream.
    res.on("close", () => this.leave(page));
    if (this.pages.size === 0) this.begin();
    this.pages.add(page);
    this.trigger();
  }

  /** Pages streamed to now. */
  get openPages(): number {
    return this.pages.size;
  }

  /** Ends every stream (node stopping). */
  stop(): void {
    for (const p of this.pages) p.res.end();
    this.pages.clear();
    this.end();
  }

  private begin(): void {
    this.lastSeq = localEvents(this.o.replica, 0, 1)[0]?.seq ?? 0;
    this.timer = setInterval(() => this.trigger(), DASHBOARD_TICK_MS);
    this.unsubscribe = [
      this.o.replica.onAppliedKeys((keys) => {
        if (keys === null || keys.some((k) => k.startsWith(WATCHED_PREFIX))) this.trigger();
      }),
      this.o.replica.onLeaderChange(() => this.trigger()),
    ];
  }

  private end(): void {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.soon !== null) clearTimeout(this.soon);
    this.timer = this.soon = null;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  private leave(page: Page): void {
    this.pages.delete(page);
    if (this.pages.size === 0) this.end();
  }

  /** Builds and sends a state now, or as soon as the running build and the minimum interval allow. */
  private trigger(): void {
    if (this.building) {
      this.again = true;
      return;
    }
    if (this.soon !== null) return;
    const wait = Math.max(0, this.lastBuiltMs + DASHBOARD_MIN_INTERVAL_MS - performance.now());
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.push();
    }, wait);
  }

  private async push(): Promise<void> {
    if (this.pages.size === 0) return;
    this.building = true;
    this.lastBuiltMs = performance.now();
    try {
      const state = await this.o.build();
      const fresh = localEvents(this.o.replica, this.lastSeq, 1000);
      if (fresh.length > 0) this.lastSeq = fresh[fresh.length - 1]!.seq;
      const feed = fresh.map((e) => `event: feed\ndata: ${JSON.stringify(e)}\n\n`).join("");
      this.send(`${feed}event: state\ndata: ${JSON.stringify(state)}\n\n`);
    } catch (err) {
      this.o.logger.warn({ err }, `Cannot build the dashboard state: ${(err as Error).message}`);
      this.send(`event: problem\ndata: ${JSON.stringify({ message: `The node could not build the dashboard state: ${(err as Error).message}` })}\n\n`);
    } finally {
      this.building = false;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    }
  }

  private send(text: string): void {
    for (const p of this.pages) {
      if (!p.writable) continue;
      p.writable = p.res.write(text);
    }
  }
}
