// The TypeScript SDK: talks to any node's client API (etcd-compatible JSON), moves to another node
// when one is down, retries what is safe to retry (reads always; writes only when the server says
// they did not happen), keeps leases alive and resumes watches from the last revision seen.
import { Agent, request } from "undici";
import type { Dispatcher } from "undici";
// The key-range rules are the store's own (pure, no I/O), so a prefix means the same on both sides.
import { prefixEnd } from "../kv/keys.js";
import { PhalanxError, isSafeToRetry } from "./errors.js";

/** Options of a client. */
export interface ClientOptions {
  /** host:port of client APIs; any node will do, the list is tried in turn. */
  readonly endpoints: readonly string[];
  /** Bearer token: the cluster's client token, or its admin token for cluster operations (members, transfer, snapshot). */
  readonly token?: string;
  /** Per-request deadline. */
  readonly timeoutMs?: number;
  /** Attempts per call across endpoints and retries. */
  readonly maxAttempts?: number;
  /** Pause between attempts (doubles per attempt, capped at 1 s). */
  readonly retryBackoffMs?: number;
  /** Talk TLS (nodes with `clientTls`): the cluster CA, and optionally a client certificate that authenticates instead of a token. */
  readonly tls?: { readonly ca: string; readonly cert?: string; readonly key?: string };
}

/** Per-call overrides of the client's deadline and attempts (e.g. a keep-alive that must give up well within its lease). */
export interface CallLimits {
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
}

/** A key-value pair as the SDK returns it. */
export interface Kv {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: number;
}

/** One change seen by a watch. */
export interface WatchChange {
  readonly type: "put" | "delete";
  readonly kv: Kv;
  readonly prevKv?: Kv;
}

/** The header every answer carries. */
export interface ResponseHeader {
  readonly revision: number;
  readonly memberId: number;
  readonly raftTerm: number;
}

type Json = Record<string, unknown>;

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: unknown): string => (typeof s === "string" ? Buffer.from(s, "base64").toString("utf8") : "");
const num = (v: unknown): number => (v === undefined ? 0 : Number(v));

/** Converts a gateway key-value. */
export function toKv(j: Json): Kv {
  return { key: unb64(j.key), value: unb64(j.value), createRevision: num(j.create_revision), modRevision: num(j.mod_revision), version: num(j.version), lease: num(j.lease) };
}

function header(j: Json): ResponseHeader {
  const h = (j.header ?? {}) as Json;
  return { revision: num(h.revision), memberId: num(h.member_id), raftTerm: num(h.raft_term) };
}

/** A client of a Phalanx cluster. Call close() when done. */
export class PhalanxClient {
  private readonly endpoints: string[];
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly dispatcher: Dispatcher;
  private current = 0;
  private readonly scheme: "http" | "https";

