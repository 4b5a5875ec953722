// Test helpers for the fronts' runtime (not built): an in-process cluster with the fronts on every
// node, a RESP client on the codec's reply decoder, and a raw memcached client.
import { connect } from "node:net";
import type { Socket } from "node:net";
import { pino } from "pino";
import type { TxnRequest, TxnResult } from "../../../kv/store.js";
import type { NodeId } from "../../../raft/raft.js";
import { ServerError } from "../../../server/errors.js";
import { LocalCluster } from "../../../server/testing.js";
import { RespReplyParser } from "../../codec/resp-reply-parser.js";
import type { RespValue } from "../../codec/resp-reply-parser.js";
import type { LeaderTxnRelay } from "../front-store.js";
import { frontsConfigSchema } from "../config.js";
import { startFronts } from "../start.js";
import type { RunningFronts } from "../start.js";

export const CLIENT_TOKEN = "client-secret";
export const ADMIN_TOKEN = "admin-secret";

/** A cluster with fronts on each node; `clock.offsetMs` moves the fronts' wall clock. */
export interface FrontCluster {
  readonly cluster: LocalCluster;
  readonly fronts: Map<NodeId, RunningFronts>;
  readonly clock: { offsetMs: number };
  respPort(id: NodeId): number;
  mcPort(id: NodeId): number;
  leaderId(): NodeId;
  followerIds(): NodeId[];
  stopNode(id: NodeId): Promise<void>;
  close(): Promise<void>;
}

/** In-process relay: a follower's txn proposed on the leader replica (the agent uses HTTP). */
export function inProcessRelay(cluster: LocalCluster): LeaderTxnRelay {
  return async (leader: NodeId, txn: TxnRequest): Promise<TxnResult> => {
    if (!cluster.members.has(leader)) throw new ServerError("no_leader", `Leader ${leader} is not running`);
    const r = await cluster.replica(leader).propose({ type: "txn", ...txn });
    if (!r.ok || r.type !== "txn") throw new Error(`unexpected txn result ${JSON.stringify(r)}`);
    return r;
  };
}

export async function startFrontCluster(size: number, overrides: Record<string, unknown> = {}): Promise<FrontCluster> {
  const cluster = await LocalCluster.start(size);
  const fronts = new Map<NodeId, RunningFronts>();
  const clock = { offsetMs: 0 };
  try {
    await cluster.waitForLeader();
    const config = frontsConfigSchema.parse({
      resp: { enabled: true, listen: "127.0.0.1:0" },
      memcached: { enabled: true, listen: "127.0.0.1:0", allowFlushAll: true },
      sweepIntervalMs: 50,
      clockSkewMarginMs: 0,
      ...overrides,
    });
    for (const [id, m] of cluster.members) {
      const f = await startFronts(config, { replica: m.replica, relay: inProcessRelay(cluster), clientToken: CLIENT_TOKEN, adminToken: ADMIN_TOKEN, logger: pino({ level: "silent" }), nowMs: () => Date.now() + clock.offsetMs });
      if (f === null) throw new Error("fronts did not start");
      fronts.set(id, f);
    }
  } catch (err) {
    for (const f of fronts.values()) await f.stop();
    await cluster.close();
    throw err;
  }
  const running = (id: NodeId) => {
    const f = fronts.get(id);
    if (f === undefined) throw new Error(`no fronts on node ${id}`);
    return f;
  };
  return {
    cluster,
    fronts,
    clock,
    respPort: (id) => running(id).resp?.port ?? 0,
    mcPort: (id) => running(id).memcached?.port ?? 0,
    leaderId: () => [...cluster.members.values()].find((m) => m.replica.status().role === "leader")?.id ?? (0 as NodeId),
    followerIds: () => [...cluster.members.values()].filter((m) => m.replica.status().role !== "leader").map((m) => m.id),
    async stopNode(id) {
      await fronts.get(id)?.stop();
      fronts.delete(id);
      await cluster.stopNode(id);
    },
    async close() {
      for (const f of fronts.values()) await f.stop();
      await cluster.close();
    },
  };
}

