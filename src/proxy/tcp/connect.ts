// Opens one TCP connection to a backend within a deadline.
import { connect, type OnReadOpts, type Socket } from "node:net";
import type { BackendEndpoint } from "../types.js";
import { TcpConnectError } from "./errors.js";

/** The result of one connect attempt: a connected socket, or why there is none. */
export type ConnectResult =
  | { readonly ok: true; readonly socket: Socket }
  | { readonly ok: false; readonly timedOut: boolean; readonly error: TcpConnectError };

/** Connects to `backend`, giving up after `connectMs`; `onread` receives what the socket reads. Never rejects. */
export function connectBackend(backend: BackendEndpoint, connectMs: number, onread: OnReadOpts): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: backend.host, port: backend.port, noDelay: true, allowHalfOpen: true, onread });
    const fail = (timedOut: boolean, cause: unknown): void => {
      clearTimeout(timer);
      socket.removeListener("connect", onConnect);
      socket.destroy();
      const address = `${backend.host}:${backend.port}`;
      resolve({ ok: false, timedOut, error: new TcpConnectError(backend.id, address, cause) });
    };
    const onError = (error: Error): void => fail(false, error);
    const onConnect = (): void => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      resolve({ ok: true, socket });
    };
    const timer = setTimeout(() => fail(true, new Error(`timed out after ${connectMs} ms`)), connectMs);
    socket.once("error", onError);
    socket.once("connect", onConnect);
  });
}
