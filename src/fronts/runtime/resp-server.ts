// The RESP front's TCP listener. Per connection: a parser, a RespSession and a writer; replies leave
// in request order (adjacent pipelined reads run concurrently, everything else in turn: see drain()),
// and the replies of a pipelined batch leave in one socket write. The socket is paused while a batch
// runs and until its replies drain, so a client cannot make the node buffer without bound.
//
// Per-connection follower reads: `READONLY` (as in Redis Cluster) lets this connection's reads be
// served from this node's copy without a ReadIndex round — possibly stale, never expired; `READWRITE`
// turns it off. Writes always go through the leader.
//
// Errors of the store: "retry" → `-TRYAGAIN <why>` (nothing was applied: resend); "unknown" →
// `-ERR the outcome of the write is unknown ...`; "oom" → Redis's `-OOM ...` line.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { OutputBuffer } from "../codec/output-buffer.js";
import { commandNameOf } from "../codec/resp-errors.js";
import { RespRequestParser } from "../codec/resp-parser.js";
import { DEFAULT_CONFIG_ANSWERS, RespSession } from "../codec/resp-session.js";
import { RespWriter } from "../codec/resp-writer.js";
import { FrontStoreError, type FrontCommandObserver } from "./front-store.js";
import type { RespConnectionState, RespExecutor } from "./resp-executor.js";
import { TcpFront, endAfterReplies, resumeWhenDrained, writeReplies } from "./tcp-front.js";

/** Redis version reported to clients (they enable features by it: HELLO, GETEX, SET GET need 6.2+). */
export const RESP_SERVER_VERSION = "7.2.0";
/** Output bytes after which a batch's replies are written out before it ends. */
const FLUSH_BYTES = 64 * 1024;
/** Pipelined reads of one connection running at once at most. */
const READS_IN_FLIGHT_MAX = 64;
/** Connections per front at most; more are closed at once (a bound on memory). */
export const RESP_CONNECTIONS_MAX = 10_000;

/** Options of the RESP front. */
export interface RespFrontOptions {
  readonly host: string;
  readonly port: number;
  readonly clientToken: string | null;
  readonly adminToken: string | null;
  readonly executor: RespExecutor;
  readonly logger: Logger;
  /** Told of every data command and its outcome (for metrics). */
  readonly onCommand?: FrontCommandObserver;
}

/** A running RESP listener. */
export class RespFront extends TcpFront {
  private nextClientId = 1;

  constructor(private readonly o: RespFrontOptions) {
    super({ host: o.host, port: o.port, logger: o.logger, protocol: "RESP", listenKey: "fronts.resp.listen", connectionsMax: RESP_CONNECTIONS_MAX, refusal: "-ERR max number of clients reached\r\n" });
  }

  protected serve(socket: Socket): void {
    new RespConnection(socket, this.o, this.nextClientId++).start();
  }
}

const enc = new TextEncoder();

class RespConnection {
  private readonly parser = new RespRequestParser();
  private readonly out = new OutputBuffer();
  private readonly writer = new RespWriter(2, this.out);
  /** Where the session answers before its reply is placed after the reads in flight. */
  private readonly scratch = new RespWriter(2, new OutputBuffer(256));
  /** Reads running concurrently, in request order. */
  private readonly inflight: { done: Promise<unknown>; writer: RespWriter }[] = [];
  private readonly session: RespSession;
  private followerRead = false;
  private busy = false;
  private closing = false;

  constructor(private readonly socket: Socket, private readonly o: RespFrontOptions, private readonly clientId: number) {
    this.session = new RespSession({
      authToken: o.clientToken === null ? null : enc.encode(o.clientToken),
      adminToken: o.adminToken === null ? null : enc.encode(o.adminToken),
      clientId,
      serverVersion: RESP_SERVER_VERSION,
      databases: 16,
      config: DEFAULT_CONFIG_ANSWERS,
    }, this.parser);
  }

