// The dashboard's "log" panel: the same records `phalanx logs` prints (the instance's output file,
// GET /v3/phalanx/logs on the node that runs it), but asked of the node that served the page, which
// relays to the instance's node. The browser cannot call the other node itself: another origin
// (CORS) and, over HTTPS, a certificate it may not trust. One hop at most (FORWARDED_HEADER).
import type { IncomingMessage } from "node:http";
import { ServerError } from "../errors.js";
import type { LeaderForwarder } from "../forward.js";
import { FORWARDED_HEADER } from "../http-api.js";
import { DEFAULT_LOG_TAIL_BYTES, MAX_LOG_READ_BYTES, readLogPiece, type LogPiece } from "../services/log-route.js";
import type { NodeId } from "../../raft/raft.js";

/** POST {node, service, instance, tail?} → the end of that instance's log, read on `node`. */
export const INSTANCE_LOGS_PATH = "/v3/phalanx/dashboard/logs";

/** What the relay needs from its node. */
export interface InstanceLogsDeps {
  readonly self: number;
  readonly logDir: string | undefined;
  readonly forwarder: LeaderForwarder;
  /** The node's admin token: a caller authenticated by client certificate has no header to pass on. */
  readonly adminToken: string | null;
}

interface LogRequest {
  readonly node: number;
  readonly service: string;
  readonly instance: string;
  readonly tail: number;
}

function parse(body: unknown): LogRequest {
  const b = (body ?? {}) as Record<string, unknown>;
  if (!Number.isInteger(b.node) || (b.node as number) <= 0 || typeof b.service !== "string" || typeof b.instance !== "string") {
    throw new ServerError("bad_request", "Name the instance's node, service and instance: {\"node\": 2, \"service\": \"db\", \"instance\": \"db-1\"}");
  }
  const tail = b.tail === undefined ? DEFAULT_LOG_TAIL_BYTES : Number(b.tail);
  if (!Number.isInteger(tail) || tail < 0 || tail > MAX_LOG_READ_BYTES) throw new ServerError("bad_request", `tail must be a byte count from 0 to ${MAX_LOG_READ_BYTES}`);
  return { node: b.node as number, service: b.service, instance: b.instance, tail };
}

/** Reads the log here when the instance runs here, else asks its node (once). */
export async function instanceLogs(deps: InstanceLogsDeps, body: unknown, req: IncomingMessage): Promise<LogPiece & { node: number }> {
  const r = parse(body);
  if (r.node === deps.self) {
    const piece = await readLogPiece(deps.logDir, new URLSearchParams({ service: r.service, instance: r.instance, tail: String(r.tail) }));
    return { node: deps.self, ...piece };
  }
  if (req.headers[FORWARDED_HEADER] !== undefined) throw new ServerError("bad_request", `Node ${deps.self} is not node ${r.node}: a relayed log request must name the node it was sent to`);
  const authorization = req.headers.authorization ?? (deps.adminToken === null ? undefined : `Bearer ${deps.adminToken}`);
  let reply;
  try {
    reply = await deps.forwarder.forward(r.node as NodeId, INSTANCE_LOGS_PATH, r, authorization);
  } catch (err) {
    // A read: nothing to be unsure about, only that the node did not answer.
    throw new ServerError("stopped", `Node ${r.node} did not answer for the log of ${r.instance}: it may be down; retry, or read it with \`phalanx logs ${r.service}\``, { cause: err });
  }
  if (reply === null) throw new ServerError("stopped", `Node ${r.node} is not reachable (down, or its address unknown here): the log of ${r.instance} cannot be read now`);
  const answer = JSON.parse(reply.body) as (LogPiece & { node: number }) | { error?: string; message?: string };
  if (reply.status !== 200) {
    const message = "message" in answer ? answer.message : undefined;
    throw new ServerError(reply.status === 404 ? "not_found" : reply.status === 400 ? "bad_request" : "stopped", `Node ${r.node}: ${message ?? `HTTP ${reply.status}`}`);
  }
  return answer as LogPiece & { node: number };
}
