// The TCP listener both fronts (RESP, memcached) share: bind with a precise error, track the open
// sockets (so close() can end them and stats can count them), refuse connections beyond a bound (a
// bound on memory) with the protocol's own error line, and hand each accepted socket to the front;
// plus how both write a batch's replies and resume reading once they have drained.
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import type { Logger } from "pino";

/** What a front tells the shared listener about itself. */
export interface TcpFrontSpec {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** How clients are named in messages: "RESP", "memcached". */
  readonly protocol: string;
  /** The config key that sets the address (named in the bind error). */
  readonly listenKey: string;
  /** Connections at most; more are answered `refusal` and closed. */
  readonly connectionsMax: number;
  /** The protocol's error line sent to a connection over the bound. */
  readonly refusal: string;
}

/** A listener of one front; subclasses serve each accepted socket. */
export abstract class TcpFront {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  protected constructor(private readonly spec: TcpFrontSpec) {
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<void> {
    const { host, port, protocol, listenKey } = this.spec;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", (err: NodeJS.ErrnoException) => reject(new Error(`Cannot listen for ${protocol} clients on ${host}:${port}: ${err.code ?? err.message}; choose a free port in ${listenKey}`, { cause: err })));
      this.server.listen(port, host, () => resolve());
    });
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Starts serving an accepted socket (already tracked, no-delay, its errors logged). */
  protected abstract serve(socket: Socket): void;

  private accept(socket: Socket): void {
    if (this.sockets.size >= this.spec.connectionsMax) {
      socket.end(this.spec.refusal);
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", (err) => this.spec.logger.debug({ err }, `${this.spec.protocol} connection failed`));
    this.serve(socket);
  }
}

/** Writes a batch's replies (if any) unless the socket is already gone. */
export function writeReplies(socket: Socket, out: Uint8Array): void {
  if (out.length > 0 && !socket.destroyed) socket.write(out);
}

/** Ends the connection after the last replies (if any). */
export function endAfterReplies(socket: Socket, out: Uint8Array): void {
  if (out.length > 0) socket.end(out);
  else socket.end();
}

/** Resumes reading once the replies written so far have drained: a client that sends but does not read stops being read. */
export function resumeWhenDrained(socket: Socket): void {
  if (socket.writableNeedDrain) socket.once("drain", () => socket.resume());
  else socket.resume();
}
