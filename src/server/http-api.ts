// A node's client API over HTTP/1.1 + JSON (etcd v3 gateway paths, see gateway-json.ts), plus
// Phalanx's own /v3/phalanx/* endpoints, /healthz and /metrics. Every node serves every request:
// writes on a follower are forwarded to the leader, linearizable reads run locally after a
// ReadIndex round, watches stream from the local store.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { Command, CommandResult, KvError } from "../kv/store.js";
import { prefixEnd } from "../kv/store.js";
import type { Replica } from "./replica.js";
import { ServerError } from "./errors.js";
import type { LeaderForwarder } from "./forward.js";
import {
  compactionSchema, GatewayInputError, leaseGrantSchema, leaseIdSchema, opResultJson, parseBody, parseDelete,
  parsePut, parseRange, parseTxn, txnResponsesJson,
} from "./gateway-json.js";
import type { ResponseHeader } from "./gateway-json.js";
import { statusOfKvError, statusOfServerError } from "./http-status.js";
import { INTERNAL_PREFIX } from "./members.js";
import { serveWatch } from "./watch-stream.js";

/** Largest request body accepted (a value may be 1.5 MiB; base64 and JSON add a third). */
export const MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;
/** Header marking a request forwarded by another node: never forwarded again. */
export const FORWARDED_HEADER = "x-phalanx-forwarded";

/** A handler of one /v3/phalanx/* admin route, supplied by the agent (membership, join, status). */
export type AdminHandler = (body: unknown, req: IncomingMessage) => Promise<unknown>;

/** What the API needs from its node. */
export interface ClientApiOptions {
  readonly replica: Replica;
  readonly clusterId: string;
  /** Bearer token that authorizes clients; null disables token auth (a client certificate may still be required). */
  readonly token: string | null;
  readonly forwarder: LeaderForwarder;
  readonly logger: Logger;
  /** Extra routes: "GET /v3/phalanx/status" → handler. */
  readonly adminRoutes?: ReadonlyMap<string, AdminHandler>;
  /** Routes that do their own authentication (the join token). */
  readonly publicRoutes?: ReadonlySet<string>;
  /** Prometheus text for /metrics. */
  readonly metrics?: () => Promise<string>;
}

/** Builds the request handler of the client API. */
export function createClientApiHandler(options: ClientApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const api = new ClientApi(options);
  return (req, res) => void api.handle(req, res);
}

class ClientApi {
  private readonly tokenBytes: Buffer | null;