  start(): void {
    this.socket.on("data", (chunk: Buffer) => {
      this.parser.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if (!this.busy) void this.drain();
    });
  }

  /**
   * Runs every parsed command, then writes the replies in request order. Reads run concurrently with
   * the reads next to them in a pipeline (each into its own writer, appended in order); anything
   * else first waits for the reads before it, and writes run one at a time — so a read sees every
   * write sent before it on the connection and none sent after it, as with Redis.
   */
  private async drain(): Promise<void> {
    this.busy = true;
    this.socket.pause();
    try {
      for (;;) {
        if (this.closing) return;
        const frame = this.parser.next();
        if (frame === null) break;
        if (frame.type === "error") {
          await this.settle();
          this.writer.error(frame.message);
          this.closeAfterFlush();
          return;
        }
        if (frame.args.length === 0) continue;
        await this.command(frame.args);
        if (this.out.length >= FLUSH_BYTES) this.flush();
      }
      await this.settle();
      this.flush();
    } catch (err) {
      this.o.logger.error({ err }, "RESP connection failed on an unexpected error: closing it");
      this.socket.destroy();
    } finally {
      this.busy = false;
      // A client that sends but does not read: stop reading until its replies have drained.
      if (!this.closing) resumeWhenDrained(this.socket);
    }
  }

  /** Waits for the reads in flight and appends their replies, in request order. */
  private async settle(): Promise<void> {
    for (const read of this.inflight.splice(0)) {
      const failure = await read.done;
      if (failure !== null) throw failure;
      this.out.bytes(read.writer.take());
    }
  }

  private async command(args: Uint8Array[]): Promise<void> {
    const name = commandNameOf(args[0] as Uint8Array);
    if ((name === "READONLY" || name === "READWRITE") && this.session.isAuthenticated) {
      await this.settle();
      this.followerRead = name === "READONLY";
      this.writer.simple("OK");
      return;
    }
    // The session answers into a scratch writer, appended after the reads in flight.
    this.scratch.protocol = this.session.protocol;
    const outcome = this.session.handle(args, this.scratch);
    this.writer.protocol = this.session.protocol;
    if (outcome.kind !== "data") {
      await this.settle();
      this.out.bytes(this.scratch.take());
      if (outcome.kind === "close") this.closeAfterFlush();
      return;
    }
    const state = { db: this.session.db, followerRead: this.followerRead, isAdmin: this.session.isAdmin, clientId: this.clientId };
    if (outcome.spec.flags.includes("readonly")) {
      if (this.inflight.length >= READS_IN_FLIGHT_MAX) await this.settle();
      const writer = new RespWriter(this.session.protocol, new OutputBuffer(256));
      // The failure is kept, not thrown, so it is never an unhandled rejection before settle() reads it.
      const done = this.execute(name, args, state, writer).then(() => null, (err: unknown) => err);
      this.inflight.push({ done, writer });
      return;
    }
    await this.settle();
    await this.execute(name, args, state, this.writer);
  }

  private async execute(name: string, args: Uint8Array[], state: RespConnectionState, w: RespWriter): Promise<void> {
    try {
      await this.o.executor.run(name, args, state, w);
      this.o.onCommand?.("redis", name, "ok");
    } catch (err) {
      this.o.onCommand?.("redis", name, err instanceof FrontStoreError ? err.kind : "bug");
      if (!(err instanceof FrontStoreError)) throw err;
      w.error(respErrorLine(err));
    }
  }

  private flush(): void {
    writeReplies(this.socket, this.writer.take());
  }

  private closeAfterFlush(): void {
    this.closing = true;
    endAfterReplies(this.socket, this.writer.take());
  }
}

/** The RESP error line of a store failure. */
export function respErrorLine(err: FrontStoreError): string {
  switch (err.kind) {
    case "retry":
      return `TRYAGAIN ${err.message}`;
    case "unknown":
      return `ERR ${err.message}`;
    case "oom":
    case "invalid":
      return err.message;
  }
}