/** A RESP client: commands as strings, replies decoded; pipelining keeps order. */
export class RespTestClient {
  private readonly parser = new RespReplyParser();
  private readonly waiting: { resolve: (v: RespValue) => void; reject: (err: Error) => void }[] = [];
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      for (const v of this.parser.feed(new Uint8Array(chunk))) this.waiting.shift()?.resolve(v);
    });
    socket.on("error", () => undefined); // reported as the close below
    socket.on("close", () => {
      this.closedError = new Error("connection closed");
      for (const w of this.waiting.splice(0)) w.reject(this.closedError);
    });
  }

  static async connect(port: number): Promise<RespTestClient> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RespTestClient(socket);
  }

  /** Connects and authenticates with the client token. */
  static async authed(port: number, token = CLIENT_TOKEN): Promise<RespTestClient> {
    const c = await RespTestClient.connect(port);
    const r = await c.call("AUTH", token);
    if (r.type !== "simple") throw new Error(`AUTH failed: ${show(r)}`);
    return c;
  }

  call(...args: (string | Uint8Array)[]): Promise<RespValue> {
    return this.pipeline([args]).then((r) => r[0] as RespValue);
  }

  /** Sends every command in one write; resolves with the replies in order. */
  pipeline(commands: readonly (readonly (string | Uint8Array)[])[]): Promise<RespValue[]> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const parts: Buffer[] = [];
    for (const args of commands) {
      parts.push(Buffer.from(`*${args.length}\r\n`));
      for (const a of args) {
        const b = typeof a === "string" ? Buffer.from(a) : Buffer.from(a);
        parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
      }
    }
    const replies = commands.map(() => new Promise<RespValue>((resolve, reject) => this.waiting.push({ resolve, reject })));
    this.socket.write(Buffer.concat(parts));
    return Promise.all(replies);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A reply as a short string for assertions: +OK → "OK", -ERR x → "-ERR x", :1 → "1", bulk → text, null → "(nil)", arrays → [..]. */
export function show(v: RespValue): string {
  switch (v.type) {
    case "simple": return v.text;
    case "error": return `-${v.text}`;
    case "integer": return String(v.value);
    case "bulk": return Buffer.from(v.value).toString("latin1");
    case "null": return "(nil)";
    case "array":
    case "set":
    case "push": return `[${v.items.map(show).join(",")}]`;
    case "map": return `{${v.entries.map(([k, x]) => `${show(k)}:${show(x)}`).join(",")}}`;
    case "double": return String(v.value);
    case "boolean": return String(v.value);
    case "verbatim": return v.text;
    case "bignum": return v.text;
  }
}

/** A raw memcached client: write bytes, read until a predicate says the reply is complete. */
export class McTestClient {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.wake?.();
    });
    socket.on("error", () => undefined); // seen as a destroyed socket by send()
    socket.on("close", () => this.wake?.());
  }

  static async connect(port: number): Promise<McTestClient> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new McTestClient(socket);
  }

  /** Sends `data` and resolves with the bytes received once `complete(received)` holds (5 s deadline). */
  async send(data: string | Buffer, complete: (received: Buffer) => boolean): Promise<Buffer> {
    this.socket.write(data);
    const deadline = Date.now() + 5000;
    while (!complete(this.buf)) {
      if (Date.now() > deadline || this.socket.destroyed) throw new Error(`no complete reply; got ${JSON.stringify(this.buf.toString("latin1"))}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** A text command whose reply ends with `terminator` (default: one line). */
  async text(line: string, terminator: RegExp = /\r\n$/): Promise<string> {
    return (await this.send(line, (b) => terminator.test(b.toString("latin1")))).toString("latin1");
  }

  close(): void {
    this.socket.destroy();
  }
}