  constructor(private readonly o: ClientApiOptions) {
    this.tokenBytes = o.token === null ? null : Buffer.from(`Bearer ${o.token}`);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    try {
      if (path === "/healthz") return this.healthz(res);
      const routeKey = `${req.method} ${path}`;
      if (!this.o.publicRoutes?.has(routeKey) && !this.authorized(req)) throw new ServerError("unauthenticated", "Missing or wrong cluster token: pass `Authorization: Bearer <token>` or a client certificate of this cluster");
      if (path === "/metrics" && this.o.metrics) return send(res, 200, await this.o.metrics(), "text/plain; version=0.0.4");
      const admin = this.o.adminRoutes?.get(routeKey);
      if (admin) return await this.admin(admin, req, res);
      if (req.method !== "POST") throw new ServerError("not_found", `No route ${req.method} ${path}: the client API takes POST /v3/kv/*, /v3/lease/*, /v3/watch`);
      if (path === "/v3/watch") return serveWatch(this.o.replica, await readJson(req), req, res, () => this.header(), this.o.logger);
      await this.route(path, await readJson(req), req, res);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private async admin(handler: AdminHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = req.method === "POST" ? await readJson(req) : undefined;
    let result: unknown;
    try {
      result = await handler(body, req);
    } catch (err) {
      if (req.method === "POST" && (await this.forwarded(err, req, res, body))) return;
      throw err;
    }
    if (result instanceof Uint8Array) return send(res, 200, result, "application/octet-stream");
    this.json(res, 200, result);
  }

  private async route(path: string, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
    switch (path) {
      case "/v3/kv/range": {
        const { request, serializable } = parseRange(body);
        guardKeys(request.key, request.rangeEnd);
        const r = await this.o.replica.range(request, serializable ? "serializable" : "linearizable");
        return this.answer(res, r, (ok) => opResultJson(ok));
      }
      case "/v3/kv/put":
        return this.write(req, res, body, parsePut(body));
      case "/v3/kv/deleterange":
        return this.write(req, res, body, parseDelete(body));
      case "/v3/kv/txn":
        return this.write(req, res, body, parseTxn(body));
      case "/v3/kv/compaction":
        return this.write(req, res, body, { type: "compact", revision: parseBody(compactionSchema, body).revision });
      case "/v3/lease/grant": {
        const g = parseBody(leaseGrantSchema, body);
        const ttlMs = g.TTL_ms ?? g.TTL * 1000;
        // Shorter than a few election timeouts, a lease could expire during an ordinary leader change.
        const minTtlMs = this.o.replica.minLeaseTtlMs;
        if (ttlMs < minTtlMs) throw new GatewayInputError(`Invalid request: TTL ${ttlMs} ms is below the minimum of ${minTtlMs} ms (1.5 election timeouts): ask for a longer TTL`);
        return this.write(req, res, body, { type: "leaseGrant", id: g.ID ?? 0, ttlMs });
      }
      case "/v3/lease/revoke":
        return this.write(req, res, body, { type: "leaseRevoke", id: parseBody(leaseIdSchema, body).ID });
      case "/v3/lease/keepalive":
        return this.keepAlive(req, res, body);
      case "/v3/lease/timetolive":
        return this.timeToLive(req, res, body);
      case "/v3/lease/leases": {
        await this.o.replica.linearizableBarrier();
        return this.json(res, 200, { header: this.header(), leases: this.o.replica.kv.leases().map((l) => ({ ID: String(l.id) })) });
      }
      default:
        throw new ServerError("not_found", `No route POST ${path}`);
    }
  }

  /** Proposes a command here when leader, else forwards the request to the leader. */
  private async write(req: IncomingMessage, res: ServerResponse, body: unknown, command: Command): Promise<void> {
    guardCommand(command);
    let result: CommandResult;
    try {
      result = await this.o.replica.propose(command);
    } catch (err) {
      if (await this.forwarded(err, req, res, body)) return;
      throw err;
    }
    this.answer(res, result, (ok) => {
      switch (ok.type) {
        case "put":
        case "delete":
          return opResultJson(ok);
        case "txn":
          return { succeeded: ok.succeeded, responses: txnResponsesJson(ok.responses, this.header()) };
        case "leaseGrant":
          return { ID: String(ok.id), TTL: String(Math.ceil(ok.ttlMs / 1000)), TTL_ms: String(ok.ttlMs) };
        case "leaseRevoke":
          return { deleted: String(ok.deleted) };
        default:
          return {};
      }
    });
  }

  private async keepAlive(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = parseBody(leaseIdSchema, body).ID;
    let r;
    try {
      r = await this.o.replica.keepAlive(id);
    } catch (err) {
      if (await this.forwarded(err, req, res, body)) return;
      throw err;
    }
    if (!r.ok) return this.json(res, 404, { error: r.message, message: r.message, code: 5, phalanx_code: r.code });
    this.json(res, 200, { result: { header: this.header(), ID: String(id), TTL: String(Math.ceil(r.ttlMs / 1000)), TTL_ms: String(r.ttlMs) } });
  }

  private async timeToLive(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const { ID, keys } = parseBody(leaseIdSchema, body);
    const replica = this.o.replica;
    if (replica.status().role !== "leader") {
      if (await this.forwarded(new ServerError("not_leader", "Lease time-to-live is known to the leader", { leaderId: replica.leaderId }), req, res, body)) return;
    }
    await replica.linearizableBarrier();
    const info = replica.kv.lease(ID);
    const remaining = replica.leaseRemainingMs(ID);
    if (info === undefined) return this.json(res, 200, { header: this.header(), ID: String(ID), TTL: "-1" });
    this.json(res, 200, {
      header: this.header(),
      ID: String(ID),
      TTL: String(Math.ceil((remaining ?? info.ttlMs) / 1000)),
      TTL_ms: String(remaining ?? info.ttlMs),
      grantedTTL: String(Math.ceil(info.ttlMs / 1000)),
      ...(keys ? { keys: info.keys.map((k) => Buffer.from(k).toString("base64")) } : {}),
    });
  }

  /** On not_leader, relays the request to the leader and answers with its response; false when it cannot. */
  private async forwarded(err: unknown, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<boolean> {
    if (!(err instanceof ServerError) || err.code !== "not_leader" || req.headers[FORWARDED_HEADER] !== undefined) return false;
    const leader = err.details.leaderId;
    if (leader === undefined) return false;
    const reply = await this.o.forwarder.forward(leader, req.url ?? "/", body, req.headers.authorization);
    if (reply === null) return false;
    send(res, reply.status, reply.body, "application/json");
    return true;
  }

  private answer<T extends Exclude<CommandResult, KvError> | Exclude<Awaited<ReturnType<Replica["range"]>>, KvError>>(
    res: ServerResponse,
    result: T | KvError,
    body: (ok: T) => Record<string, unknown>,
  ): void {
    if (!result.ok) {
      const extra = result.compactRevision !== undefined ? { compact_revision: String(result.compactRevision) } : {};
      return this.json(res, statusOfKvError(result.code), { error: result.message, message: result.message, code: 3, phalanx_code: result.code, ...extra });
    }
    this.json(res, 200, { header: this.header(), ...body(result) });
  }

  private header(): ResponseHeader {
    const replica = this.o.replica;
    return { cluster_id: this.o.clusterId, member_id: String(replica.id), revision: String(replica.kv.revision), raft_term: String(replica.term) };
  }

  private healthz(res: ServerResponse): void {
    // From the live core: a stopped or failed replica is unhealthy whatever leader it last knew.
    const h = this.o.replica.health();
    this.json(res, h.healthy ? 200 : 503, { health: h.healthy ? "true" : "false", leader: h.leader, role: h.role, state: h.state });
  }

  private authorized(req: IncomingMessage): boolean {
    const tls = req.socket as Partial<TLSSocket>;
    if (tls.authorized === true) return true;
    if (this.tokenBytes === null) return tls.encrypted !== true;
    const given = Buffer.from(req.headers.authorization ?? "");
    return given.length === this.tokenBytes.length && timingSafeEqual(given, this.tokenBytes);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    send(res, status, JSON.stringify(body), "application/json");
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof GatewayInputError) return this.json(res, 400, { error: err.message, message: err.message, code: 3, phalanx_code: "bad_request" });
    if (err instanceof ServerError) {
      const extra = err.details.leaderId !== undefined ? { leader: String(err.details.leaderId) } : {};
      return this.json(res, statusOfServerError(err.code), { error: err.message, message: err.message, code: 14, phalanx_code: err.code, ...extra });
    }
    this.o.logger.error({ err }, "client API request failed");
    this.json(res, 500, { error: "Internal error: see the node's log", message: "Internal error: see the node's log", code: 13, phalanx_code: "internal" });
  }
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, contentType: string): void {
  // A flat header array skips Node's per-response header object walk (hot path).
  res.writeHead(status, ["content-type", contentType, "content-length", String(Buffer.byteLength(body))]);
  res.end(body);
}

/**
 * Reads and parses a JSON body, bounded by MAX_REQUEST_BODY_BYTES. Event callbacks rather than
 * `for await`: the async iterator costs several promises per request on the hot path.
 */
export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        // Drop the rest of the body unread, as the async iterator did.
        settle(() => reject(new GatewayInputError(`Request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`)));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", (err) => settle(() => reject(err)));
    req.on("end", () =>
      settle(() => {
        if (size === 0) return resolve({});
        try {
          resolve(JSON.parse((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString("utf8")) as unknown);
        } catch {
          reject(new GatewayInputError("Request body is not valid JSON"));
        }
      }),
    );
  });
}

/** Clients may not touch the cluster's internal keys (the CA key among them). */
function guardKeys(key: string, rangeEnd: string | undefined): void {
  const end = rangeEnd ?? key;
  const internalEnd = prefixEnd(INTERNAL_PREFIX);
  const overlaps = rangeEnd === undefined ? key.startsWith(INTERNAL_PREFIX) : key < internalEnd && (end === "\0" || end > INTERNAL_PREFIX);
  if (overlaps) throw new GatewayInputError(`Keys under ${INTERNAL_PREFIX} are internal to the cluster: choose another key`);
}

function guardCommand(c: Command): void {
  if (c.type === "put") guardKeys(c.key, undefined);
  else if (c.type === "delete") guardKeys(c.key, c.rangeEnd);
  else if (c.type === "txn") {
    for (const cmp of c.compares) guardKeys(cmp.key, undefined);
    for (const op of [...c.success, ...c.failure]) guardKeys(op.key, op.type === "put" ? undefined : op.rangeEnd);
  }
}

