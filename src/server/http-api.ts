// A node's client API over HTTP/1.1 + JSON (etcd v3 gateway paths, see gateway-json.ts), plus
// Phalanx's own /v3/phalanx/* endpoints, /healthz and /metrics. Every node serves every request:
// writes on a follower are forwarded to the leader, linearizable reads run locally after a
// ReadIndex round, watches stream from the local store.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Command, CommandResult, KvError } from "../kv/store.js";
import type { Replica } from "./replica.js";
import { ServerError } from "./errors.js";
import type { LeaderForwarder } from "./forward.js";
import {
  compactionSchema, GatewayInputError, leaseGrantSchema, leaseIdSchema, opResultJson, parseBody, parseDelete,
  parsePut, parseRange, parseTxn, txnResponsesJson,
} from "./gateway-json.js";
import type { ResponseHeader } from "./gateway-json.js";
import { allows, Credentials, PermissionDeniedError } from "./access.js";
import type { Access, ApiTokens } from "./access.js";
import {
  BAD_REQUEST, errorBody, HTTP, INTERNAL_ERROR, LEASE_NOT_FOUND, PAYLOAD_TOO_LARGE, PERMISSION_DENIED, statusOfKvError, statusOfServerError,
} from "./http-status.js";
import type { ErrorStatus } from "./http-status.js";
import { guardCommand, guardLeaseRevoke, guardRead, visibleKeys } from "./internal-keys.js";
import { serveWatch } from "./watch-stream.js";

/** Largest request body accepted (a value may be 1.5 MiB; base64 and JSON add a third). */
export const MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;
/** Header marking a request forwarded by another node: never forwarded again. */
export const FORWARDED_HEADER = "x-phalanx-forwarded";

/** A handler of one /v3/phalanx/* route, supplied by the agent (membership, join, status). */
export type RouteHandler = (body: unknown, req: IncomingMessage) => Promise<unknown>;

/** A /v3/phalanx/* route: who may call it and what it does. */
export interface ClusterRoute {
  readonly access: Access;
  readonly handler: RouteHandler;
}

/**
 * A route that writes its own response (HTML, scripts, a server-sent event stream) instead of
 * returning JSON; same access levels as a ClusterRoute.
 */
export interface PageRoute {
  readonly access: Access;
  readonly serve: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

/**
 * Routes served here besides the agent's ClusterRoutes, with who may call them (see access.ts).
 * The etcd gateway routes are all POST.
 */
export const BUILTIN_ROUTES: ReadonlyMap<string, Access> = new Map<string, Access>([
  ["GET /healthz", "public"],
  ["GET /metrics", "client"],
  ...["/v3/kv/range", "/v3/kv/put", "/v3/kv/deleterange", "/v3/kv/txn", "/v3/kv/compaction", "/v3/lease/grant", "/v3/lease/revoke", "/v3/lease/keepalive", "/v3/lease/timetolive", "/v3/lease/leases", "/v3/watch"].map(
    (path): [string, Access] => [`POST ${path}`, "client"],
  ),
]);

/** What the API needs from its node. */
export interface ClientApiOptions {
  readonly replica: Replica;
  readonly clusterId: string;
  /** Bearer tokens; a null client token disables token auth for clients (a client certificate may still be required). */
  readonly tokens: ApiTokens;
  readonly forwarder: LeaderForwarder;
  readonly logger: Logger;
  /** The agent's routes: "GET /v3/phalanx/status" → { access, handler }. */
  readonly routes?: ReadonlyMap<string, ClusterRoute>;
  /** Routes answering with their own response body: "GET /dashboard" → { access, serve }. */
  readonly pages?: ReadonlyMap<string, PageRoute>;
  /** Prometheus text for /metrics. */
  readonly metrics?: () => Promise<string>;
  /** Told the path and status of every answered request (metrics by route and code). */
  readonly onAnswered?: (path: string, status: number) => void;
}

/** Builds the request handler of the client API. */
export function createClientApiHandler(options: ClientApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const api = new ClientApi(options);
  const answered = options.onAnswered;
  if (answered === undefined) return (req, res) => void api.handle(req, res);
  return (req, res) => {
    res.once("finish", () => answered((req.url ?? "/").split("?")[0] ?? "/", res.statusCode));
    void api.handle(req, res);
  };
}

class ClientApi {
  private readonly credentials: Credentials;

