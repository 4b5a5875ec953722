// POST /v3/watch: one watcher per request, streamed as newline-delimited JSON in etcd's gateway
// shape ({"result":{header, watch_id, created | events | canceled}}). Flow control: events are
// taken from the store's watch hub only while the socket is writable; a client that stops reading
// is cancelled by the hub as slow once its queue bound is reached, and resumes from its revision.
// Internal keys (internal-keys.ts): a watch on hidden keys only is refused (403); a wider watch that
// overlaps them is served with their events dropped, so watching "everything" works and shows no
// internal key.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { WatchEvent } from "../kv/store.js";
import { kvJson, parseBody, watchCreateSchema } from "./gateway-json.js";
import type { ResponseHeader } from "./gateway-json.js";
import type { Replica } from "./replica.js";
import { errorBody, HTTP, statusOfKvError } from "./http-status.js";
import { visibleEvents, watchPolicy, watchRefusal } from "./internal-keys.js";

/** Heartbeat line interval: lets clients and proxies see that an idle watch is alive. */
export const WATCH_PROGRESS_INTERVAL_MS = 10_000;

function eventJson(e: WatchEvent): Record<string, unknown> {
  return { ...(e.type === "delete" ? { type: "DELETE" } : {}), kv: kvJson(e.kv), ...(e.prevKv ? { prev_kv: kvJson(e.prevKv) } : {}) };
}

/**
 * Serves one watch stream until the client goes away or the watch is cancelled. Throws (before
 * writing anything) GatewayInputError for a malformed body and PermissionDeniedError for a watch
 * on internal keys only; the caller answers those.
 */
export function serveWatch(replica: Replica, body: unknown, req: IncomingMessage, res: ServerResponse, header: () => ResponseHeader, logger: Logger): void {
  const c = parseBody(watchCreateSchema, body).create_request;
  const span = { key: c.key, rangeEnd: c.range_end };
  const policy = watchPolicy(span);
  if (policy === "refuse") throw watchRefusal(span);
  const created = replica.watchers.watch({ key: c.key, rangeEnd: c.range_end, startRevision: c.start_revision, prevKv: c.prev_kv });
  if (!created.ok) {
    const status = statusOfKvError(created.code);
    res.writeHead(status.http, { "content-type": "application/json" });
    res.end(JSON.stringify(errorBody(status, created.code, created.message, created.compactRevision ? { compact_revision: String(created.compactRevision) } : {})));
    return;
  }
  const watchId = created.watchId;
  res.writeHead(HTTP.ok, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  res.socket?.setNoDelay(true);
  const line = (result: Record<string, unknown>): boolean => res.write(`${JSON.stringify({ result: { header: header(), watch_id: String(watchId), ...result } })}\n`);
  line({ created: true });

  let closed = false;
  const pump = (): void => {
    if (closed) return;
    for (;;) {
      if (res.writableNeedDrain) return; // resumed by "drain"
      const batch = replica.watchers.take(watchId);
      if (batch === undefined) return;
      if (batch.type === "cancelled") {
        line({ canceled: true, cancel_reason: batch.message, phalanx_code: batch.code, ...(batch.compactRevision ? { compact_revision: String(batch.compactRevision) } : {}), ...(batch.resumeRevision ? { resume_revision: String(batch.resumeRevision) } : {}) });
        finish();
        res.end();
        return;
      }
      if (batch.type === "progress") line({ progress_notify: true, progress_revision: String(batch.revision) });
      else {
        const events = policy === "filter" ? visibleEvents(batch.events) : batch.events;
        if (events.length > 0) line({ events: events.map(eventJson) });
      }
    }
  };
  const unsubscribe = replica.onWatchReady(pump);
  const progress = setInterval(() => line({ progress_notify: true }), WATCH_PROGRESS_INTERVAL_MS);
  progress.unref();
  const finish = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(progress);
    replica.watchers.cancel(watchId);
  };
  res.on("drain", pump);
  res.on("close", finish);
  req.on("error", (err) => {
    logger.debug({ err, watchId }, "watch stream failed");
    finish();
  });
  pump();
}