  constructor(private readonly options: ClientOptions) {
    if (options.endpoints.length === 0) throw new Error("Cannot create a client: no endpoints given");
    this.endpoints = [...options.endpoints];
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxAttempts = options.maxAttempts ?? 2 * this.endpoints.length + 2;
    this.backoffMs = options.retryBackoffMs ?? 50;
    this.scheme = options.tls ? "https" : "http";
    // The connect timeout is the request deadline too: undici's default (10 s) let one attempt to a
    // host behind a partition (frames dropped, no RST) take 10 s whatever `timeoutMs` said.
    this.dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64, connect: { timeout: this.timeoutMs, ...(options.tls ? { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key } : {}) } });
  }

  /** The endpoint requests go to now. */
  get endpoint(): string {
    return this.endpoints[this.current % this.endpoints.length]!;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /**
   * Sends one request with failover. `idempotent` requests are retried after any failure; the others
   * only after failures that prove they did not happen (connection refused, not_leader, ...).
   */
  async call(method: "GET" | "POST", path: string, body: Json | undefined, idempotent: boolean, limits: CallLimits = {}): Promise<Json> {
    let lastError: PhalanxError | null = null;
    const maxAttempts = limits.maxAttempts ?? this.maxAttempts;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, this.backoffMs * 2 ** Math.min(attempt - 1, 5))));
      try {
        return await this.once(method, path, body, limits.timeoutMs ?? this.timeoutMs, limits.timeoutMs !== undefined);
      } catch (err) {
        if (!(err instanceof PhalanxError)) throw err;
        lastError = err;
        const retry = idempotent ? err.status === 0 || err.status >= 500 || err.status === 429 : isSafeToRetry(err);
        if (!retry) throw err;
        if (err.status === 0 || err.code === "stopped" || err.code === "no_leader") this.current++;
      }
    }
    throw lastError ?? new PhalanxError("No attempt was made", "unavailable", 0);
  }

  /** One request; `exact` deadlines use a timer of their own (undici's coarse timers may fire up to a second late). */
  private async once(method: "GET" | "POST", path: string, body: Json | undefined, timeoutMs: number, exact: boolean): Promise<Json> {
    const endpoint = this.endpoint;
    const signal = exact ? AbortSignal.timeout(timeoutMs) : undefined;
    const late = (err: unknown): PhalanxError => new PhalanxError(`No answer from ${endpoint} within ${timeoutMs} ms`, "unavailable", 0, { cause: err });
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.scheme}://${endpoint}${path}`, {
        method,
        dispatcher: this.dispatcher,
        headers: { "content-type": "application/json", ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted === true) throw late(err);
      const code = (err as { code?: string }).code;
      // A connection that never completed carried no request (the TLS handshake included).
      const neverSent = code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "UND_ERR_CONNECT_TIMEOUT";
      throw new PhalanxError(`Cannot reach ${endpoint}: ${code ?? (err as Error).message}`, neverSent ? "unavailable_before_send" : "unavailable", 0, { cause: err });
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      if (signal?.aborted === true) throw late(err);
      throw err;
    }
    let json: Json;
    try {
      json = text === "" ? {} : (JSON.parse(text) as Json);
    } catch {
      throw new PhalanxError(`Answer from ${endpoint} is not JSON (status ${res.statusCode})`, "bad_response", res.statusCode);
    }
    if (res.statusCode >= 400) {
      throw new PhalanxError(String(json.message ?? json.error ?? `status ${res.statusCode}`), String(json.phalanx_code ?? "error"), res.statusCode);
    }
    return json;
  }

  /** Reads one key (or a prefix); linearizable unless `serializable`. */
  async get(key: string, opts: { prefix?: boolean; limit?: number; revision?: number; serializable?: boolean } = {}): Promise<{ kvs: Kv[]; count: number; header: ResponseHeader }> {
    const j = await this.call("POST", "/v3/kv/range", {
      key: b64(key),
      ...(opts.prefix ? { range_end: b64(prefixEnd(key)) } : {}),
      ...(opts.limit ? { limit: opts.limit } : {}),
      ...(opts.revision ? { revision: opts.revision } : {}),
      ...(opts.serializable ? { serializable: true } : {}),
    }, true);
    return { kvs: ((j.kvs ?? []) as Json[]).map(toKv), count: num(j.count), header: header(j) };
  }

  /** Writes a key. Retried only when the cluster says it did not happen. */
  async put(key: string, value: string, opts: { lease?: number } = {}): Promise<ResponseHeader> {
    return header(await this.call("POST", "/v3/kv/put", { key: b64(key), value: b64(value), ...(opts.lease ? { lease: opts.lease } : {}) }, false));
  }

  /** Deletes a key or a prefix; returns how many keys went. */
  async delete(key: string, opts: { prefix?: boolean } = {}): Promise<number> {
    const j = await this.call("POST", "/v3/kv/deleterange", { key: b64(key), ...(opts.prefix ? { range_end: b64(prefixEnd(key)) } : {}) }, false);
    return num(j.deleted);
  }

  /** Compare-and-swap style transaction in etcd's JSON shape (keys/values already base64). */
  async txn(body: Json): Promise<Json> {
    return this.call("POST", "/v3/kv/txn", body, false);
  }

  /** Puts `value` at `key` only if the key's value is `expected` (or the key is absent when expected is null). */
  async compareAndSwap(key: string, expected: string | null, value: string): Promise<boolean> {
    const compare = expected === null ? { key: b64(key), target: "VERSION", result: "EQUAL", version: 0 } : { key: b64(key), target: "VALUE", result: "EQUAL", value: b64(expected) };
    const j = await this.txn({ compare: [compare], success: [{ request_put: { key: b64(key), value: b64(value) } }], failure: [] });
    return j.succeeded === true;
  }

  /** Grants a lease of `ttlMs`; returns its id. */
  async leaseGrant(ttlMs: number): Promise<{ id: number; ttlMs: number }> {
    const j = await this.call("POST", "/v3/lease/grant", { TTL: Math.ceil(ttlMs / 1000), TTL_ms: ttlMs }, false);
    return { id: num(j.ID), ttlMs: num(j.TTL_ms) };
  }

  /** Revokes a lease (its keys are deleted). */
  async leaseRevoke(id: number): Promise<void> {
    await this.call("POST", "/v3/lease/revoke", { ID: id }, true);
  }

  /** One keep-alive; returns the TTL granted from now. `limits` override the client's deadline and attempts for this call. */
  async leaseKeepAlive(id: number, limits: CallLimits = {}): Promise<number> {
    const j = await this.call("POST", "/v3/lease/keepalive", { ID: id }, true, limits);
    return num(((j.result ?? {}) as Json).TTL_ms);
  }

  /** Keeps a lease alive every ttl/3 until stop(); `onLost` runs if it expired or cannot be renewed. */
  keepLeaseAlive(id: number, ttlMs: number, onLost: (err: Error) => void): { stop(): void } {
    let stopped = false;
    const timer = setInterval(() => {
      this.leaseKeepAlive(id).catch((err: Error) => {
        if (stopped) return;
        if (err instanceof PhalanxError && err.status === 404) {
          stopped = true;
          clearInterval(timer);
          onLost(err);
        }
      });
    }, Math.max(50, Math.floor(ttlMs / 3)));
    return { stop: () => { stopped = true; clearInterval(timer); } };
  }

  /** This node's status (GET /v3/phalanx/status on the current endpoint or `endpoint`). */
  async status(endpoint?: string): Promise<Json> {
    if (endpoint === undefined) return this.call("GET", "/v3/phalanx/status", undefined, true);
    const single = new PhalanxClient({ ...this.options, endpoints: [endpoint], maxAttempts: 1 });
    try {
      return await single.call("GET", "/v3/phalanx/status", undefined, true);
    } finally {
      await single.close();
    }
  }

  /** Watches a key or prefix from `fromRevision` (0 = from now), resuming after reconnects; stop() ends it. */
  watch(key: string, opts: { prefix?: boolean; fromRevision?: number; prevKv?: boolean }, onChanges: (changes: WatchChange[], revision: number) => void, onError?: (err: Error) => void): { stop(): void; readonly nextRevision: number } {
    return startWatch(this, key, opts, onChanges, onError);
  }

  /** Opens one watch stream; used by startWatch. */
  async openWatchStream(body: Json, signal: AbortSignal): Promise<AsyncIterable<Buffer>> {
    const res = await request(`${this.scheme}://${this.endpoint}/v3/watch`, {
      method: "POST",
      dispatcher: this.dispatcher,
      headers: { "content-type": "application/json", ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) },
      body: JSON.stringify(body),
      signal,
      headersTimeout: this.timeoutMs,
      bodyTimeout: 0,
    });
    if (res.statusCode >= 400) {
      const j = JSON.parse(await res.body.text()) as Json;
      throw new PhalanxError(String(j.message ?? "watch refused"), String(j.phalanx_code ?? "error"), res.statusCode);
    }
    return res.body as AsyncIterable<Buffer>;
  }

  /** A consistent snapshot of the store's state (binary). */
  async snapshot(): Promise<Uint8Array> {
    const res = await request(`${this.scheme}://${this.endpoint}/v3/phalanx/snapshot`, {
      method: "GET",
      dispatcher: this.dispatcher,
      headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {},
      headersTimeout: this.timeoutMs,
    });
    const bytes = new Uint8Array(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new PhalanxError(`Snapshot refused with status ${res.statusCode}: ${Buffer.from(bytes).toString("utf8")}`, "error", res.statusCode);
    return bytes;
  }

  /** Moves to the next endpoint (after a failure of a long-lived stream). */
  rotate(): void {
    this.current++;
  }
}

