// `GET /v3/phalanx/logs?service=S&instance=I[&from=BYTE][&tail=BYTES]`: one instance's output file on
// THIS node (the supervisor writes services.logDir/SERVICE/INSTANCE.log). `phalanx logs` asks the
// node that runs each instance. Without `from`, the last `tail` bytes (from a line start); with it,
// what was written since (`from` past the end — the file was rotated — starts over at 0).
import { open } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { instanceLogPath } from "../../agent/log-files.js";
import { ServerError } from "../errors.js";

/** Most bytes one read returns. */
export const MAX_LOG_READ_BYTES = 1024 * 1024;
export const DEFAULT_LOG_TAIL_BYTES = 16 * 1024;

const SAFE_NAME = /^[a-z0-9][a-z0-9-]{0,126}$/;

/** A piece of an instance's log: its text, where the next read starts, the file's size. */
export interface LogPiece {
  readonly text: string;
  readonly next: number;
  readonly size: number;
}

/** Reads a piece of an instance's log file on this node (the route's query string). */
export async function readInstanceLog(logDir: string | undefined, req: IncomingMessage): Promise<LogPiece> {
  const url = req.url ?? "/";
  return readLogPiece(logDir, new URLSearchParams(url.includes("?") ? url.slice(url.indexOf("?") + 1) : ""));
}

/** Reads a piece of an instance's log file on this node: `q` holds service, instance, and from or tail. */
export async function readLogPiece(logDir: string | undefined, q: URLSearchParams): Promise<LogPiece> {
  const service = q.get("service") ?? "";
  const instance = q.get("instance") ?? "";
  if (!SAFE_NAME.test(service) || !SAFE_NAME.test(instance)) throw new ServerError("bad_request", "Name a service and an instance: ?service=NAME&instance=ID (lower-case letters, digits, '-')");
  if (logDir === undefined) throw new ServerError("not_found", "This node keeps no instance log files: set services.logDir in its config");
  let file;
  try {
    file = await open(instanceLogPath(logDir, service, instance), "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ServerError("not_found", `No log of instance ${instance} of ${service} on this node`);
    throw err;
  }
  try {
    const size = (await file.stat()).size;
    const fromParam = q.get("from");
    const tail = Math.min(MAX_LOG_READ_BYTES, Math.max(0, Number(q.get("tail") ?? DEFAULT_LOG_TAIL_BYTES) || 0));
    let from = fromParam === null ? Math.max(0, size - tail) : Number(fromParam);
    if (!Number.isFinite(from) || from < 0 || from > size) from = 0;
    const length = Math.min(MAX_LOG_READ_BYTES, size - from);
    const buf = Buffer.alloc(length);
    await file.read(buf, 0, length, from);
    let text = buf.toString("utf8");
    // A tail starts at a line boundary (the first, cut line is dropped).
    if (fromParam === null && from > 0) text = text.slice(text.indexOf("\n") + 1);
    return { text, next: from + length, size };
  } finally {
    await file.close();
  }
}
