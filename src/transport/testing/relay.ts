// A plain TCP relay for tests: sits between a dialer and a listener (TLS passes through it
// untouched) and can cut its first connection after a given number of bytes, to break a transfer
// in the middle.
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { parseHostPort } from "../address.js";

/** A running relay. */
export interface Relay {
  /** "127.0.0.1:port" to dial instead of the target. */
  readonly address: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Bytes relayed from dialer to target on the first connection. */
  firstConnectionBytes(): number;
  close(): Promise<void>;
}

/** Options of startRelay. */
export interface RelayOptions {
  /** Destroy the first connection once this many bytes went from dialer to target. */
  readonly cutFirstConnectionAfterBytes?: number;
}

/** Starts a relay to `target` ("host:port") on an ephemeral loopback port. */
export async function startRelay(target: string, options: RelayOptions = {}): Promise<Relay> {
  const { host, port } = parseHostPort(target);
  const sockets = new Set<Socket>();
  let accepted = 0;
  let firstBytes = 0;
  const server: Server = createServer((inbound) => {
    const index = accepted++;
    const outbound = connect({ host, port });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    const cutAt = index === 0 ? options.cutFirstConnectionAfterBytes : undefined;
    inbound.on("data", (chunk: Buffer) => {
      if (index === 0) firstBytes += chunk.length;
      outbound.write(chunk);
      if (cutAt !== undefined && firstBytes >= cutAt) {
        inbound.destroy();
        outbound.destroy();
      }
    });
    outbound.on("data", (chunk: Buffer) => inbound.write(chunk));
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    firstConnectionBytes: () => firstBytes,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