function startWatch(
  client: PhalanxClient,
  key: string,
  opts: { prefix?: boolean; fromRevision?: number; prevKv?: boolean },
  onChanges: (changes: WatchChange[], revision: number) => void,
  onError?: (err: Error) => void,
): { stop(): void; readonly nextRevision: number } {
  const controller = new AbortController();
  let next = opts.fromRevision ?? 0;
  let stopped = false;
  const run = async (): Promise<void> => {
    let failures = 0;
    while (!stopped) {
      try {
        const body = { create_request: { key: b64(key), ...(opts.prefix ? { range_end: b64(prefixEnd(key)) } : {}), ...(next > 0 ? { start_revision: next } : {}), ...(opts.prevKv ? { prev_kv: true } : {}) } };
        const stream = await client.openWatchStream(body, controller.signal);
        let buffered = "";
        for await (const chunk of stream) {
          buffered += chunk.toString("utf8");
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            const result = ((JSON.parse(line) as Json).result ?? {}) as Json;
            failures = 0;
            if (result.created === true && next === 0) next = header(result).revision + 1;
            if (result.canceled === true) {
              const resume = num(result.resume_revision);
              if (resume > 0) next = resume;
              // The node lost its leader (etcd's "require leader"): resume on another node.
              if (resume > 0 && result.phalanx_code === "no_leader") throw new PhalanxError(String(result.cancel_reason ?? "watch cancelled: no leader"), "no_leader", 503);
              if (resume <= 0) throw new PhalanxError(String(result.cancel_reason ?? "watch cancelled"), String(result.phalanx_code ?? "cancelled"), 200);
            }
            const events = (result.events ?? []) as Json[];
            if (events.length === 0) continue;
            const changes = events.map((e): WatchChange => ({ type: e.type === "DELETE" ? "delete" : "put", kv: toKv(e.kv as Json), ...(e.prev_kv ? { prevKv: toKv(e.prev_kv as Json) } : {}) }));
            const rev = changes[changes.length - 1]!.kv.modRevision;
            next = rev + 1;
            onChanges(changes, rev);
          }
        }
      } catch (err) {
        if (stopped) return;
        if (err instanceof PhalanxError && err.code === "compacted") {
          onError?.(err);
          return;
        }
        failures++;
        client.rotate();
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(failures, 5))));
      }
    }
  };
  void run();
  return {
    stop() {
      stopped = true;
      controller.abort();
    },
    get nextRevision() {
      return next;
    },
  };
}
