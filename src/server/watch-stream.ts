// POST /v3/watch: one watcher per request, streamed as newline-delimited JSON in etcd's gateway
// shape ({"result":{header, watch_id, created | events | canceled}}). Flow control: events are
// taken from the store's watch hub only while the socket is writable; a client that stops reading
// is cancelled by the hub as slow once its queue bound is reached, and resumes from its revision.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { WatchEvent } from "../kv/store.js";
import { kvJson, parseBody, watchCreateSchema } from "./gateway-json.js";
import type { ResponseHeader } from "./gateway-json.js";
import type { Replica } from "./replica.js";
import { statusOfKvError } from "./http-status.js";

/** Heartbeat line interval: lets clients and proxies see that an idle watch is alive. */
export const WATCH_PROGRESS_INTERVAL_MS = 10_000;

function eventJson(e: WatchEvent): Record<string, unknown> {
  return { ...(e.type === "delete" ? { type: "DELETE" } : {}), kv: kvJson(e.kv), ...(e.prevKv ? { prev_kv: kvJson(e.prevKv) } : {}) };
}

/** Serves one watch stream until the client goes away or the watch is cancelled. */
export function serveWatch(replica: Replica, body: unknown, req: IncomingMessage, res: ServerResponse, header: () => ResponseHeader, logger: Logger): void {
  const c = parseBody(watchCreateSchema, body).create_request;
  const created = replica.watchers.watch({ key: c.key, rangeEnd: c.range_end, startRevision: c.start_revision, prevKv: c.prev_kv });
  if (!created.ok) {
    res.writeHead(statusOfKvError(created.code), { "content-type": "application/json" });
    res.end(JSON.stringify({ error: created.message, message: created.message, code: 11, phalanx_code: created.code, ...(created.compactRevision ? { compact_revision: String(created.compactRevision) } : {}) }));
    return;
  }
  const watchId = created.watchId;
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
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
      else line({ events: batch.events.map(eventJson) });
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
