// Relays a client request from a follower to the leader's client API (keep-alive connections),
// so every node accepts writes. One hop at most: the forwarded request carries FORWARDED_HEADER.
import { Pool } from "undici";
import type { Logger } from "pino";
import type { NodeId } from "../raft/raft.js";
import { ServerError } from "./errors.js";
import type { MemberDirectory } from "./members.js";

/** Forwarded requests give up after this long; the client then retries. */
export const FORWARD_TIMEOUT_MS = 10_000;
/**
 * A leader that takes longer than this to accept a connection is treated as unreachable: nothing was
 * sent, so the caller answers a retryable error and the client tries another node at once instead of
 * waiting out FORWARD_TIMEOUT_MS behind a partition.
 */
export const FORWARD_CONNECT_TIMEOUT_MS = 2_000;
/** Errors that mean no connection was made, so the request was never sent. */
const NEVER_SENT = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);
/** Keep-alive connections kept to the leader. */
export const FORWARD_CONNECTIONS_MAX = 64;

/** The leader's answer, relayed as is. */
export interface ForwardedReply {
  readonly status: number;
  readonly body: string;
}

/** Forwards requests to the leader's client address. */
export class LeaderForwarder {
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly members: MemberDirectory,
    private readonly scheme: "http" | "https",
    private readonly logger: Logger,
    private readonly tls?: { ca: string; cert: string; key: string },
    private readonly options: { readonly connectTimeoutMs?: number } = {},
  ) {}

  /** Sends `body` to `path` on the leader; null when the leader's address is unknown or unreachable. */
  async forward(leader: NodeId, path: string, body: unknown, authorization: string | undefined): Promise<ForwardedReply | null> {
    const member = this.members.get(leader);
    if (member === undefined) return null;
    const origin = `${this.scheme}://${member.clientAddress}`;
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      const timeout = this.options.connectTimeoutMs ?? FORWARD_CONNECT_TIMEOUT_MS;
      pool = new Pool(origin, { connections: FORWARD_CONNECTIONS_MAX, pipelining: 1, connect: { timeout, ...(this.tls ? { ...this.tls, rejectUnauthorized: true } : {}) } });
      this.pools.set(origin, pool);
    }
    try {
      const r = await pool.request({
        method: "POST",
        path,
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", "x-phalanx-forwarded": "1", ...(authorization ? { authorization } : {}) },
        headersTimeout: FORWARD_TIMEOUT_MS,
        bodyTimeout: FORWARD_TIMEOUT_MS,
      });
      return { status: r.statusCode, body: await r.body.text() };
    } catch (err) {
      this.logger.debug({ err, leader }, "forwarding to the leader failed");
      // No connection (refused, unreachable, not accepted in time) never carried the request: the
      // caller may report a retryable error. Anything later may have reached the leader, so the
      // outcome of a write is unknown.
      if (NEVER_SENT.has((err as { code?: string }).code ?? "")) return null;
      throw new ServerError("unknown_outcome", `Forwarding to leader ${leader} failed after the request may have been sent: check before retrying a non-idempotent write`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }
}