  constructor(private readonly o: ClientApiOptions) {
    this.credentials = new Credentials(o.tokens);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    try {
      if (path === "/healthz") return this.healthz(res);
      const routeKey = `${req.method} ${path}`;
      const cluster = this.o.routes?.get(routeKey);
      const page = this.o.pages?.get(routeKey);
      // An unknown route needs a client credential before it is told so: no probing for routes.
      this.authorize(req, routeKey, cluster?.access ?? page?.access ?? BUILTIN_ROUTES.get(routeKey) ?? "client");
      if (page) return await page.serve(req, res);
      if (path === "/metrics" && this.o.metrics) return send(res, HTTP.ok, await this.o.metrics(), "text/plain; version=0.0.4");
      if (cluster) return await this.cluster(cluster.handler, req, res);
      if (req.method !== "POST") throw new ServerError("not_found", `No route ${req.method} ${path}: the client API takes POST /v3/kv/*, /v3/lease/*, /v3/watch and /v3/phalanx/*`);
      if (path === "/v3/watch") return serveWatch(this.o.replica, await readJson(req), req, res, () => this.header(), this.o.logger);
      await this.route(path, await readJson(req), req, res);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private authorize(req: IncomingMessage, routeKey: string, access: Access): void {
    if (access === "public") return;
    const caller = this.credentials.callerOf(req);
    if (allows(caller, access)) return;
    if (caller === "anonymous") throw new ServerError("unauthenticated", "Missing or wrong cluster token: pass `Authorization: Bearer <token>` or a client certificate of this cluster");
    throw new PermissionDeniedError(`${routeKey} is a cluster operation and needs the admin token: pass \`Authorization: Bearer <admin token>\` (phalanx: --admin-token or $PHALANX_ADMIN_TOKEN)`);
  }

  private async cluster(handler: RouteHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = req.method === "POST" ? await readJson(req) : undefined;
    let result: unknown;
    try {
      result = await handler(body, req);
    } catch (err) {
      if (req.method === "POST" && (await this.forwarded(err, req, res, body))) return;
      throw err;
    }
    if (result instanceof Uint8Array) return send(res, HTTP.ok, result, "application/octet-stream");
    this.json(res, HTTP.ok, result);
  }

  private async route(path: string, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
    switch (path) {
      case "/v3/kv/range": {
        const { request, serializable } = parseRange(body);
        guardRead(request);
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
      case "/v3/lease/revoke": {
        const id = parseBody(leaseIdSchema, body).ID;
        guardLeaseRevoke(id, this.o.replica.kv.lease(id)?.keys ?? []);
        return this.write(req, res, body, { type: "leaseRevoke", id });
      }
      case "/v3/lease/keepalive":
        return this.keepAlive(req, res, body);
      case "/v3/lease/timetolive":
        return this.timeToLive(req, res, body);
      case "/v3/lease/leases": {
        await this.o.replica.linearizableBarrier();
        return this.json(res, HTTP.ok, { header: this.header(), leases: this.o.replica.kv.leases().map((l) => ({ ID: String(l.id) })) });
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
    if (!r.ok) return this.json(res, LEASE_NOT_FOUND.http, errorBody(LEASE_NOT_FOUND, r.code, r.message));
    this.json(res, HTTP.ok, { result: { header: this.header(), ID: String(id), TTL: String(Math.ceil(r.ttlMs / 1000)), TTL_ms: String(r.ttlMs) } });
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
    if (info === undefined) return this.json(res, HTTP.ok, { header: this.header(), ID: String(ID), TTL: "-1" });
    this.json(res, HTTP.ok, {
      header: this.header(),
      ID: String(ID),
      TTL: String(Math.ceil((remaining ?? info.ttlMs) / 1000)),
      TTL_ms: String(remaining ?? info.ttlMs),
      grantedTTL: String(Math.ceil(info.ttlMs / 1000)),
      ...(keys ? { keys: visibleKeys(info.keys).map((k) => Buffer.from(k).toString("base64")) } : {}),
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
      const status = statusOfKvError(result.code);
      return this.json(res, status.http, errorBody(status, result.code, result.message, extra));
    }
    this.json(res, HTTP.ok, { header: this.header(), ...body(result) });
  }

  private header(): ResponseHeader {
    const replica = this.o.replica;
    return { cluster_id: this.o.clusterId, member_id: String(replica.id), revision: String(replica.kv.revision), raft_term: String(replica.term) };
  }

  private healthz(res: ServerResponse): void {
    // From the live core: a stopped or failed replica is unhealthy whatever leader it last knew.
    const h = this.o.replica.health();
    this.json(res, h.healthy ? HTTP.ok : HTTP.unavailable, { health: h.healthy ? "true" : "false", leader: h.leader, role: h.role, state: h.state });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    send(res, status, JSON.stringify(body), "application/json");
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof BodyTooLargeError) {
      // The rest of the body is not read: the connection cannot carry another request.
      res.shouldKeepAlive = false;
      return this.error(res, PAYLOAD_TOO_LARGE, "payload_too_large", err.message);
    }
    if (err instanceof GatewayInputError) return this.error(res, BAD_REQUEST, "bad_request", err.message);
    if (err instanceof PermissionDeniedError) return this.error(res, PERMISSION_DENIED, err.code, err.message);
    if (err instanceof ServerError) {
      const extra = err.details.leaderId !== undefined ? { leader: String(err.details.leaderId) } : {};
      return this.error(res, statusOfServerError(err.code), err.code, err.message, extra);
    }
    this.o.logger.error({ err }, "client API request failed");
    this.error(res, INTERNAL_ERROR, "internal", "Internal error: see the node's log");
  }

  private error(res: ServerResponse, status: ErrorStatus, phalanxCode: string, message: string, extra?: Readonly<Record<string, string | undefined>>): void {
    this.json(res, status.http, errorBody(status, phalanxCode, message, extra));
  }
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, contentType: string): void {
  // A flat header array skips Node's per-response header object walk (hot path).
  res.writeHead(status, ["content-type", contentType, "content-length", String(Buffer.byteLength(body))]);
  res.end(body);
}

/** A request body over MAX_REQUEST_BODY_BYTES (answered 413, connection closed). */
export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
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
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_REQUEST_BODY_BYTES) {
      reject(new BodyTooLargeError(`Request body of ${declared} bytes is larger than the limit of ${MAX_REQUEST_BODY_BYTES} bytes: send a smaller value or split the request`));
      return;
    }
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        // Stop buffering; the answer closes the connection, so the rest is never read.
        chunks.length = 0;
        settle(() => reject(new BodyTooLargeError(`Request body is larger than the limit of ${MAX_REQUEST_BODY_BYTES} bytes: send a smaller value or split the request`)));
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
        } catch (err) {
          reject(new GatewayInputError(`Request body is not valid JSON (${(err as Error).message}): send one JSON object`));
        }
      }),
    );
  });
}
